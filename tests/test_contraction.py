"""Contraction hierarchy and bucket many-to-many (analysis.network.contraction) against independent oracles.

Oracles: hand-computed times, scipy's ``csgraph.dijkstra``, networkx, and the project's own
one-to-all kernel (``analysis.network.dijkstra`` through ``GraphArrays.node_pairs``) on SYNTHETIC graphs.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import sparse
from scipy.sparse import csgraph

from analysis.network import contraction, paths
from analysis.network.contraction import Hierarchy


def _random_graph(rng, n, m, integer=False):
    u, v = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.uniform(0.1, 10.0, m)
    if integer:  # many equal-length paths (ties between witness and via paths)
        w = np.round(w) + 1.0
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    order = np.lexsort((w, v, u))  # keep the shortest of parallel edges
    u, v, w = u[order], v[order], w[order]
    first = np.r_[True, (u[1:] != u[:-1]) | (v[1:] != v[:-1])]
    return sparse.csr_matrix((w[first], (u[first], v[first])), shape=(n, n))


def _dense(h, sources, targets, limit=np.inf):
    i, j, d = h.pairs(sources, targets, limit=limit)
    out = np.full((len(sources), len(targets)), np.inf)
    out[i, j] = d
    return out


def test_hand_computed_line_with_a_shortcut():
    # 0 -> 1 -> 2 -> 3 (1, 2, 4 s) and a slower direct 0 -> 3 (10 s); 3 -> 0 (5 s).
    mat = sparse.csr_matrix(([1.0, 2.0, 4.0, 10.0, 5.0], ([0, 1, 2, 0, 3], [1, 2, 3, 3, 0])), shape=(4, 4))
    h = Hierarchy.build(mat, core_nodes=1)
    got = _dense(h, [0, 1, 2, 3], [0, 1, 2, 3])
    expected = np.array(
        [
            [0.0, 1.0, 3.0, 7.0],
            [11.0, 0.0, 2.0, 6.0],
            [9.0, 10.0, 0.0, 4.0],
            [5.0, 6.0, 8.0, 0.0],
        ]
    )
    np.testing.assert_array_equal(got, expected)
    assert h.n_core == 1
    # the limit is inclusive, as in scipy
    np.testing.assert_array_equal(_dense(h, [0], [3], limit=7.0), [[7.0]])
    np.testing.assert_array_equal(_dense(h, [0], [3], limit=6.999), [[np.inf]])


@pytest.mark.parametrize("seed", range(6))
def test_random_directed_graphs_equal_scipy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 250))
    mat = _random_graph(rng, n, int(rng.integers(n, 5 * n)), integer=seed % 2 == 0)
    sources = rng.choice(n, 20, replace=False)
    targets = rng.choice(n, 7, replace=False)
    ref = csgraph.dijkstra(mat, indices=sources)[:, targets]
    for core, settle in ((1, 60), (n // 4, 3), (n, 60), (max(1, n // 10), 1)):
        h = Hierarchy.build(mat, core_nodes=core, settle_limit=settle)
        for a, b, r in (
            (sources, targets, ref),
            (targets, sources, csgraph.dijkstra(mat, indices=targets)[:, sources]),
        ):
            got = _dense(h, a, b)
            assert np.array_equal(np.isinf(got), np.isinf(r))
            np.testing.assert_allclose(got[np.isfinite(got)], r[np.isfinite(r)], rtol=1e-12, atol=0)
        lim = float(np.median(ref[np.isfinite(ref)]))
        got = _dense(h, sources, targets, limit=lim)
        assert np.array_equal(np.isfinite(got), ref <= lim)


def test_networkx_oracle_on_a_grid_with_one_way_streets():
    rng = np.random.default_rng(7)
    G = nx.grid_2d_graph(15, 12).to_directed()
    for a, b in list(G.edges):
        G.edges[a, b]["w"] = float(rng.uniform(5, 60))
    for a, b in list(G.edges)[::9]:  # some one-way streets
        if G.has_edge(b, a) and G.out_degree(b) > 1:
            G.remove_edge(b, a)
    nodes = list(G.nodes)
    index = {x: i for i, x in enumerate(nodes)}
    u = [index[a] for a, b in G.edges]
    v = [index[b] for a, b in G.edges]
    w = [G.edges[e]["w"] for e in G.edges]
    mat = sparse.csr_matrix((w, (u, v)), shape=(len(nodes), len(nodes)))
    h = Hierarchy.build(mat, core_nodes=5)
    sources = [0, 17, 100, 179]
    got = _dense(h, sources, np.arange(len(nodes)))
    for k, s in enumerate(sources):
        ref = nx.single_source_dijkstra_path_length(G, nodes[s], weight="w")
        for x, d in ref.items():
            assert got[k, index[x]] == pytest.approx(d, rel=1e-12)
        assert np.isfinite(got[k]).sum() == len(ref)


def _road_grid(rows=40, cols=50, seed=0):
    """A SYNTHETIC road-like grid (jittered, three speed classes, missing links) as GraphArrays."""
    rng = np.random.default_rng(seed)
    ii, jj = np.divmod(np.arange(rows * cols), cols)
    lat = 49.0 + ii * 0.004 + rng.normal(0, 0.0005, rows * cols)
    lon = 0.0 + jj * 0.006 + rng.normal(0, 0.0008, rows * cols)
    idx = np.arange(rows * cols).reshape(rows, cols)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    line = np.r_[np.repeat(np.arange(rows), cols - 1), np.tile(np.arange(cols), rows - 1)]
    kph = np.where(line % 20 == 0, 110.0, np.where(line % 5 == 0, 70.0, 35.0))
    keep = (rng.random(len(u)) > 0.08) | (kph > 35)
    u, v, kph = u[keep], v[keep], kph[keep]
    sec = paths.haversine_m(lon[u], lat[u], lon[v], lat[v]) * 1.1 / (kph / 3.6)
    return paths.GraphArrays.from_edges(lon, lat, np.r_[u, v], np.r_[v, u], np.r_[sec, sec], mode="car")


def test_node_pairs_with_hierarchy_equal_the_kernel(monkeypatch, tmp_path):
    monkeypatch.setattr(contraction, "MIN_CORE", 20)  # contract most of this small grid
    monkeypatch.setenv("OBSERVATOIRE_CACHE", str(tmp_path))  # attach() saves the hierarchy there
    g = _road_grid()
    rng = np.random.default_rng(1)
    origins = rng.choice(g.snappable, 300)  # repeated nodes too
    dests = rng.choice(g.snappable, 40)
    limit = 900.0
    a0, b0, s0 = g.node_pairs(origins, dests, limit=limit)  # the one-to-all kernel
    assert contraction.attach(g, force=True)
    assert g.meta["hierarchy"].n_core < g.n_nodes
    assert len(list((tmp_path / "contraction").glob("*.npz"))) == 1  # cached for the next build
    a1, b1, s1 = g.node_pairs(origins, dests, limit=limit)
    ref = {(int(a), int(b)): s for a, b, s in zip(a0, b0, s0)}
    got = {(int(a), int(b)): s for a, b, s in zip(a1, b1, s1)}
    assert 0 < len(ref) < len(origins) * len(dests)  # the limit cuts some pairs
    assert got.keys() == ref.keys()
    # same seconds up to float64 rounding of sums taken in another order; stored minutes identical
    assert max(abs(got[k] - ref[k]) for k in ref) <= 1e-9
    assert all(np.float32(got[k] / 60) == np.float32(ref[k] / 60) for k in ref)


def test_door_to_door_with_hierarchy_equals_the_kernel(monkeypatch, tmp_path):
    monkeypatch.setattr(contraction, "MIN_CORE", 20)
    monkeypatch.setenv("OBSERVATOIRE_CACHE", str(tmp_path))
    g = _road_grid(seed=3)
    rng = np.random.default_rng(2)
    pts_o = np.column_stack([rng.uniform(0.0, 0.29, 120), rng.uniform(49.0, 49.16, 120)])
    pts_d = np.column_stack([rng.uniform(0.0, 0.29, 30), rng.uniform(49.0, 49.16, 30)])
    kw = dict(access_kph=5.0, detour=1.3, max_snap_m=400.0, max_minutes=12.0)
    before = paths.door_to_door(g, pts_o, pts_d, **kw)
    contraction.attach(g, force=True)
    after = paths.door_to_door(g, pts_o, pts_d, **kw)
    assert np.isfinite(before.minutes).sum() > 100
    np.testing.assert_array_equal(after.minutes.astype(np.float32), before.minutes.astype(np.float32))
    np.testing.assert_array_equal(after.is_estimate, before.is_estimate)


def test_cache_is_keyed_by_the_graph(tmp_path):
    g = _road_grid(rows=12, cols=15)
    h1, hit1 = contraction.cached_hierarchy(g.matrix, tmp_path)
    h2, hit2 = contraction.cached_hierarchy(g.matrix, tmp_path)
    assert (hit1, hit2) == (False, True)
    for name in ("rank", "fwd_indptr", "fwd_indices", "fwd_data", "bwd_indices", "bwd_data"):
        np.testing.assert_array_equal(getattr(h1, name), getattr(h2, name))
    other = g.matrix.copy()
    other.data[0] *= 2.0  # one edge slower: another network, another key
    assert contraction.graph_key(other) != contraction.graph_key(g.matrix)
    _, hit3 = contraction.cached_hierarchy(other, tmp_path)
    assert hit3 is False
    assert len(list(tmp_path.glob("*.npz"))) == 2
    # a damaged file is rebuilt, not trusted
    path = tmp_path / f"{contraction.graph_key(g.matrix)}.npz"
    path.write_bytes(b"not an npz")
    _, hit4 = contraction.cached_hierarchy(g.matrix, tmp_path)
    assert hit4 is False


def test_attach_policy(monkeypatch):
    g = _road_grid(rows=10, cols=10)
    assert not contraction.wants_hierarchy(g, "car")  # small graph: the kernel
    monkeypatch.setattr(contraction, "MIN_NODES", 50)
    assert contraction.wants_hierarchy(g, "car")
    assert not contraction.wants_hierarchy(g, "walk")
    g.meta["hierarchy"] = None  # explicitly disabled: attach leaves the kernel in charge
    assert contraction.attach(g, "car")
    assert g.meta["hierarchy"] is None


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="square"):
        Hierarchy.build(sparse.csr_matrix((2, 3)))
    with pytest.raises(ValueError, match="negative"):
        Hierarchy.build(sparse.csr_matrix(([-1.0], ([0], [1])), shape=(2, 2)))
    h = Hierarchy.build(sparse.csr_matrix(([1.0], ([0], [1])), shape=(2, 2)))
    with pytest.raises(ValueError, match="out of range"):
        h.pairs([0], [2])


def test_for_road_uses_the_hierarchy_for_the_car_only(monkeypatch, tmp_path):
    """The build's hook (TravelTimeMatrix.for_road): the car on a large graph gets a hierarchy,
    walking does not, and the car's minutes are the kernel's."""
    from analysis import traveltime

    monkeypatch.setattr(contraction, "MIN_NODES", 500)  # this grid counts as large
    monkeypatch.setattr(contraction, "MIN_CORE", 20)
    monkeypatch.setenv("OBSERVATOIRE_CACHE", str(tmp_path))
    monkeypatch.setenv("OBSERVATOIRE_HIERARCHY", "now")  # built in the build (not in the background)
    origins, dests = _points(4)
    cfg = traveltime.TravelTimeSettings(source_dir=None)
    kernel_g = _road_grid(seed=5)
    kernel_g.meta["hierarchy"] = None  # explicitly without: the one-to-all kernel
    before = traveltime.TravelTimeMatrix.for_road(kernel_g, "car", origins, dests, cfg)
    car_g = _road_grid(seed=5)
    after = traveltime.TravelTimeMatrix.for_road(car_g, "car", origins, dests, cfg)
    assert car_g.meta["hierarchy"] is not None
    assert np.isfinite(before.minutes).sum() > 500
    np.testing.assert_array_equal(after.minutes.astype(np.float32), before.minutes.astype(np.float32))
    np.testing.assert_array_equal(after.is_estimate, before.is_estimate)
    walk_g = _road_grid(seed=5)
    traveltime.TravelTimeMatrix.for_road(walk_g, "walk", origins, dests, cfg)
    assert "hierarchy" not in walk_g.meta


def _points(seed):
    """SYNTHETIC origins and offer locations over :func:`_road_grid`'s area."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    origins = pd.DataFrame(
        {
            "origin_kind": "commune",
            "origin_id": [f"O{i}" for i in range(80)],
            "lon": rng.uniform(0.0, 0.29, 80),
            "lat": rng.uniform(49.0, 49.16, 80),
        }
    )
    dests = pd.DataFrame(
        {"loc_id": np.arange(12), "lon": rng.uniform(0.0, 0.29, 12), "lat": rng.uniform(49.0, 49.16, 12)}
    )
    return origins, dests


def test_first_build_on_a_new_network_runs_the_kernel_and_schedules_the_hierarchy(monkeypatch, tmp_path):
    """A cache miss (default policy) leaves the build to the kernel and starts one background
    worker; once it has run, the next build reads the hierarchy, with the same minutes."""
    from analysis import traveltime
    from analysis.network import contraction_background, contraction_jobs

    monkeypatch.setattr(contraction, "MIN_NODES", 500)
    monkeypatch.setattr(contraction, "MIN_CORE", 20)
    monkeypatch.setenv("OBSERVATOIRE_CACHE", str(tmp_path))
    monkeypatch.delenv("OBSERVATOIRE_HIERARCHY", raising=False)
    spawned = []
    monkeypatch.setattr(contraction_jobs.subprocess, "Popen", lambda cmd, **kw: spawned.append((cmd, kw)))
    origins, dests = _points(4)
    cfg = traveltime.TravelTimeSettings(source_dir=None)
    kernel_g = _road_grid(seed=5)
    kernel_g.meta["hierarchy"] = None
    ref = traveltime.TravelTimeMatrix.for_road(kernel_g, "car", origins, dests, cfg)

    first_g = _road_grid(seed=5)
    first = traveltime.TravelTimeMatrix.for_road(first_g, "car", origins, dests, cfg)
    assert "hierarchy" not in first_g.meta  # this build: the kernel
    np.testing.assert_array_equal(first.minutes, ref.minutes)
    key = contraction.graph_key(first_g.matrix)
    cache = tmp_path / "contraction"
    assert [c[0][-3:] for c in spawned] == [
        ["-m", "analysis.network.contraction_background", str(cache / f"{key}.matrix.npz")]
    ]
    assert spawned[0][1]["start_new_session"] is True
    # the same network again before the worker started: no second worker
    traveltime.TravelTimeMatrix.for_road(_road_grid(seed=5), "car", origins, dests, cfg)
    assert len(spawned) == 1

    saved = contraction_background.build_from_file(cache / f"{key}.matrix.npz")  # what the worker runs
    assert saved == cache / f"{key}.npz"
    assert sorted(p.name for p in cache.iterdir()) == [f"{key}.npz"]  # matrix and pid files removed
    next_g = _road_grid(seed=5)
    after = traveltime.TravelTimeMatrix.for_road(next_g, "car", origins, dests, cfg)
    assert next_g.meta["hierarchy"] is not None and len(spawned) == 1
    assert np.isfinite(ref.minutes).sum() > 500
    np.testing.assert_array_equal(after.minutes.astype(np.float32), ref.minutes.astype(np.float32))
    np.testing.assert_array_equal(after.is_estimate, ref.is_estimate)


def test_attach_build_options(monkeypatch, tmp_path):
    monkeypatch.setattr(contraction, "MIN_NODES", 50)
    monkeypatch.setattr(contraction, "MIN_CORE", 20)
    monkeypatch.setenv("OBSERVATOIRE_CACHE", str(tmp_path))
    g = _road_grid(rows=12, cols=15)
    assert not contraction.attach(g, "car", build="off")
    assert "hierarchy" not in g.meta and not (tmp_path / "contraction").exists()  # nothing written
    monkeypatch.setenv("OBSERVATOIRE_HIERARCHY", "later")
    with pytest.raises(ValueError, match="OBSERVATOIRE_HIERARCHY"):
        contraction.attach(g, "car")
    monkeypatch.setenv("OBSERVATOIRE_HIERARCHY", "now")
    assert contraction.attach(g, "car")
    assert g.meta["hierarchy"].n_core == 20
    assert (tmp_path / "contraction" / f"{contraction.graph_key(g.matrix)}.npz").exists()


def test_background_worker_is_not_started_twice(tmp_path):
    import os
    import subprocess
    import sys

    from analysis.network import contraction_jobs as bg

    g = _road_grid(rows=8, cols=8)
    (tmp_path / "k.pid").write_text(str(os.getpid()))  # a live process holds the key
    assert bg.running(tmp_path, "k")
    assert bg.schedule(g.matrix, tmp_path, "k", spawn=False) is None
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / "k.pid").write_text(dead.stdout.strip())  # its process has ended
    assert not bg.running(tmp_path, "k")
    path = bg.schedule(g.matrix, tmp_path, "k", spawn=False)
    assert path == tmp_path / "k.matrix.npz"
    assert (bg.read_matrix(path) != g.matrix).nnz == 0
    assert bg.schedule(g.matrix, tmp_path, "k", spawn=False) is None  # just written: a worker is starting


def test_background_worker_process_writes_the_cache(tmp_path):
    """The real detached worker (``python -m analysis.network.contraction_background``) saves the
    hierarchy that the cache then serves, equal to one built in this process."""
    import time

    from analysis.network import contraction_jobs as bg

    g = _road_grid(rows=15, cols=20, seed=8)
    key = contraction.graph_key(g.matrix)
    assert bg.schedule(g.matrix, tmp_path, key) == tmp_path / f"{key}.matrix.npz"
    deadline = time.monotonic() + 240
    while (tmp_path / f"{key}.matrix.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    h, hit = contraction.cached_hierarchy(g.matrix, tmp_path)
    assert hit
    ref = Hierarchy.build(g.matrix)
    for name in ("rank", "fwd_indptr", "fwd_indices", "fwd_data", "bwd_indptr", "bwd_indices", "bwd_data"):
        np.testing.assert_array_equal(getattr(h, name), getattr(ref, name))
