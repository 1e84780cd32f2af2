"""Seconde pupils: the real headcount per lycée and an ESTIMATE per commune of residence.

Two views that must never be added together:

- **by lycée** (``origin_kind='school'``): ``schools.seconde_pupils``, the seconde class sizes
  declared by each lycée (real data, about 2023-24; NULL where the lycée declared no class);
- **by commune of residence** (``origin_kind='commune'``): no open data gives seconde pupils by
  commune of residence, nor the population aged 15-19 in the offline mirror. We spread a regional
  total over the communes in proportion to their INSEE population (``communes.population``). The
  result is an estimate and is flagged ``is_estimate = TRUE`` everywhere.

The regional total defaults to the sum of the declared lycée headcounts (about 36,780 seconde
pupils incl. vocational secondes). Seed document 003 speaks of "25 000 jeunes" in seconde in
Normandie, which matches the general and technological secondes only (DEPP, rentrée 2021:
26,231). The total is a parameter (``total=``) so either figure can be used.
"""

from __future__ import annotations

import duckdb

#: Method label stored in ``commune_pupils.method``.
METHOD_POPULATION_SHARE = "population_share"


def regional_total(con: duckdb.DuckDBPyConnection) -> float:
    """Regional number of seconde pupils: the sum of ``schools.seconde_pupils``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection holding the ``schools`` table.

    Returns
    -------
    float
        Sum of the declared seconde headcounts (lycées without a headcount count as 0).

    Raises
    ------
    ValueError
        If no lycée has a headcount (the total would be 0).
    """
    total = con.execute("SELECT sum(seconde_pupils) FROM schools").fetchone()[0]
    if not total:
        raise ValueError(
            "Aucun effectif de seconde dans la table schools : impossible d'estimer les élèves "
            "par commune (indiquez un total régional)."
        )
    return float(total)


def commune_pupils_sql(total: float) -> str:
    """SQL query returning the estimated pupils per commune of residence.

    Parameters
    ----------
    total : float
        Regional number of seconde pupils to spread over the communes.

    Returns
    -------
    str
        A ``SELECT`` with columns ``code, pupils, method, is_estimate, population,
        regional_total`` (one row per row of ``communes``). Communes with a NULL population
        get 0 pupils.
    """
    total = float(total)
    if not total >= 0:
        raise ValueError(f"Total régional d'élèves invalide : {total}")
    return f"""
        SELECT code,
               {total!r} * coalesce(population, 0)::DOUBLE
                   / nullif(sum(coalesce(population, 0)) OVER (), 0) AS pupils,
               '{METHOD_POPULATION_SHARE}' AS method,
               TRUE AS is_estimate,
               population,
               {total!r}::DOUBLE AS regional_total
        FROM communes
    """


def build_commune_pupils(con: duckdb.DuckDBPyConnection, total: float | None = None) -> float:
    """Create (or replace) the table ``commune_pupils``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Writable connection holding ``communes`` and ``schools``.
    total : float, optional
        Regional total to spread; default :func:`regional_total`.

    Returns
    -------
    float
        The regional total used.
    """
    if total is None:
        total = regional_total(con)
    con.execute(f"CREATE OR REPLACE TABLE commune_pupils AS {commune_pupils_sql(total)}")
    return float(total)
