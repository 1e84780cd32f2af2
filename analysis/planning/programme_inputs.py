"""The candidate structures of a programme, from the offers table and the database.

:func:`structures_from_offers` (capacity from the data, typed by the user or assumed, flagged),
:func:`pick_structures` (nearest offers, alternating sectors) and :func:`structure_minutes`
(minutes between structures from ``travel_times``). Re-exported by
:mod:`analysis.planning.programme`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np

from analysis.planning.programme_types import KINDS, Structure, kind_id


def _missing(value) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def structures_from_offers(
    offers,
    capacities: Mapping[str, int] | None = None,
    default_capacity: int | None = None,
    closed: Mapping[str, Sequence[dt.date]] | None = None,
) -> list[Structure]:
    """Structures from an offers table (:func:`analysis.planning.sites.site_offers`).

    Capacity precedence: ``offers.capacity`` (source ``données``), then ``capacities`` (``saisie``),
    then ``default_capacity`` (``hypothèse``, flagged), else unknown (None).
    """
    capacities = capacities or {}
    closed = closed or {}
    out = []
    for rec in offers.itertuples(index=False):
        cap, src = None, "inconnue"
        data_cap = getattr(rec, "capacity", None)
        if not _missing(data_cap):
            cap, src = int(data_cap), "données"
        elif str(rec.offer_id) in capacities:
            cap, src = int(capacities[str(rec.offer_id)]), "saisie"
        elif default_capacity is not None:
            cap, src = int(default_capacity), "hypothèse"
        siret = "" if _missing(rec.siret) else str(rec.siret)
        street = "" if _missing(rec.street) else str(rec.street)
        town = " ".join(str(v) for v in (rec.postcode, rec.town) if not _missing(v))
        address = ", ".join(p for p in (street, town) if p)
        out.append(
            Structure(
                key=str(rec.offer_id),
                label=f"{rec.sector} — {rec.town} ({rec.offer_id})",
                sector=str(rec.sector),
                capacity=cap,
                capacity_source=src,
                siret=siret,
                address=address,
                commune_code=str(rec.commune_code),
                loc_id=int(rec.loc_id),
                lon=float(rec.lon),
                lat=float(rec.lat),
                closed=frozenset(closed.get(str(rec.offer_id), ())),
            )
        )
    return out


# --------------------------------------------------------------------------- database side


def structure_minutes(con, structures: Sequence[Structure], mode: str = "walk") -> np.ndarray:
    """(S, S) minutes between structures from ``travel_times`` (commune centre -> offer location).

    Offers are placed at their commune's centre: two structures of the same location are 0 min
    apart; a pair with no stored time (more than 90 min) is ``inf``.
    """
    locs = sorted({s.loc_id for s in structures if s.loc_id is not None})
    S = len(structures)
    out = np.full((S, S), np.inf)
    if not locs:
        return np.zeros((S, S))
    rows = con.execute(
        """SELECT l.loc_id AS a, t.loc_id AS b, min(t.minutes) AS minutes
           FROM offer_locations l JOIN travel_times t
             ON t.origin_kind = 'commune' AND t.origin_id = l.commune_code
          WHERE l.loc_id IN (SELECT unnest($locs)) AND t.loc_id IN (SELECT unnest($locs))
            AND (t.mode = $mode OR ($mode = 'transit' AND t.mode = 'walk'))
          GROUP BY ALL""",
        {"locs": locs, "mode": mode},
    ).fetchall()
    pair = {(a, b): m for a, b, m in rows}
    for i, si in enumerate(structures):
        for j, sj in enumerate(structures):
            if si.loc_id == sj.loc_id:
                out[i, j] = 0.0
            else:
                out[i, j] = pair.get((si.loc_id, sj.loc_id), np.inf)
    return out


def pick_structures(offers, kind: str, max_structures: int = 12, sector: str | None = None):
    """Keep at most ``max_structures`` offers, nearest first, alternating sectors for variety.

    ``offers`` is sorted by minutes (:func:`analysis.planning.sites.site_offers`). For a
    ``mono-secteur`` programme with a sector, only that sector is kept.
    """
    kind = kind_id(kind)
    df = offers
    if sector and kind == KINDS["mono-secteur"]:
        df = df[df["sector"] == sector]
    if kind in (KINDS["mono-secteur"], KINDS["mono-site"], KINDS["bi-entreprises"]):
        return df.head(max_structures).reset_index(drop=True)
    df = df.assign(_r=df.groupby("sector").cumcount())
    return (
        df.sort_values(["_r", "minutes", "sector", "offer_id"])
        .head(max_structures)
        .drop(columns="_r")
        .sort_values(["minutes", "sector", "offer_id"])
        .reset_index(drop=True)
    )
