"""Collective-internship projects (stages collectifs), hand-curated from seed document 003.

The CSV ``data/collective_projects.csv`` is a source like any other: it is read, checked and
loaded into ``collective_projects``; each project is placed at its commune's centre point.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analysis.errors import DataError
from analysis.sources import registry as sources
from analysis.sources.readers import check_pattern, first_dangling, read_csv, to_float

#: The four types of the typology of the source document, plus "unspecified".
KINDS = (
    "mono-site mono-entreprise",
    "multisectoriel multi-entreprises",
    "mono-secteur multi-entreprises",
    "bi-entreprises",
    "non précisé",
)
#: French labels of the kinds, as written in the source document.
KIND_LABELS = {
    "mono-site mono-entreprise": "Mono-site – mono-entreprise",
    "multisectoriel multi-entreprises": "Multisectoriel & multi-entreprises",
    "mono-secteur multi-entreprises": "Mono-secteur & multi-entreprises",
    "bi-entreprises": "Bi-entreprises",
    "non précisé": "Type non précisé",
}
COLUMNS = [
    "project_id",
    "name",
    "kind",
    "town",
    "commune_code",
    "sectors",
    "pupils",
    "period",
    "status",
    "source",
]


def read_projects(path: Path):
    """Read and check a collective-project CSV (UTF-8, ``,`` or ``;``)."""
    df = read_csv(path, COLUMNS)
    check_pattern(df, path, "commune_code", r"\d[\dAB]\d{3}", "code commune INSEE")
    bad = ~df["kind"].isin(KINDS)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            str(path), f"type « {df['kind'].iloc[i]} » inconnu (attendu : {' | '.join(KINDS)})", row=i + 1, field="kind"
        )
    dup = df["project_id"].duplicated()
    if dup.any():
        i = int(dup.to_numpy().nonzero()[0][0])
        raise DataError(
            str(path), f"identifiant en double « {df['project_id'].iloc[i]} »", row=i + 1, field="project_id"
        )
    df["pupils_n"] = to_float(df, path, "pupils")
    for col in ("kind_basis", "location_basis", "note"):
        if col not in df.columns:
            df[col] = ""
    return df


def load(con: duckdb.DuckDBPyConnection, source_dir: Path | None = None, progress=None) -> dict[str, int]:
    """Create ``collective_projects`` (needs ``communes``)."""
    path = sources.resolve("collective_projects", source_dir)
    df = read_projects(path)
    con.register("cp_df", df)
    unknown = first_dangling(con, "cp_df", "project_id", "commune_code", "communes", "code")
    if unknown:
        row = int(df.index[df["project_id"] == unknown[0]][0]) + 1
        con.unregister("cp_df")
        raise DataError(str(path), f"commune {unknown[1]} inconnue en COG 2025", row=row, field="commune_code")
    con.execute(
        """
        CREATE OR REPLACE TABLE collective_projects AS
        SELECT p.project_id, p.name, p.kind, NULLIF(p.kind_basis, '') AS kind_basis, p.town, p.commune_code,
               c.epci_siren, c.dep, NULLIF(p.sectors, '') AS sectors, p.pupils_n::INTEGER AS pupils,
               p.period, p.status, NULLIF(p.location_basis, '') AS location_basis, p.source,
               NULLIF(p.note, '') AS note, c.lon, c.lat, ST_Point(c.lon, c.lat) AS geom
        FROM cp_df p JOIN communes c ON c.code = p.commune_code ORDER BY p.project_id
        """
    )
    con.unregister("cp_df")
    sources.record_provenance(con, "collective_projects", path, len(df), source_dir)
    return {"collective_projects": len(df)}
