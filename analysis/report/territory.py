"""Report territories: :class:`Territory` and :func:`resolve_territory` (a level and a code to
the territory, its number of communes and its reference territories)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from analysis import access, config
from analysis.report.columns import LEVEL_LABELS, LEVELS
from analysis.report.errors import ReportError

# --------------------------------------------------------------------------------------------
# territory
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Territory:
    """A resolved territory.

    Attributes
    ----------
    level, code, name : str
        Level (``region``, ``departement``, ``epci``, ``commune``), code and name.
    references : tuple of (level, code, name)
        Reference territories shown beside it, nearest first (e.g. département then region).
    n_communes : int
        Number of communes it contains.
    """

    level: str
    code: str
    name: str
    references: tuple[tuple[str, str, str], ...]
    n_communes: int

    @property
    def label(self) -> str:
        """« EPCI CC de la Hague (200067205) »-style label."""
        if self.level == "region":
            return f"Région {self.name}"
        return f"{LEVEL_LABELS[self.level]} {self.name} ({self.code})"

    def commune_filter_sql(self, alias: str = "c") -> str:
        """SQL condition on the communes table alias selecting the territory's communes."""
        code = access.sql_literal(self.code)
        if self.level == "region":
            return "TRUE"
        col = {"departement": "dep", "epci": "epci_siren", "commune": "code"}[self.level]
        return f"{alias}.{col} = {code}"


Reference = tuple[str, str, str]


def _region_reference() -> Reference:
    """(level, code, name) of the region, the last reference of every other territory."""
    return ("region", config.REGION_CODE, config.REGION_NAME)


def _resolve_region(con: duckdb.DuckDBPyConnection, code: str | None) -> Territory:
    """The region (code ``'28'``, empty or None)."""
    if code not in (None, "", config.REGION_CODE):
        raise ReportError(
            f"Code de région inconnu : {code!r} (la seule région est {config.REGION_CODE}, {config.REGION_NAME})"
        )
    n = con.execute("SELECT count(*) FROM communes").fetchone()[0]
    return Territory("region", config.REGION_CODE, config.REGION_NAME, (), n)


def _resolve_departement(con: duckdb.DuckDBPyConnection, code: str) -> Territory:
    """A département by its code; reference: the region."""
    row = con.execute("SELECT code, name FROM departements WHERE code = ?", [code]).fetchone()
    if row is None:
        raise ReportError(f"Département inconnu : {code!r} (attendu : {', '.join(config.DEPARTEMENTS)})")
    n = con.execute("SELECT count(*) FROM communes WHERE dep = ?", [code]).fetchone()[0]
    return Territory("departement", row[0], row[1], (_region_reference(),), n)


def _resolve_epci(con: duckdb.DuckDBPyConnection, code: str) -> Territory:
    """An EPCI by its SIREN; references: the département holding most of its population, the region."""
    row = con.execute("SELECT siren, name FROM epci WHERE siren = ?", [code]).fetchone()
    if row is None:
        raise ReportError(f"EPCI inconnu : {code!r} (attendu : un numéro SIREN d'EPCI normand à 9 chiffres)")
    dep = con.execute(
        """SELECT c.dep, d.name, sum(c.population) AS pop, count(*) AS n
           FROM communes c JOIN departements d ON d.code = c.dep
           WHERE c.epci_siren = ? GROUP BY ALL ORDER BY pop DESC NULLS LAST, n DESC, c.dep
        """,
        [code],
    ).fetchall()
    n = sum(r[3] for r in dep)
    refs = ((("departement", dep[0][0], dep[0][1]),) if dep else ()) + (_region_reference(),)
    return Territory("epci", row[0], row[1], refs, n)


def _resolve_commune(con: duckdb.DuckDBPyConnection, code: str) -> Territory:
    """A commune by its INSEE code; references: its EPCI and département (when known), the region."""
    row = con.execute(
        """SELECT c.code, c.name, c.epci_siren, e.name, c.dep, d.name FROM communes c
           LEFT JOIN epci e ON e.siren = c.epci_siren
           LEFT JOIN departements d ON d.code = c.dep WHERE c.code = ?""",
        [code],
    ).fetchone()
    if row is None:
        raise ReportError(f"Commune inconnue : {code!r} (attendu : un code INSEE du COG 2025 d'une commune normande)")
    refs: tuple[Reference, ...] = ()
    if row[2] is not None and row[3] is not None:
        refs += (("epci", row[2], row[3]),)
    if row[4] is not None and row[5] is not None:
        refs += (("departement", row[4], row[5]),)
    return Territory("commune", row[0], row[1], refs + (_region_reference(),), 1)


#: How a territory of each level is found from its code (see :func:`resolve_territory`).
_RESOLVERS = {
    "region": _resolve_region,
    "departement": _resolve_departement,
    "epci": _resolve_epci,
    "commune": _resolve_commune,
}


def resolve_territory(con: duckdb.DuckDBPyConnection, level: str, code: str | int | None) -> Territory:
    """Find a territory and its reference territories.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    level : str
        ``'region'``, ``'departement'``, ``'epci'`` or ``'commune'``.
    code : str
        Département code, EPCI SIREN, commune INSEE code (COG 2025); for the region ``'28'``
        or None.

    Raises
    ------
    ReportError
        Unknown level or code, or a territory without any commune.
    """
    if level not in LEVELS:
        raise ReportError(f"Niveau territorial inconnu : {level!r} (attendu : {', '.join(LEVELS)})")
    for table in ("communes", "departements", "epci"):
        if not access.has_relation(con, table):
            raise ReportError(f"Table {table} absente de la base : lancez « python -m analysis.build ».")
    code = None if code is None else str(code).strip()
    if level != "region" and not code:
        raise ReportError(f"Code de territoire manquant pour le niveau {LEVEL_LABELS[level]}")
    terr = _RESOLVERS[level](con, code)
    if terr.n_communes == 0:
        raise ReportError(
            f"Territoire vide : {terr.label} ne contient aucune commune dans la base ; aucun rapport produit."
        )
    return terr
