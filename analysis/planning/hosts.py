"""Host structures around a site: the known offers within reach (potential hosts of a collective internship).

:func:`site_offers` lists the offers within walking (or transit-or-walking) reach of one site;
:func:`describe_sites` adds those facts to proposed sites; :func:`host_counts` counts them for
every candidate site at once (the planner's minimum of known hosts near a site).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analysis.db import has_relation
from analysis.planning.demand import PlanningError

#: Modes for the host structures around a site: pupils walk, or take public transport (or walk).
REACH_MODES: tuple[str, ...] = ("walk", "transit")
#: Default reach (minutes) of the host structures around a site.
DEFAULT_REACH_MINUTES = 20


def site_offers(
    con: duckdb.DuckDBPyConnection,
    site_kind: str,
    site_id: str,
    reach_mode: str = "walk",
    reach_minutes: float = DEFAULT_REACH_MINUTES,
) -> pd.DataFrame:
    """Offers within walking (or transit-or-walking) reach of a site: the potential host structures.

    The site is an origin of ``travel_times`` (commune centre or lycée). Offers are placed at their
    commune's centre (the platform gives no address position).

    Returns
    -------
    pandas.DataFrame
        ``offer_id, siret, sector, is_public, street, town, postcode, commune_code, loc_id, lon, lat,
        capacity, minutes`` sorted by minutes then sector.
    """
    if reach_mode not in REACH_MODES:
        raise PlanningError(f"mode d'accès aux structures inconnu : {reach_mode!r} (attendu : walk ou transit)")
    return con.execute(
        """WITH t AS (
               SELECT loc_id, min(minutes) AS minutes FROM travel_times
               WHERE origin_kind = $kind AND origin_id = $id
                 AND (mode = $mode OR ($mode = 'transit' AND mode = 'walk'))
               GROUP BY loc_id HAVING min(minutes) <= $minutes)
           SELECT o.offer_id, o.siret, o.sector, o.is_public, o.street, o.town, o.postcode, o.commune_code,
                  o.loc_id, o.lon, o.lat, o.capacity, t.minutes
           FROM offers o JOIN t USING (loc_id)
           ORDER BY t.minutes, o.sector, o.offer_id""",
        {"kind": site_kind, "id": str(site_id), "mode": reach_mode, "minutes": float(reach_minutes)},
    ).df()


#: Reach of the potential host structures listed for a proposed site: TER or walking, 30 min.
DESCRIBE_REACH: tuple[str, float] = ("transit", 30.0)


def describe_sites(
    con: duckdb.DuckDBPyConnection,
    plan_sites_df: pd.DataFrame,
    origin_kind: str,
    reach_mode: str = DESCRIBE_REACH[0],
    reach_minutes: float = DESCRIBE_REACH[1],
) -> pd.DataFrame:
    """Add host-structure and transport facts to proposed sites.

    Adds ``offers_within, sectors_within, sectors_list, sirets_known, offers`` (list of the potential
    host structures: ``offer_id, sector, siret, town, minutes``), ``lycees`` (lycées involved: the
    covered lycées, or the lycées located in the covered communes), ``morning_departures`` (TER
    departures 07:00-08:30 from the site's commune, NULL when unknown) and
    ``convention_holder`` (the EPCI, likely holder of the convention).
    """
    out = plan_sites_df.copy()
    supply = {}
    if has_relation(con, "transit_supply"):
        supply = dict(con.execute("SELECT commune_code, morning_departures FROM transit_supply").fetchall())
    schools = con.execute("SELECT uai, name, commune_code FROM schools ORDER BY name").df()
    offers_n, sectors_n, sectors_l, sirets, lycees, deps, lists = [], [], [], [], [], [], []
    for rec in out.itertuples(index=False):
        offers = site_offers(con, rec.site_kind, rec.site_id, reach_mode, reach_minutes)
        offers_n.append(len(offers))
        secs = sorted(offers["sector"].dropna().unique())
        sectors_n.append(len(secs))
        sectors_l.append(" ; ".join(secs))
        sirets.append(int(offers["siret"].notna().sum()))
        lists.append(
            [
                {
                    "offer_id": str(o.offer_id),
                    "sector": o.sector,
                    "siret": None if pd.isna(o.siret) else str(o.siret),
                    "town": o.town,
                    "minutes": round(float(o.minutes), 1),
                }
                for o in offers.itertuples()
            ]
        )
        if origin_kind == "school":
            names = schools.set_index("uai").reindex(rec.covered_origin_ids)["name"].dropna().tolist()
        else:
            names = schools.loc[schools["commune_code"].isin(rec.covered_origin_ids), "name"].tolist()
        lycees.append(" ; ".join(names))
        deps.append(supply.get(rec.commune_code))
    out["offers_within"] = offers_n
    out["sectors_within"] = sectors_n
    out["sectors_list"] = sectors_l
    out["sirets_known"] = sirets
    out["lycees"] = lycees
    out["morning_departures"] = deps
    out["convention_holder"] = out["epci_name"]
    out["offers"] = lists
    return out


def host_counts(con: duckdb.DuckDBPyConnection, sites: pd.DataFrame) -> np.ndarray:
    """Known offers (potential host structures) within :data:`DESCRIBE_REACH` of each site
    (public transport or walking), in the order of ``sites`` (column ``site_key``,
    ``kind:id`` as :func:`analysis.planning.sites.site_key`): the ``offers_within`` of
    :func:`describe_sites`, for every candidate site at once."""
    mode, minutes = DESCRIBE_REACH
    counts = con.execute(
        """WITH t AS (
               SELECT origin_kind, origin_id, loc_id FROM travel_times
               WHERE mode = $mode OR ($mode = 'transit' AND mode = 'walk')
               GROUP BY 1, 2, 3 HAVING min(minutes) <= $minutes),
           n AS (SELECT loc_id, count(*) AS n FROM offers GROUP BY 1)
           SELECT origin_kind || ':' || origin_id AS site_key, sum(n)::INTEGER AS hosts
           FROM t JOIN n USING (loc_id) GROUP BY 1""",
        {"mode": mode, "minutes": float(minutes)},
    ).df()
    return counts.set_index("site_key")["hosts"].reindex(sites["site_key"]).fillna(0).to_numpy(int)
