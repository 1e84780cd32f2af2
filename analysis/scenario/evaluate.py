"""Evaluating a scenario: who reaches an offer before and after, per origin and per EPCI.

Only what the scenario touches is recomputed, on top of the baseline ``travel_times``:

- a new line: the origins that can reach one of its stops within the budget on the baseline
  network (a journey using the line must first reach a stop of it: the condition is exact), whose
  public-transport times to every offer location are computed again on the network with the line;
- bikes: the pupils of the chosen communes may also cycle; their cycling times are the baseline
  cycling times scaled by the ratio of speeds (cycling times are distance at one speed);
- new hosts: the times from every origin to the new locations, as an offer import computes them.

The figures after are ``min(baseline, scenario)`` per (origin, location): a scenario never makes
any origin's times worse. Indicators are computed in DuckDB from these pairs, exactly as the
``accessibility`` table is (offers within the budget, nearest offer, 2SFCA places per pupil).
Nothing is written to the database.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from analysis import catalogue, config, db, traveltime
from analysis.db import has_relation
from analysis.incremental import times as incremental
from analysis.network import paths
from analysis.scenario import network as lines_net
from analysis.scenario.spec import Scenario, ScenarioError
from analysis.transit import TransitNetwork, transit_matrix

MODES = ("walk", "bike", "car", "transit")
ORIGIN_KINDS = ("commune", "school")


@dataclass
class ScenarioResult:
    """Figures of one scenario against the baseline.

    Attributes
    ----------
    origins : pandas.DataFrame
        One row per origin: ``code``, ``name``, ``commune_code``, ``epci``, ``pupils``,
        ``offers_before``, ``offers_after``, ``minutes_before``, ``minutes_after``,
        ``places_per_pupil_before``, ``places_per_pupil_after``.
    epci : pandas.DataFrame
        One row per EPCI with pupils: ``code``, ``name``, ``pupils``, ``pupils_without_offer_before``,
        ``pupils_without_offer_after``, ``gain_pupils``.
    """

    name: str
    mode: str
    minutes: float
    origin_kind: str
    service_date: str | None
    origins: pd.DataFrame
    epci: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    networks: tuple[str, ...] = ()  # transit networks loaded (labels: « TER » offline)

    @property
    def without_before(self) -> float:
        o = self.origins
        return float(o.loc[o["offers_before"] == 0, "pupils"].sum())

    @property
    def without_after(self) -> float:
        o = self.origins
        return float(o.loc[o["offers_after"] == 0, "pupils"].sum())

    @property
    def gain_pupils(self) -> float:
        o = self.origins
        return float(o.loc[(o["offers_before"] == 0) & (o["offers_after"] > 0), "pupils"].sum())

    def changed(self) -> pd.DataFrame:
        """The origins whose offers or nearest time changed."""
        o = self.origins
        moved = (o["offers_after"] != o["offers_before"]) | (
            o["minutes_after"].fillna(1e9) != o["minutes_before"].fillna(1e9)
        )
        return o.loc[moved].sort_values(["offers_before", "pupils"], ascending=[True, False])


def _settings(con: duckdb.DuckDBPyConnection) -> traveltime.TravelTimeSettings:
    """The build's travel-time settings, with the transit service date the build used."""
    cfg = traveltime.TravelTimeSettings.from_any(incremental.build_settings(con))
    row = con.execute("SELECT params FROM travel_time_runs WHERE mode = 'transit'").fetchone()
    if row and row[0] and not cfg.service_date:
        cfg.service_date = json.loads(row[0]).get("service_date")
    return cfg


def _road(cfg: traveltime.TravelTimeSettings, mode: str) -> paths.GraphArrays | None:
    try:
        return incremental.road_arrays(cfg, mode)
    except (LookupError, OSError, ValueError):
        return None


def _frame(mat: traveltime.TravelTimeMatrix) -> pd.DataFrame:
    return mat.to_frame()[["origin_id", "loc_id", "minutes"]]


class _Context:
    """What one evaluation reads once: settings, origins, destinations, communes, networks."""

    def __init__(self, con: duckdb.DuckDBPyConnection, mode: str, minutes: float, origin_kind: str):
        self.con, self.mode, self.minutes, self.origin_kind = con, mode, float(minutes), origin_kind
        self.cfg = _settings(con)
        origins = traveltime.read_origins(con)
        self.origins = origins[origins["origin_kind"] == origin_kind].reset_index(drop=True)
        self.destinations = traveltime.read_destinations(con)
        self.communes = traveltime.read_communes(con)
        self._net: TransitNetwork | None = None
        self.notes: list[str] = []

    def base_network(self) -> TransitNetwork:
        if self._net is None:
            self._net = TransitNetwork.from_duckdb(self.con, service_date=self.cfg.service_date)
        return self._net

    def transit_params(self) -> dict:
        cfg = self.cfg
        return dict(
            depart_from=cfg.depart_from,
            depart_to=cfg.depart_to,
            arrive_by=cfg.arrive_by,
            walk_kmh=cfg.walk_kph,
            detour=cfg.detour_for("transit"),
        )


def _line_pairs(ctx: _Context, scenario: Scenario) -> tuple[pd.DataFrame, TransitNetwork | None]:
    """New transit pairs of the origins that can reach a new stop; the network with the lines."""
    if not scenario.lines:
        return pd.DataFrame(columns=["origin_id", "loc_id", "minutes"]), None
    walk_road = _road(ctx.cfg, "walk")
    points = lines_net.stop_points(scenario, ctx.communes)
    lines_net.check_stops_served(scenario, points, walk_road, ctx.cfg.max_snap_m)
    if ctx.mode != "transit":
        ctx.notes.append("Les lignes nouvelles ne changent que les temps en transports en commun.")
        return pd.DataFrame(columns=["origin_id", "loc_id", "minutes"]), None
    base = ctx.base_network()
    seconds = [
        lines_net.leg_seconds(line, pts, walk_road, ctx.cfg.walk_kph, ctx.cfg.detour_for("walk"))
        for line, pts in zip(scenario.lines, points, strict=True)
    ]
    net, new_stops = lines_net.with_lines(base, scenario, points, seconds)
    for line in scenario.lines:
        if not lines_net.runs_on(line, base.service_date):
            ctx.notes.append(f"« {line.name} » ne circule pas le jour évalué ({base.service_date.isoformat()}).")
    ll = ctx.origins[["lon", "lat"]].to_numpy(float)
    to_stops = transit_matrix(base, ll, net.stop_lonlat[new_stops], **ctx.transit_params())
    affected = np.flatnonzero((to_stops <= ctx.minutes).any(axis=1))
    if not len(affected):
        return pd.DataFrame(columns=["origin_id", "loc_id", "minutes"]), net
    origins = ctx.origins.iloc[affected].reset_index(drop=True)
    mat = traveltime.TravelTimeMatrix.for_transit(net, origins, ctx.destinations, ctx.cfg)
    mat.apply_intra_commune(ctx.communes, ctx.cfg)
    return _frame(mat), net


def _bike_origins(con: duckdb.DuckDBPyConnection, scenario: Scenario, origins: pd.DataFrame) -> pd.DataFrame:
    grant = scenario.bike
    known = {c for (c,) in con.execute("SELECT code FROM communes").fetchall()}
    for j, code in enumerate(grant.communes):
        if code not in known:
            raise ScenarioError(f"bike.communes[{j}]", f"commune inconnue : « {code} »")
    epci_known = {c for (c,) in con.execute("SELECT DISTINCT epci_siren FROM communes").fetchall()}
    for j, code in enumerate(grant.epci):
        if code not in epci_known:
            raise ScenarioError(f"bike.epci[{j}]", f"EPCI inconnu ou sans commune en Normandie : « {code} »")
    codes = set(grant.communes) | {
        c
        for (c,) in con.execute(
            "SELECT code FROM communes WHERE epci_siren IN (SELECT unnest(?))", [list(grant.epci)]
        ).fetchall()
    }
    return origins[origins["commune_code"].isin(codes)]


def _bike_pairs(ctx: _Context, scenario: Scenario) -> pd.DataFrame:
    """Cycling as an option for the pupils of the chosen communes, at the scenario's speed."""
    if scenario.bike is None:
        return pd.DataFrame(columns=["origin_id", "loc_id", "minutes"])
    chosen = _bike_origins(ctx.con, scenario, ctx.origins)
    if ctx.mode == "car":
        ctx.notes.append("Les vélos ne changent rien aux temps en voiture.")
        return pd.DataFrame(columns=["origin_id", "loc_id", "minutes"])
    kph = scenario.bike.kph or ctx.cfg.bike_kph
    ratio = ctx.cfg.bike_kph / kph
    pairs = ctx.con.execute(
        """SELECT origin_id, loc_id, minutes * $ratio AS minutes FROM travel_times
            WHERE mode = 'bike' AND origin_kind = $kind AND origin_id IN (SELECT unnest($ids))
              AND minutes * $ratio <= $budget""",
        {"ratio": ratio, "kind": ctx.origin_kind, "ids": chosen["origin_id"].tolist(), "budget": ctx.minutes},
    ).df()
    if kph > ctx.cfg.bike_kph and ctx.minutes > ctx.cfg.max_minutes * ratio:
        ctx.notes.append(
            f"Vélo à {kph:g} km/h : seuls les trajets de moins de {ctx.cfg.max_minutes:g} min à "
            f"{ctx.cfg.bike_kph:g} km/h sont connus (horizon du calcul)."
        )
    return pairs


def _host_locations(ctx: _Context, scenario: Scenario) -> pd.DataFrame:
    """New offer locations (ids after the last one), at a commune's point or at a point."""
    where = ctx.communes.set_index("code")
    start = int(ctx.destinations["loc_id"].max()) + 1 if len(ctx.destinations) else 1
    rows = []
    for k, host in enumerate(scenario.hosts):
        if host.commune is not None:
            if host.commune not in where.index:
                raise ScenarioError(f"hosts[{k}].commune", f"commune inconnue : « {host.commune} »")
            lon, lat = where.loc[host.commune, ["lon", "lat"]]
            rows.append((start + k, lon, lat, host.commune, "commune", 1, host.sector, host.places))
        else:
            rows.append((start + k, host.lon, host.lat, None, "point", 1, host.sector, host.places))
    cols = ["loc_id", "lon", "lat", "commune_code", "location_precision", "n_offers", "sector", "places"]
    return pd.DataFrame(rows, columns=cols)


def _host_pairs(ctx: _Context, scenario: Scenario, hosts: pd.DataFrame, net: TransitNetwork | None) -> pd.DataFrame:
    """Times from every origin to the new hosts, by the mode (transit: also walking; bikes: also cycling)."""
    if hosts.empty:
        return pd.DataFrame(columns=["origin_id", "loc_id", "minutes"])
    road_modes = {"transit": ["walk"], "walk": ["walk"], "bike": ["bike"], "car": ["car"]}[ctx.mode]
    frames = []
    for mode in road_modes:
        arrays = _road(ctx.cfg, mode)
        if arrays is None:
            raise ScenarioError("hosts", f"réseau routier du mode {mode} indisponible : hôtes non évaluables")
        _, dist = arrays.snap(hosts["lon"].to_numpy(float), hosts["lat"].to_numpy(float))
        for k in np.flatnonzero(np.asarray(dist) > ctx.cfg.max_snap_m):
            raise ScenarioError(
                f"hosts[{k}]", f"lieu hors du réseau : à {dist[k] / 1000:.1f} km de la route la plus proche"
            )
        mat = traveltime.TravelTimeMatrix.for_road(arrays, mode, ctx.origins, hosts, ctx.cfg)
        mat.apply_intra_commune(ctx.communes, ctx.cfg)
        frames.append(_frame(mat))
    if ctx.mode == "transit":
        mat = traveltime.TravelTimeMatrix.for_transit(net or ctx.base_network(), ctx.origins, hosts, ctx.cfg)
        mat.apply_intra_commune(ctx.communes, ctx.cfg)
        frames.append(_frame(mat))
    if scenario.bike is not None and ctx.mode in ("transit", "walk"):
        arrays = _road(ctx.cfg, "bike")
        chosen = _bike_origins(ctx.con, scenario, ctx.origins).reset_index(drop=True)
        if arrays is not None and len(chosen):
            mat = traveltime.TravelTimeMatrix.for_road(arrays, "bike", chosen, hosts, ctx.cfg)
            mat.apply_intra_commune(ctx.communes, ctx.cfg)
            frame = _frame(mat)
            frame["minutes"] *= ctx.cfg.bike_kph / (scenario.bike.kph or ctx.cfg.bike_kph)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


_INDICATORS_SQL = """
WITH
base AS (
    SELECT origin_id, loc_id, min(minutes)::DOUBLE AS minutes FROM travel_times
     WHERE origin_kind = $kind AND mode IN (SELECT unnest($modes)) GROUP BY ALL
),
locs_b AS (
    SELECT loc_id, count(*)::DOUBLE AS n_offers, sum(coalesce(capacity, 1))::DOUBLE AS places
      FROM offers WHERE loc_id IS NOT NULL GROUP BY loc_id
),
pairs_v AS (
    SELECT 'before' AS v, * FROM base
    UNION ALL
    SELECT 'after', origin_id, loc_id, min(minutes) FROM (
        SELECT * FROM base UNION ALL SELECT origin_id, loc_id, minutes::DOUBLE FROM _sc_pairs) GROUP BY ALL
),
locs_v AS (
    SELECT 'before' AS v, * FROM locs_b
    UNION ALL SELECT 'after', * FROM locs_b
    UNION ALL SELECT 'after', loc_id, n_offers::DOUBLE, places::DOUBLE FROM _sc_locs
),
reach AS (
    SELECT p.v, p.origin_id, p.loc_id, p.minutes, l.n_offers, l.places
      FROM pairs_v p JOIN locs_v l USING (v, loc_id)
),
near AS (
    SELECT v, origin_id, min(minutes) AS nearest,
           coalesce(sum(n_offers) FILTER (WHERE minutes <= $budget), 0) AS offers
      FROM reach GROUP BY ALL
),
orig AS ({origins}),
demand AS (
    SELECT r.v, r.loc_id, sum(o.pupils) AS d FROM reach r JOIN orig o USING (origin_id)
     WHERE r.minutes <= $budget AND o.pupils > 0 GROUP BY ALL
),
fca AS (
    SELECT r.v, r.origin_id, sum(r.places / d.d) AS a FROM reach r JOIN demand d USING (v, loc_id)
     WHERE r.minutes <= $budget GROUP BY ALL
)
SELECT o.origin_id AS code, o.origin_name AS name, o.commune_code, c.epci_siren AS epci, o.pupils,
       coalesce(nb.offers, 0)::BIGINT AS offers_before, coalesce(na.offers, 0)::BIGINT AS offers_after,
       nb.nearest AS minutes_before, na.nearest AS minutes_after,
       coalesce(fb.a, 0) AS places_per_pupil_before, coalesce(fa.a, 0) AS places_per_pupil_after
  FROM orig o
  LEFT JOIN communes c ON c.code = o.commune_code
  LEFT JOIN near nb ON nb.v = 'before' AND nb.origin_id = o.origin_id
  LEFT JOIN near na ON na.v = 'after' AND na.origin_id = o.origin_id
  LEFT JOIN fca fb ON fb.v = 'before' AND fb.origin_id = o.origin_id
  LEFT JOIN fca fa ON fa.v = 'after' AND fa.origin_id = o.origin_id
 ORDER BY o.origin_id
"""

_ORIGINS = {
    "commune": """SELECT c.code AS origin_id, c.name AS origin_name, c.code AS commune_code,
                         coalesce(cp.pupils, 0)::DOUBLE AS pupils
                    FROM communes c LEFT JOIN commune_pupils cp ON cp.code = c.code""",
    "school": """SELECT s.uai AS origin_id, s.name AS origin_name, s.commune_code,
                        coalesce(s.seconde_pupils, 0)::DOUBLE AS pupils FROM schools s""",
}


def _indicators(ctx: _Context, pairs: pd.DataFrame, hosts: pd.DataFrame) -> pd.DataFrame:
    con = db.cursor(ctx.con)  # registrations stay on this cursor, the caller's connection untouched
    try:
        pairs = pairs.astype({"origin_id": str, "loc_id": "int64", "minutes": float})
        locs = (
            hosts[["loc_id", "n_offers", "places"]]
            if len(hosts)
            else pd.DataFrame(
                {
                    "loc_id": pd.Series(dtype="int64"),
                    "n_offers": pd.Series(dtype=float),
                    "places": pd.Series(dtype=float),
                }
            )
        )
        con.register("_sc_pairs", pairs)
        con.register("_sc_locs", locs)
        modes = ["transit", "walk"] if ctx.mode == "transit" else [ctx.mode]
        sql = _INDICATORS_SQL.replace("{origins}", _ORIGINS[ctx.origin_kind])
        # one thread: floating sums in a fixed order, so the same scenario gives the same figures
        with incremental.duckdb_threads(con, 1):
            return con.execute(sql, {"kind": ctx.origin_kind, "modes": modes, "budget": ctx.minutes}).df()
    finally:
        con.close()


def _epci_table(con: duckdb.DuckDBPyConnection, origins: pd.DataFrame) -> pd.DataFrame:
    o = origins.assign(
        without_before=np.where(origins["offers_before"] == 0, origins["pupils"], 0.0),
        without_after=np.where(origins["offers_after"] == 0, origins["pupils"], 0.0),
        gain=np.where((origins["offers_before"] == 0) & (origins["offers_after"] > 0), origins["pupils"], 0.0),
    )
    g = o.groupby("epci", dropna=True)[["pupils", "without_before", "without_after", "gain"]].sum().reset_index()
    names = con.execute("SELECT siren AS epci, name FROM epci").df()
    g = g.merge(names, on="epci", how="left")
    g = g.rename(
        columns={
            "epci": "code",
            "without_before": "pupils_without_offer_before",
            "without_after": "pupils_without_offer_after",
            "gain": "gain_pupils",
        }
    )
    g = g[g["pupils"] > 0]
    cols = ["code", "name", "pupils", "pupils_without_offer_before", "pupils_without_offer_after", "gain_pupils"]
    return g[cols].sort_values(["gain_pupils", "code"], ascending=[False, True]).reset_index(drop=True)


def check_database(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse a database without the tables a scenario needs, in French."""
    for table in ("communes", "offers", "offer_locations", "travel_times", "travel_time_runs"):
        if not has_relation(con, table):
            raise ScenarioError("(base)", f"table « {table} » absente : construisez la base (python -m analysis.build)")


def evaluate(
    con: duckdb.DuckDBPyConnection,
    scenario: Scenario,
    mode: str = config.DEFAULT_MODE,
    minutes: float = config.DEFAULT_BUDGET_MIN,
    origin_kind: str = "commune",
) -> ScenarioResult:
    """Evaluate ``scenario`` against the baseline of the database ``con`` (read only).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A built database; nothing is written to it.
    scenario : Scenario
    mode : {"walk", "bike", "car", "transit"}
        ``transit`` is public transport or walking, as in the indicators.
    minutes : float
        Time budget (an offer is reached when its time is ``<= minutes``).
    origin_kind : {"commune", "school"}

    Returns
    -------
    ScenarioResult
    """
    t0 = time.perf_counter()
    if mode not in MODES:
        raise ScenarioError("mode", f"mode inconnu : « {mode} » (walk, bike, car ou transit)")
    if origin_kind not in ORIGIN_KINDS:
        raise ScenarioError("origin", f"origine inconnue : « {origin_kind} » (commune ou school)")
    if not 0 < float(minutes) <= 90:
        raise ScenarioError("minutes", f"budget-temps {minutes} hors limites (1 à 90 minutes)")
    check_database(con)
    ctx = _Context(con, mode, minutes, origin_kind)
    line_pairs, net = _line_pairs(ctx, scenario)
    hosts = _host_locations(ctx, scenario)
    frames = [line_pairs, _bike_pairs(ctx, scenario), _host_pairs(ctx, scenario, hosts, net)]
    frames = [f for f in frames if len(f)]
    pairs = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["origin_id", "loc_id", "minutes"])
    origins = _indicators(ctx, pairs, hosts)
    service = ctx.cfg.service_date if mode == "transit" else None
    return ScenarioResult(
        name=scenario.name,
        mode=mode,
        minutes=float(minutes),
        origin_kind=origin_kind,
        service_date=str(service) if service else None,
        origins=origins,
        epci=_epci_table(con, origins),
        notes=ctx.notes,
        seconds=time.perf_counter() - t0,
        networks=tuple(catalogue.transit_networks(con)),
    )


def as_dict(result: ScenarioResult, all_origins: bool = False) -> dict:
    """The JSON document of a result (the command line's output)."""
    rows = result.origins if all_origins else result.changed()

    def num(x):
        return None if x is None or (isinstance(x, float) and not np.isfinite(x)) or pd.isna(x) else round(float(x), 1)

    return {
        "name": result.name,
        "mode": result.mode,
        "minutes": result.minutes,
        "origin": result.origin_kind,
        "service_date": result.service_date,
        "baseline": {"pupils_without_offer": round(result.without_before)},
        "scenario": {"pupils_without_offer": round(result.without_after)},
        "gain_pupils": round(result.gain_pupils),
        "communes": [
            {
                "code": r.code,
                "name": r.name,
                "pupils": round(float(r.pupils)),
                "offers_before": int(r.offers_before),
                "offers_after": int(r.offers_after),
                "minutes_before": num(r.minutes_before),
                "minutes_after": num(r.minutes_after),
                "places_per_pupil_before": round(float(r.places_per_pupil_before), 4),
                "places_per_pupil_after": round(float(r.places_per_pupil_after), 4),
            }
            for r in rows.itertuples()
        ],
        "epci": [
            {
                "code": r.code,
                "name": r.name,
                "pupils": round(float(r.pupils)),
                "pupils_without_offer_before": round(float(r.pupils_without_offer_before)),
                "pupils_without_offer_after": round(float(r.pupils_without_offer_after)),
                "gain_pupils": round(float(r.gain_pupils)),
            }
            for r in result.epci.itertuples()
            if r.gain_pupils > 0 or all_origins
        ],
        "notes": result.notes,
        "seconds": round(result.seconds, 2),
    }


def service_day(result: ScenarioResult) -> date | None:
    return date.fromisoformat(result.service_date) if result.service_date else None


def evaluate_file(
    db_path: str,
    scenario: Scenario,
    mode: str = config.DEFAULT_MODE,
    minutes: float = config.DEFAULT_BUDGET_MIN,
    origin_kind: str = "commune",
) -> ScenarioResult:
    """:func:`evaluate` on a private read-only connection to ``db_path`` (the page's path: the
    one-thread setting of the indicator query then never touches a connection shared by others)."""
    with db.connect(db_path, read_only=True, spatial=False) as con:
        return evaluate(con, scenario, mode, minutes, origin_kind)
