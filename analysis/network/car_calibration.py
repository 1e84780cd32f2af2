"""Car times of the regional skeleton against real OSRM car times to Paris (2021).

The mirror's ``roads/osrm_car_time_to_paris_2021`` gives, for every commune of Normandie (and of
a 20 km margin around it), the OSRM car time (July 2021 OpenStreetMap, free flow) from the
commune's centroid to Paris. Paris lies outside the Travel Mapping skeleton (which stops about
lon 2.1), so the project's time to Paris is counted through **gateways**: the OSRM points of
the communes of the margin on the Paris side (départements :data:`GATEWAY_DEPS`), each carrying
its own OSRM time to Paris::

    project(c) = access(c) + min over gateways g [ skeleton(node(c) -> node(g)) + access(g) + OSRM(g) ]

with ``access = snap distance x detour / access speed`` as in
:func:`analysis.network.paths.door_to_door`. One Dijkstra answers every commune: from a virtual
« Paris » node on the **reversed** graph, linked to each gateway node by ``access(g) + OSRM(g)``.
The ratio ``project(c) / OSRM(c)`` is the comparison; the « Normandie leg » ratio
``(project(c) - OSRM(g*)) / (OSRM(c) - OSRM(g*))`` (``g*`` the gateway the project's route
uses) leaves out the part that is OSRM on both sides.

:func:`fit` calibrates the car model of the skeleton (:func:`analysis.network.roads.skeleton_car_seconds`:
speeds by road class, urban speed on short segments, a junction time per segment, and the access
speed) by least squares on the log leg ratios of the **fit half** of the communes (:func:`fit_half`:
CRC32 of the INSEE code even); the other half is held out to report the error. The calibrated
constants live in :mod:`analysis.network.roads_layers`; ``bench/osrm_car.py`` prints everything and
``tests/test_car_calibration.py`` asserts the held-out acceptance.
"""

from __future__ import annotations

import zlib
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from analysis.network import paths, roads

#: The OSRM reference in the mirror.
OSRM_RELPATH = "roads/osrm_car_time_to_paris_2021/osrm_car_time_to_paris_2021_normandie.gpkg"
#: Départements of the margin between Normandie and Paris whose communes are gateways.
GATEWAY_DEPS: tuple[str, ...] = ("28", "60", "78", "91", "95")
#: Acceptance on the held-out half (issue 20): median ratio in this range ...
ACCEPT_MEDIAN = (0.97, 1.06)
#: ... and at least this share of communes within ±10 % of OSRM.
ACCEPT_WITHIN10 = 0.90


@dataclass(frozen=True)
class CarParams:
    """Parameters of the skeleton's car model (km/h, metres, seconds)."""

    motorway_kph: float
    primary_kph: float
    secondary_kph: float
    urban_kph: float
    junction_s: float
    access_kph: float

    @classmethod
    def current(cls) -> CarParams:
        """The calibrated constants the build uses (:mod:`analysis.network.roads_layers`)."""
        s = roads.SKELETON_SPEEDS
        return cls(
            s["motorway"],
            s["primary"],
            s["secondary"],
            roads.SKELETON_URBAN_KPH,
            roads.SKELETON_JUNCTION_S,
            roads.CAR_ACCESS_KPH,
        )

    @classmethod
    def before_2026_12(cls) -> CarParams:
        """The uncalibrated model before the OSRM fit (for the « before » figures)."""
        return cls(115.0, 80.0, 72.0, 40.0, 0.0, 30.0)

    def edge_seconds(self, highway, length) -> np.ndarray:
        speeds = {"motorway": self.motorway_kph, "primary": self.primary_kph, "secondary": self.secondary_kph}
        return roads.skeleton_car_seconds(
            highway, length, speeds, urban_kph=self.urban_kph, junction_s=self.junction_s
        )[1]


@dataclass
class Comparison:
    """Everything that does not change with the car parameters, computed once.

    Attributes
    ----------
    arrays : GraphArrays
        The car graph (snapping and node coordinates; its matrix holds the graph's own seconds).
    edges : pandas.DataFrame
        Car edges: ``u``, ``v`` (node indices), ``highway``, ``length``.
    communes : pandas.DataFrame
        Normandie communes: ``insee``, ``dep``, ``lon``, ``lat``, ``osrm_s``, ``node``, ``snap_m``, ``fit``.
    gateways : pandas.DataFrame
        Gateway communes: ``insee``, ``dep``, ``osrm_s``, ``node``, ``snap_m``.
    """

    arrays: paths.GraphArrays
    edges: pd.DataFrame
    communes: pd.DataFrame
    gateways: pd.DataFrame


def read_reference(source_dir: str | Path) -> pd.DataFrame:
    """The OSRM times of the mirror (``insee``, ``dep``, ``in_normandie``, ``lon``, ``lat``, ``osrm_s``)."""
    import pyogrio

    df = pyogrio.read_dataframe(Path(source_dir) / OSRM_RELPATH, read_geometry=False)
    df = df.rename(columns={"duration_s": "osrm_s"})
    return df[["insee", "dep", "in_normandie", "pop_2020", "area_km2", "lon", "lat", "osrm_s"]].copy()


def fit_half(insee: pd.Series) -> np.ndarray:
    """True for the communes of the fit half: CRC32 of the INSEE code is even (deterministic)."""
    return np.array([zlib.crc32(str(c).encode()) % 2 == 0 for c in insee], dtype=bool)


def prepare(G, reference: pd.DataFrame, max_snap_m: float = 2500.0) -> Comparison:
    """Snap the communes and gateways once and keep the car edges of the skeleton graph ``G``."""
    arrays = paths.GraphArrays.from_graph(G, "car")
    table = roads.mode_edge_table(G, "car")
    index = pd.Index(arrays.node_ids)
    hwy = {(u, v, k): d.get("highway") for u, v, k, d in G.edges(keys=True, data=True)}
    length = {(u, v, k): float(d.get("length", 0.0)) for u, v, k, d in G.edges(keys=True, data=True)}
    triples = list(zip(table["u"], table["v"], table["key"]))
    edges = pd.DataFrame(
        {
            "u": index.get_indexer(table["u"]),
            "v": index.get_indexer(table["v"]),
            "highway": [hwy[t] for t in triples],
            "length": [length[t] for t in triples],
        }
    )

    def snapped(df: pd.DataFrame) -> pd.DataFrame:
        node, snap = arrays.snap(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
        return df.assign(node=node, snap_m=snap)[snap <= max_snap_m].reset_index(drop=True)

    communes = snapped(reference[reference["in_normandie"].astype(bool)])
    communes["fit"] = fit_half(communes["insee"])
    gateways = snapped(reference[reference["dep"].astype(str).isin(GATEWAY_DEPS)])
    return Comparison(arrays, edges, communes, gateways)


def _min_csr(u: np.ndarray, v: np.ndarray, w: np.ndarray, n: int) -> sparse.csr_matrix:
    """CSR matrix keeping the smallest weight of parallel edges (scipy would sum them)."""
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], np.maximum(w[order], 1e-3)
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    return sparse.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def _gateway_of(pred: np.ndarray, dist: np.ndarray, root: int) -> np.ndarray:
    """For every node, the node whose predecessor is ``root`` on its shortest path (its gateway)."""
    out = np.full(len(pred), -1, dtype=np.int64)
    for x in np.argsort(dist, kind="stable"):
        if not np.isfinite(dist[x]) or x == root:
            continue
        p = pred[x]
        out[x] = x if p == root else out[p]
    return out


def project_seconds(
    cmp: Comparison, edge_seconds: np.ndarray | None, access_kph: float, detour: float = roads.DETOUR_FACTOR
) -> tuple[np.ndarray, np.ndarray]:
    """Project car seconds to Paris of every commune, and the OSRM seconds of the gateway used.

    Parameters
    ----------
    cmp : Comparison
    edge_seconds : numpy.ndarray or None
        Seconds of ``cmp.edges`` (a candidate model); None: the graph's own seconds (the build's).
    access_kph, detour : float
        Access legs as in :func:`analysis.network.paths.door_to_door`.
    """
    n = cmp.arrays.n_nodes
    if edge_seconds is None:
        reversed_graph = cmp.arrays.transposed.tocoo()
        u, v, w = reversed_graph.row, reversed_graph.col, reversed_graph.data
    else:
        u, v, w = cmp.edges["v"].to_numpy(), cmp.edges["u"].to_numpy(), np.asarray(edge_seconds, dtype=float)
    access_mps = access_kph / 3.6
    gw = cmp.gateways
    offset = gw["osrm_s"].to_numpy(float) + gw["snap_m"].to_numpy(float) * detour / access_mps
    matrix = _min_csr(
        np.concatenate([u, np.full(len(gw), n)]),
        np.concatenate([v, gw["node"].to_numpy()]),
        np.concatenate([w, offset]),
        n + 1,
    )
    dist, pred = csgraph.dijkstra(matrix, directed=True, indices=n, return_predecessors=True)
    first = _gateway_of(pred, dist, n)
    # OSRM seconds of the cheapest gateway on each gateway node
    best = gw.assign(offset=offset).sort_values("offset").drop_duplicates("node").set_index("node")["osrm_s"]
    c = cmp.communes
    nodes = c["node"].to_numpy()
    seconds = dist[nodes] + c["snap_m"].to_numpy(float) * detour / access_mps
    gate_osrm = best.reindex(first[nodes]).to_numpy(float)
    return seconds, gate_osrm


def ratios(cmp: Comparison, params: CarParams | None = None, detour: float = roads.DETOUR_FACTOR) -> pd.DataFrame:
    """Ratio project / OSRM per commune (``ratio``) and of the Normandie leg (``leg_ratio``).

    ``params`` None: the graph's own seconds and :data:`analysis.network.roads.CAR_ACCESS_KPH` (the build).
    The leg ratio is NaN where the OSRM leg is shorter than 10 minutes (a commune next to its gateway).
    """
    if params is None:
        sec, gate = project_seconds(cmp, None, roads.CAR_ACCESS_KPH, detour)
    else:
        sec = cmp.edges
        sec, gate = project_seconds(cmp, params.edge_seconds(sec["highway"], sec["length"]), params.access_kph, detour)
    osrm = cmp.communes["osrm_s"].to_numpy(float)
    leg = osrm - gate
    out = cmp.communes[["insee", "dep", "osrm_s", "fit"]].copy()
    out["project_s"] = sec
    out["ratio"] = sec / osrm
    out["leg_ratio"] = np.where(leg >= 600.0, (sec - gate) / np.where(leg > 0, leg, np.nan), np.nan)
    return out


def summary(ratio) -> dict[str, float]:
    """Median, p10, p90 of a ratio and the share within ±10 % (NaN ignored)."""
    r = np.asarray(ratio, dtype=float)
    r = r[np.isfinite(r)]
    return {
        "n": int(len(r)),
        "median": float(np.median(r)),
        "p10": float(np.percentile(r, 10)),
        "p90": float(np.percentile(r, 90)),
        "within10": float(np.mean(np.abs(r - 1.0) <= 0.10)),
    }


def accepted(stats: dict[str, float]) -> bool:
    """The issue-20 acceptance: median in :data:`ACCEPT_MEDIAN` and :data:`ACCEPT_WITHIN10` within ±10 %."""
    lo, hi = ACCEPT_MEDIAN
    return lo <= stats["median"] <= hi and stats["within10"] >= ACCEPT_WITHIN10


#: Bounds of the fit (km/h, km/h, km/h, km/h, s, km/h).
FIT_BOUNDS = ((60.0, 40.0, 30.0, 10.0, 0.0, 5.0), (140.0, 130.0, 110.0, 90.0, 120.0, 80.0))


def fit(cmp: Comparison, start: CarParams | None = None) -> tuple[CarParams, object]:
    """Least squares on the log ratios of the Normandie leg, fit half only.

    The leg ratio (see the module docstring) is the part of the trip the project computes; the
    trip ratio would dilute its error with the OSRM part common to both. Soft-L1 loss (scale
    0.05, so a few odd communes do not pull the speeds), started from
    :meth:`CarParams.before_2026_12`; communes without a leg ratio count as exact.

    Returns
    -------
    (CarParams, scipy.optimize.OptimizeResult)
    """
    from scipy.optimize import least_squares

    mask = cmp.communes["fit"].to_numpy()
    x0 = np.array(astuple(start or CarParams.before_2026_12()), dtype=float)

    def residuals(x: np.ndarray) -> np.ndarray:
        r = ratios(cmp, CarParams(*x))["leg_ratio"].to_numpy()[mask]
        ok = np.isfinite(r) & (r > 0)
        return np.where(ok, np.log(np.where(ok, r, 1.0)), 0.0)

    res = least_squares(residuals, x0, bounds=FIT_BOUNDS, diff_step=1e-3, loss="soft_l1", f_scale=0.05)
    return CarParams(*(float(x) for x in res.x)), res


def param_names() -> list[str]:
    return [f.name for f in fields(CarParams)]
