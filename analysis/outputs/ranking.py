"""Rankings of territories by an indicator, and the EPCI lying mostly outside Normandie.

One function orders the territories (:func:`rank_territories`); a page's ranking table and the
"En bref" line naming the least favourable territory both read its first row, so they cannot
disagree. Ties (three EPCI with 100 % of their pupils without an offer) are broken by the
number of pupils concerned, largest first, then by name (accent-insensitive) and code, so the
order is the same at every run.

Some EPCI straddle the regional border: only their Norman communes are in the database, so
their figures describe a fringe of them (CC Maine Saosnois, an EPCI of the Sarthe, has two
Norman communes and about 2 % of its population in Normandie). :func:`epci_region_share`
gives the share of each EPCI's population living in Normandie, from the DGCL EPCI file (the
``membres`` of each EPCI and their *population municipale*, one vintage for both terms);
:data:`MOSTLY_OUTSIDE_SHARE` marks the EPCI mostly outside the region.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analysis.db import columns_of
from analysis.validate_args import match_key

#: Below this share of its population in Normandie an EPCI is "mostly outside Normandie".
MOSTLY_OUTSIDE_SHARE = 0.5

#: Pupils concerned by an indicator (tie-breaker): those without an offer for the shares of
#: pupils without an offer, every pupil of the territory otherwise.
_CONCERNED = {"share_no_offer": "pupils_no_offer", "share_no_offer_transit": "pupils_no_offer_transit"}


def concerned_column(indicator: str, columns: pd.Index | list[str] | None = None) -> str:
    """Column counting the pupils concerned by ``indicator`` (``pupils`` when the specific
    count is not among ``columns``)."""
    col = _CONCERNED.get(indicator, "pupils")
    if columns is not None and col not in columns:
        return "pupils"
    return col


def rank_territories(
    df: pd.DataFrame, value: str, *, higher_is_worse: bool = True, concerned: str | None = None
) -> pd.DataFrame:
    """Territories from the least to the most favourable for one indicator.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per territory with columns ``value``, ``name``, ``code`` and the pupils
        column ``concerned``.
    value : str
        Indicator column; missing values go last.
    higher_is_worse : bool
        True when a higher value is less favourable (share without an offer, median time).
    concerned : str, optional
        Pupils concerned, the first tie-breaker, largest first (default
        :func:`concerned_column` of ``value``).

    Returns
    -------
    pandas.DataFrame
        ``df`` reordered (index reset), with a 1-based ``rank`` column first.

    Examples
    --------
    >>> df = pd.DataFrame({"code": ["a", "b", "c"], "name": ["Bé", "Ab", "Cd"],
    ...                    "share_no_offer": [1.0, 1.0, 0.2], "pupils_no_offer": [6, 90, 10]})
    >>> rank_territories(df, "share_no_offer")["name"].tolist()
    ['Ab', 'Bé', 'Cd']
    """
    concerned = concerned or concerned_column(value, df.columns)
    v = pd.to_numeric(df[value], errors="coerce").to_numpy(dtype=float)
    worse = -v if higher_is_worse else v
    pupils = pd.to_numeric(df[concerned], errors="coerce").fillna(0).to_numpy(dtype=float)
    names = [match_key(n) for n in df["name"]]
    codes = df["code"].astype(str).tolist()
    # np.lexsort: last key first; NaN values sort last with their own key
    order = np.lexsort((codes, names, -pupils, np.nan_to_num(worse, nan=0.0), np.isnan(v)))
    out = df.iloc[order].reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out


def epci_region_share(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Share of each EPCI's population living in Normandie.

    Returns
    -------
    pandas.DataFrame
        ``code`` (SIREN), ``share_in_region`` (0–1) and ``mostly_outside`` (share below
        :data:`MOSTLY_OUTSIDE_SHARE`). From ``population_dgcl_normandie /
        population_dgcl_total`` (DGCL file, one vintage); on a database built before that
        column existed, the Norman communes' population (INSEE) over the DGCL total, capped
        at 1.
    """
    cols = set(columns_of(con, "epci"))
    part = "population_dgcl_normandie" if "population_dgcl_normandie" in cols else "population"
    df = con.execute(
        f"""SELECT siren AS code,
                   least(1.0, {part}::DOUBLE / nullif(population_dgcl_total, 0)) AS share_in_region
            FROM epci ORDER BY siren"""
    ).df()
    df["share_in_region"] = df["share_in_region"].fillna(1.0)
    df["mostly_outside"] = df["share_in_region"] < MOSTLY_OUTSIDE_SHARE
    return df
