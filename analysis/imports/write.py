"""Writing checked rows into a database: locating offers, database-level checks, table writes.

Owns :func:`locate_offers`, :func:`check_against_db`, :func:`write_offers`,
:func:`write_collective`, :func:`write_mobility`, :func:`record_provenance` and the read of
:func:`mobility_services`. Everything here runs on the working copy of a transaction
(:mod:`analysis.imports.transaction`), never on the live file.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from analysis import db
from analysis.config import NORMANDIE_BBOX
from analysis.db import has_relation
from analysis.imports.checks import Checked, move_to_quarantine
from analysis.imports.schema import DDL, MOBILITY_TYPES, ImportResult
from analysis.sources import offers
from analysis.text import count as count_of

#: Columns :func:`analysis.sources.offers.locate` adds to an offer frame.
LOCATION_COLUMNS = ["commune_code", "lon", "lat", "location_precision", "match_method"]
_AFTER_POSTCODE = offers.OFFER_COLUMNS.index("postcode") + 1
#: Columns of ``offers`` kept and merged by :func:`write_offers`: the offer columns, with the
#: location after the postcode (the order of the table).
MERGED_OFFER_COLUMNS = [
    *offers.OFFER_COLUMNS[:_AFTER_POSTCODE],
    *LOCATION_COLUMNS,
    *offers.OFFER_COLUMNS[_AFTER_POSTCODE:],
]
#: Database checks of collective projects and mobility services, per kind: a code of the file
#: that must exist (file column, query of the known codes, quarantine field, reason) and the
#: table whose identifiers an ``append`` must not repeat (table, identifier column, quarantine
#: field, reason); ``{}`` in a reason is the row's value.
_DB_CHECKS: dict[str, tuple[tuple[str, str, str, str], tuple[str, str, str, str]]] = {
    "collective": (
        ("commune_code", "SELECT code FROM communes", "commune_code", "commune {} inconnue en COG 2025"),
        ("collective_projects", "project_id", "project_id", "projet « {} » déjà présent dans la base"),
    ),
    "mobility": (
        ("epci_siren", "SELECT siren FROM epci", "siren_epci", "EPCI {} inconnu en Normandie (DGCL 2025)"),
        ("mobility_services", "service_id", "identifiant", "service « {} » déjà présent dans la base"),
    ),
}


def locate_offers(
    con: duckdb.DuckDBPyConnection, ch: Checked, fmt: str, source: str, mode: str, bbox=NORMANDIE_BBOX
) -> pd.DataFrame:
    """Place accepted offers in their COG 2025 commune and apply the database-dependent checks.

    Town / postcode consistency (:func:`analysis.sources.offers.locate`), given coordinates near the
    commune, offer ids already in the database (other sources in ``replace-source`` mode, any
    source in ``append`` mode). Rows failing move from ``ch.accepted`` to ``ch.quarantine``.

    Returns
    -------
    pandas.DataFrame
        The located offers (columns of :func:`analysis.sources.offers.locate`).
    """
    if ch.accepted.empty:
        ch.accepted = ch.accepted.assign(**dict.fromkeys(LOCATION_COLUMNS))
        return ch.accepted
    town_field = "Ville" if fmt == "platform" else "commune"
    located, rejects = offers.locate(con, ch.accepted)
    for r in rejects.itertuples(index=False):
        ch.quarantine.append(
            (
                int(r.row_number),
                town_field,
                r.reason.replace("commune introuvable", "commune introuvable ou incohérente avec le code postal"),
                r.raw,
            )
        )
    ch.accepted = located
    if "given_lon" in located and located["given_lon"].notna().any():
        g = located[located["given_lon"].notna()][["source_row", "commune_code", "given_lon", "given_lat"]]
        db.load_spatial(con)  # ST_Distance (the import's connection opens without the extension)
        con.register("imp_pts", g)
        far = con.execute(
            """SELECT p.source_row, ST_Distance(c.geom, ST_Point(p.given_lon, p.given_lat)) AS d
               FROM imp_pts p JOIN communes c ON c.code = p.commune_code
               WHERE ST_Distance(c.geom, ST_Point(p.given_lon, p.given_lat)) > 0.02"""
        ).df()
        con.unregister("imp_pts")
        move_to_quarantine(
            ch,
            ch.accepted["source_row"].isin(set(far["source_row"])),
            lambda r: "longitude",
            lambda r: (
                f"coordonnées ({r['given_lon']}, {r['given_lat']}) à plus de 1,5 km de la commune "
                f"{r['commune_code']} ({r['town']})"
            ),
        )
        has = ch.accepted["given_lon"].notna()
        ch.accepted.loc[has, "lon"] = ch.accepted.loc[has, "given_lon"].astype(float)
        ch.accepted.loc[has, "lat"] = ch.accepted.loc[has, "given_lat"].astype(float)
        ch.accepted.loc[has, "location_precision"] = "coordinates"
    if mode != "replace-all" and has_relation(con, "offers"):
        cond = "source <> ?" if mode == "replace-source" else "? IS NOT NULL"
        existing = dict(con.execute(f"SELECT offer_id, source FROM offers WHERE {cond}", [source]).fetchall())
        clash = ch.accepted["offer_id"].isin(set(existing))
        move_to_quarantine(
            ch,
            clash,
            lambda r: "id" if fmt == "platform" else "identifiant",
            lambda r: f"identifiant d'offre déjà présent dans la base (source « {existing[r['offer_id']]} »)",
        )
    return ch.accepted


def check_against_db(con: duckdb.DuckDBPyConnection, kind: str, ch: Checked, mode: str) -> None:
    """Database-dependent checks of collective projects and mobility services (:data:`_DB_CHECKS`)."""
    if ch.accepted.empty or kind not in _DB_CHECKS:
        return
    (col, known_sql, field, reason), (table, id_col, id_field, id_reason) = _DB_CHECKS[kind]
    known = {c for (c,) in con.execute(known_sql).fetchall()}
    move_to_quarantine(ch, ~ch.accepted[col].isin(known), lambda r: field, lambda r: reason.format(r[col]))
    if mode == "append" and has_relation(con, table):
        ids = {c for (c,) in con.execute(f"SELECT {id_col} FROM {table}").fetchall()}
        move_to_quarantine(ch, ch.accepted[id_col].isin(ids), lambda r: id_field, lambda r: id_reason.format(r[id_col]))


# --------------------------------------------------------------------------- writing


def write_offers(con: duckdb.DuckDBPyConnection, located: pd.DataFrame, source: str, mode: str, import_id: str) -> None:
    """Merge located offers into ``offers`` / ``offer_locations`` (and ``offer_details``) by ``mode``."""
    con.execute(DDL)
    keep_cond = {"replace-source": "source <> ?", "append": "? IS NOT NULL", "replace-all": "? IS NULL"}[mode]
    cols = MERGED_OFFER_COLUMNS
    if has_relation(con, "offers"):
        kept = con.execute(f"SELECT {', '.join(cols)} FROM offers WHERE {keep_cond}", [source]).df()
    else:
        kept = pd.DataFrame(columns=cols)
    new = located.reindex(columns=cols)
    new["capacity"] = pd.array(new["capacity"].tolist(), dtype="Int64")
    kept["capacity"] = pd.array(kept["capacity"].tolist(), dtype="Int64")
    parts = [p for p in (kept, new) if len(p)]
    merged = pd.concat(parts, ignore_index=True) if parts else new
    offers.write_tables(con, merged, pd.DataFrame(columns=["source", "row_number", "field", "reason", "raw"]))
    # the build's rejects of a replaced source belong to the file that was replaced
    if has_relation(con, "offer_rejects") and mode != "append":
        con.execute(f"DELETE FROM offer_rejects WHERE NOT ({keep_cond})", [source])
    con.execute(f"DELETE FROM offer_details WHERE NOT ({keep_cond})", [source])
    if "employer" in located:
        det = located[["offer_id", "source", "employer", "start_date", "end_date", "weeks", "disability_access"]].copy()
        det["import_id"] = import_id
        con.register("imp_det", det)
        con.execute(
            """INSERT INTO offer_details SELECT offer_id, source, import_id, employer, start_date::DATE,
               end_date::DATE, weeks, disability_access::BOOLEAN FROM imp_det"""
        )
        con.unregister("imp_det")


def write_collective(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, mode: str) -> None:
    """Add (or replace all) collective projects, placed at their commune's centre point."""
    if not has_relation(con, "collective_projects"):
        con.execute(
            """CREATE TABLE collective_projects (project_id VARCHAR, name VARCHAR, kind VARCHAR, kind_basis VARCHAR,
               town VARCHAR, commune_code VARCHAR, epci_siren VARCHAR, dep VARCHAR, sectors VARCHAR,
               pupils INTEGER, period VARCHAR, status VARCHAR, location_basis VARCHAR, source VARCHAR,
               note VARCHAR, lon DOUBLE, lat DOUBLE, geom GEOMETRY)"""
        )
    if mode == "replace-all":
        con.execute("DELETE FROM collective_projects")
    if df.empty:
        return
    df = df.copy()
    df["pupils"] = pd.array(df["pupils"].tolist(), dtype="Int64")
    con.register("imp_cp", df)
    con.execute(
        f"""INSERT INTO collective_projects BY NAME
           SELECT p.project_id, p.name, p.kind, NULLIF(p.kind_basis, '') AS kind_basis, p.town, p.commune_code,
                  c.epci_siren, c.dep, NULLIF(p.sectors, '') AS sectors, p.pupils::INTEGER AS pupils,
                  p.period, p.status, NULLIF(p.location_basis, '') AS location_basis, p.source,
                  NULLIF(p.note, '') AS note, c.lon, c.lat, {db.point_sql("c.lon", "c.lat")} AS geom
           FROM imp_cp p JOIN communes c ON c.code = p.commune_code ORDER BY p.project_id"""
    )
    con.unregister("imp_cp")


def write_mobility(
    con: duckdb.DuckDBPyConnection, df: pd.DataFrame, mode: str, import_id: str, when: dt.datetime
) -> None:
    """Add (or replace all) EPCI mobility services."""
    con.execute(DDL)
    if mode == "replace-all":
        con.execute("DELETE FROM mobility_services")
    if df.empty:
        return
    con.register("imp_ms", df)
    con.execute(
        """INSERT INTO mobility_services
           SELECT m.service_id, m.epci_siren, e.name, m.service_type, m.name, m.description, m.conditions,
                  m.contact, m.source, ?, ? FROM imp_ms m JOIN epci e ON e.siren = m.epci_siren""",
        [import_id, when],
    )
    con.unregister("imp_ms")


def record_provenance(con: duckdb.DuckDBPyConnection, res: ImportResult, when: dt.datetime) -> None:
    """Add the imported file to ``provenance`` (replacing the rows of the same source in replace modes).

    When the source name is a dataset of the registry (``offers_platform``), its publisher,
    licence and description are kept; the vintage is the import date.
    """
    from analysis.sources import registry as sources

    con.execute(sources.PROVENANCE_DDL)
    dataset = res.source if res.kind == "offers" else f"{res.kind}:{res.source}"
    if res.mode != "append":
        con.execute("DELETE FROM provenance WHERE dataset = ?", [dataset])
    try:
        ds = sources.registry().get(dataset)
    except Exception:  # noqa: BLE001 - the registry is informative here
        ds = None
    con.execute(
        "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            dataset,
            res.file,
            ds.publisher if ds else "fichier importé par l'administrateur",
            ds.licence if ds else None,
            f"importé le {when:%Y-%m-%d}",
            res.rows_in,
            res.sha256,
            when,
            f"Import {res.import_id} ({res.kind}, {res.format or '-'}, mode {res.mode}) : "
            f"{count_of(res.accepted, 'ligne acceptée')}, {res.quarantined} en quarantaine"
            + (f" ; {ds.description}" if ds else ""),
            ds.url if ds else None,
        ],
    )


def mobility_services(con: duckdb.DuckDBPyConnection, epci_siren: str | None = None) -> pd.DataFrame:
    """Imported EPCI mobility services (for the Territoire page), with the French type label.

    Returns an empty frame with the same columns when nothing was imported yet.
    """
    cols = [
        "epci_siren",
        "epci_name",
        "service_type",
        "type_label",
        "name",
        "description",
        "conditions",
        "contact",
        "source",
        "imported_at",
    ]
    if not has_relation(con, "mobility_services"):
        return pd.DataFrame(columns=cols)
    where, params = ("WHERE epci_siren = ?", [str(epci_siren)]) if epci_siren else ("", [])
    df = con.execute(f"SELECT * FROM mobility_services {where} ORDER BY epci_name, service_type, name", params).df()
    df["type_label"] = df["service_type"].map(MOBILITY_TYPES)
    return df[cols]
