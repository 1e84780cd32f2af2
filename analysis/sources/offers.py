"""Internship offers: parsing, location matching to COG 2025 communes, rejects.

The platform export has no coordinates: each offer is located at the centre point of its
commune (``location_precision = 'commune'``), found by matching its postcode and town name
(case-, accent- and hyphen-insensitive) against the etalab commune files (names of current,
delegated and former communes; La Poste postcodes). Matching rules, tried in order (the
method used is kept in ``match_method``):

1. ``cp+nom``: the postcode is one of the commune's postcodes and the town name is one of its
   names (current, delegated or former commune);
2. ``insee+nom``: the "postcode" is in fact an INSEE commune code (seen in the source) and the
   name matches;
3. ``nom+departement``: the name matches exactly one commune of the postcode's département
   (CEDEX and unknown postcodes);
4. ``cp+nom_partiel``: among the communes of the postcode, exactly one whose name appears as
   whole words in the town field (e.g. "Tourlaville - Cherbourg").

A town name that matches none of these is rejected, even when its postcode belongs to a single
commune: a disagreeing name is a sign of a wrong row, and rejected rows are kept with the reason.
So is a town field that is more than a name (issue 24; the town is stored as given): a character
that no commune name holds (``"``, ``=``, ``;``…: only letters, digits, spaces, hyphens,
apostrophes, dots, commas, brackets and slashes are names' characters), or, for rule 4, a word
that is in no commune name of the postcode (« Giberville alert(1) » is not Giberville).

Rows that cannot be loaded or located go to ``offer_rejects`` with the reason; rows in =
rows in ``offers`` + rows in ``offer_rejects``.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd

from analysis.config import DEPARTEMENTS
from analysis.db import point_sql
from analysis.sources import registry as sources
from analysis.sources.readers import read_csv
from analysis.text import normalize_name

PLATFORM_COLUMNS = ["id", "SIRET", "secteur", "public", "Rue", "Ville", "Code postal", "Filière"]
GRADES = {
    "seconde_only": "seconde",
    "seconde_troisieme_or_quatrieme": "seconde,3e",
    "troisieme_or_quatrieme": "3e",
}
BOOLEANS = {"vrai": True, "true": True, "1": True, "oui": True, "faux": False, "false": False, "0": False, "non": False}

#: Columns of a normalised offer frame, before location.
OFFER_COLUMNS = [
    "offer_id",
    "siret",
    "sector",
    "is_public",
    "public_employer_type",
    "street",
    "town",
    "postcode",
    "grades",
    "capacity",
    "source",
    "source_row",
]

REJECTS_DDL = """
CREATE TABLE IF NOT EXISTS offer_rejects (
    source VARCHAR, row_number INTEGER, field VARCHAR, reason VARCHAR, raw VARCHAR
)
"""


def parse_platform(path: Path, source: str = "offers_platform") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse the national platform export (``;``-separated, VRAI/FAUX booleans).

    Parameters
    ----------
    path : pathlib.Path
    source : str
        Dataset id written in ``source``.

    Returns
    -------
    (offers, rejects) : tuple of pandas.DataFrame
        ``offers`` with :data:`OFFER_COLUMNS`; ``rejects`` with source, row_number, field, reason, raw.
    """
    raw = read_csv(path, PLATFORM_COLUMNS, sep=";")
    raw_json = raw.apply(lambda r: json.dumps(r.to_dict(), ensure_ascii=False), axis=1)
    df = _platform_frame(raw, source)
    problems = _platform_problems(df, raw)
    bad_idx = [p[0] for p in problems]
    rejects = pd.DataFrame(
        {
            "source": source,
            "row_number": [i + 1 for i in bad_idx],
            "field": [p[1] for p in problems],
            "reason": [p[2] for p in problems],
            "raw": [raw_json.iloc[i] for i in bad_idx],
        }
    )
    ok = df.drop(index=df.index[bad_idx])
    ok["raw"] = raw_json.loc[ok.index]
    return ok.reset_index(drop=True), rejects


def _platform_frame(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """The platform export's columns as :data:`OFFER_COLUMNS` (trimmed, booleans and grades mapped)."""
    return pd.DataFrame(
        {
            "offer_id": raw["id"].str.strip(),
            "siret": raw["SIRET"].str.replace(r"\s", "", regex=True).replace("", None),
            "sector": raw["secteur"].str.strip().replace("", None),
            "is_public": raw["public"].str.strip().str.lower().map(BOOLEANS),
            "public_employer_type": raw.get("public_employer_type", pd.Series("", index=raw.index))
            .str.strip()
            .replace("", None),
            "street": raw["Rue"].str.strip().replace("", None),
            "town": raw["Ville"].str.strip(),
            "postcode": raw["Code postal"].str.strip(),
            "grades": raw["Filière"].str.strip().map(GRADES),
            "capacity": pd.array([pd.NA] * len(raw), dtype="Int64"),
            "source": source,
            "source_row": range(1, len(raw) + 1),
        }
    )


def _platform_row_problem(r: pd.Series, raw_row: pd.Series) -> tuple[str, str] | None:
    """The first problem of one normalised offer ``r`` (``raw_row``: the same row as read), as
    (field, French reason), or None."""
    if not r["offer_id"]:
        return "id", "identifiant d'offre manquant"
    if not r["postcode"].isdigit() or len(r["postcode"]) != 5:
        return "Code postal", f"code postal invalide « {r['postcode']} »"
    if r["postcode"][:2] not in DEPARTEMENTS:
        return "Code postal", f"code postal hors Normandie « {r['postcode']} »"
    if not r["town"]:
        return "Ville", "ville manquante"
    if pd.isna(r["grades"]):
        return "Filière", f"filière inconnue « {raw_row['Filière']} »"
    if pd.isna(r["is_public"]) and raw_row["public"].strip():
        return "public", f"booléen attendu (VRAI/FAUX), trouvé « {raw_row['public']} »"
    return None


def _platform_problems(df: pd.DataFrame, raw: pd.DataFrame) -> list[tuple[int, str, str]]:
    """The rejected rows as (0-based position, field, reason): each row's first problem, then the
    repeated ids of rows otherwise valid."""
    problems = []
    for i in range(len(df)):
        problem = _platform_row_problem(df.iloc[i], raw.iloc[i])
        if problem:
            problems.append((i, *problem))
    dup = df["offer_id"].duplicated(keep="first") & (df["offer_id"] != "")
    for i in dup.to_numpy().nonzero()[0]:
        if i not in {p[0] for p in problems}:
            problems.append((int(i), "id", f"identifiant d'offre en double « {df['offer_id'].iloc[i]} »"))
    return problems


def locate(con: duckdb.DuckDBPyConnection, offers: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Find the COG 2025 commune of each offer from its postcode and town name.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database holding ``communes``, ``commune_names`` and ``commune_postcodes``.
    offers : pandas.DataFrame
        Must have ``source_row``, ``town``, ``postcode`` (and ``raw``, ``source`` for rejects).

    Returns
    -------
    (located, rejects) : tuple of pandas.DataFrame
        ``located`` = ``offers`` plus commune_code, lon, lat, location_precision, match_method;
        ``rejects`` for rows no rule could place.
    """
    q = offers[["source_row", "town", "postcode"]].copy()
    q["town_norm"] = q["town"].map(normalize_name)
    q.loc[q["town"].map(town_characters_problem).notna(), "town_norm"] = None  # matches nothing
    con.register("q_offers", q)
    matches = con.execute(
        r"""
        WITH q AS (SELECT *, ' ' || town_norm || ' ' AS town_padded FROM q_offers),
        m1 AS (  -- postcode + name
            SELECT DISTINCT q.source_row, n.code, 1 AS rule, 'cp+nom' AS method
            FROM q JOIN commune_postcodes p ON p.postcode = q.postcode
                   JOIN commune_names n ON n.code = p.code AND n.name_norm = q.town_norm),
        m2 AS (  -- the postcode field holds an INSEE code
            SELECT DISTINCT q.source_row, n.code, 2, 'insee+nom'
            FROM q JOIN commune_names n ON n.code = q.postcode AND n.name_norm = q.town_norm),
        m3 AS (  -- unique name within the département
            SELECT q.source_row, any_value(n.code) AS code, 3, 'nom+departement'
            FROM q JOIN commune_names n ON n.name_norm = q.town_norm AND left(n.code, 2) = left(q.postcode, 2)
            GROUP BY q.source_row HAVING COUNT(DISTINCT n.code) = 1),
        m4 AS (  -- a commune of the postcode whose name appears as whole words in the town field
            SELECT q.source_row, any_value(n.code) AS code, 4, 'cp+nom_partiel'
            FROM q JOIN commune_postcodes p ON p.postcode = q.postcode
                   JOIN commune_names n ON n.code = p.code
            WHERE length(n.name_norm) >= 3 AND contains(q.town_padded, ' ' || n.name_norm || ' ')
            GROUP BY q.source_row HAVING COUNT(DISTINCT n.code) = 1),
        allm AS (SELECT * FROM m1 UNION ALL SELECT * FROM m2 UNION ALL SELECT * FROM m3
                 UNION ALL SELECT * FROM m4),
        best AS (SELECT source_row, min(rule) AS rule FROM allm GROUP BY source_row),
        chosen AS (
            SELECT a.source_row, a.rule, any_value(a.method) AS method,
                   COUNT(DISTINCT a.code) AS n_codes, any_value(a.code) AS code
            FROM allm a JOIN best b USING (source_row, rule) GROUP BY a.source_row, a.rule)
        SELECT c.source_row, c.code AS commune_code, c.method AS match_method, c.n_codes,
               co.lon, co.lat
        FROM chosen c JOIN communes co ON co.code = c.code
        """
    ).df()
    con.unregister("q_offers")
    merged = offers.merge(matches, on="source_row", how="left")
    extra = _words_outside_names(con, merged)
    ambiguous = merged["n_codes"].fillna(0) > 1
    missing = merged["commune_code"].isna()
    bad = ambiguous | missing | extra.notna()
    rej = merged[bad]
    reasons = [
        _reject_reason(t, p, a, w) for t, p, a, w in zip(rej["town"], rej["postcode"], ambiguous[bad], extra[bad])
    ]
    rejects = pd.DataFrame(
        {
            "source": rej["source"].to_numpy() if "source" in rej else "offers",
            "row_number": rej["source_row"].to_numpy(),
            "field": "Ville",
            "reason": reasons,
            "raw": rej["raw"].to_numpy() if "raw" in rej else "",
        }
    )
    located = merged[~bad].drop(columns=["n_codes"]).copy()
    located["location_precision"] = "commune"
    return located.reset_index(drop=True), rejects


#: Characters of town names (letters and digits aside): the etalab names hold only spaces,
#: hyphens and apostrophes; dots, commas, brackets and slashes are seen in hand-typed towns
#: (« St. Lô », « Havre (Le) », « Tourlaville / Cherbourg »).
TOWN_PUNCTUATION = frozenset(" -'’.,()/")


def town_characters_problem(town: str | None) -> str | None:
    """The first character of ``town`` that no town name holds (see :data:`TOWN_PUNCTUATION`),
    or None.

    Examples
    --------
    >>> town_characters_problem('Giberville" onmouseover="alert(1)')
    '"'
    >>> town_characters_problem("Havre (Le)") is None
    True
    """
    for ch in str(town or ""):
        if not (ch.isalnum() or ch in TOWN_PUNCTUATION):
            return ch
    return None


def _reject_reason(town: str, postcode: str, ambiguous: bool, extra: str | None) -> str:
    """The French reason an offer's town was not placed."""
    bad = town_characters_problem(town)
    if bad is not None:
        return (
            f"commune introuvable pour « {town} » ({postcode}) : caractère « {bad} » inattendu dans un nom "
            "de commune (lettres, chiffres, espaces, tirets, apostrophes, points, virgules, parenthèses "
            "et barres obliques seulement)"
        )
    if isinstance(extra, str):
        return (
            f"commune introuvable pour « {town} » ({postcode}) : « {extra} » n'est dans le nom d'aucune "
            "commune de ce code postal ; écrivez le seul nom de la commune"
        )
    return (
        f"commune ambiguë pour « {town} » ({postcode})"
        if ambiguous
        else f"commune introuvable pour « {town} » ({postcode})"
    )


def _words_outside_names(con: duckdb.DuckDBPyConnection, merged: pd.DataFrame) -> pd.Series:
    """For the offers placed by the partial rule (``cp+nom_partiel``), the words of their town
    field that are in no name of a commune of their postcode (joined by spaces), else None.

    « Tourlaville - Cherbourg » (50110) keeps its place (both words are names of communes of the
    postcode); « Giberville alert(1) » (14730) does not (« alert »)."""
    out = pd.Series([None] * len(merged), index=merged.index, dtype=object)
    partial = merged["match_method"] == "cp+nom_partiel"
    if not partial.any():
        return out
    codes = sorted(set(merged.loc[partial, "postcode"].astype(str)))
    names = con.execute(
        "SELECT p.postcode, n.name_norm FROM commune_postcodes p JOIN commune_names n ON n.code = p.code "
        "WHERE p.postcode IN (SELECT unnest(?::VARCHAR[]))",
        [codes],
    ).fetchall()
    words: dict[str, set[str]] = {}
    for pc, name in names:
        words.setdefault(pc, set()).update(str(name or "").split())
    for i in merged.index[partial]:
        known = words.get(str(merged.at[i, "postcode"]), set())
        left = [w for w in normalize_name(merged.at[i, "town"]).split() if w not in known]
        out.at[i] = " ".join(left) or None
    return out


def write_tables(con: duckdb.DuckDBPyConnection, located: pd.DataFrame, rejects: pd.DataFrame) -> None:
    """Create ``offers``, ``offer_locations`` and ``offer_rejects`` from located offers and rejects."""
    con.register("located_df", located)
    con.execute(
        """
        CREATE OR REPLACE TABLE offers AS
        WITH l AS (
            SELECT *, dense_rank() OVER (ORDER BY round(lon, 6), round(lat, 6))::INTEGER AS loc_id
            FROM located_df)
        SELECT offer_id::VARCHAR AS offer_id, siret, sector, is_public::BOOLEAN AS is_public,
               public_employer_type, street, town, postcode, commune_code, lon, lat,
               location_precision, match_method, loc_id, grades,
               contains(grades, 'seconde') AS for_seconde, contains(grades, '3e') AS for_troisieme,
               capacity::INTEGER AS capacity, source, source_row::INTEGER AS source_row
        FROM l ORDER BY source, source_row
        """
    )
    con.unregister("located_df")
    con.execute(
        f"""
        CREATE OR REPLACE TABLE offer_locations AS
        SELECT loc_id, any_value(lon) AS lon, any_value(lat) AS lat, any_value(commune_code) AS commune_code,
               any_value(location_precision) AS location_precision, COUNT(*)::INTEGER AS n_offers,
               {point_sql("any_value(lon)", "any_value(lat)")} AS geom
        FROM offers GROUP BY loc_id ORDER BY loc_id
        """
    )
    con.execute(REJECTS_DDL)
    if len(rejects):
        con.register("rej_df", rejects)
        con.execute("INSERT INTO offer_rejects SELECT source, row_number::INTEGER, field, reason, raw FROM rej_df")
        con.unregister("rej_df")


def load(con: duckdb.DuckDBPyConnection, source_dir: Path, progress=None) -> dict[str, int]:
    """Parse, locate and store the platform offers.

    Returns
    -------
    dict
        Counts: rows read, offers, rejects, locations.
    """
    path = sources.resolve("offers_platform", source_dir)
    parsed, rejects1 = parse_platform(path)
    located, rejects2 = locate(con, parsed)
    write_tables(con, located, pd.concat([rejects1, rejects2], ignore_index=True))
    n_in = len(parsed) + len(rejects1)
    sources.record_provenance(con, "offers_platform", path, n_in, source_dir)
    counts = {
        "rows_in": n_in,
        "offers": con.execute("SELECT COUNT(*) FROM offers").fetchone()[0],
        "offer_rejects": con.execute("SELECT COUNT(*) FROM offer_rejects").fetchone()[0],
        "offer_locations": con.execute("SELECT COUNT(*) FROM offer_locations").fetchone()[0],
    }
    if counts["offers"] + counts["offer_rejects"] != n_in:  # pragma: no cover - invariant
        raise AssertionError(f"comptage des offres incohérent : {counts}")
    return counts
