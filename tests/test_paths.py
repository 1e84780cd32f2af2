"""Array shortest paths (analysis.network.paths) against hand-computed cases and networkx.

Every graph here is synthetic (built in the test) unless stated otherwise.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from synthetic_line import geod_m

from analysis.network import paths


def test_parallel_edges_keep_minimum_and_direction():
    # synthetic 3-node cycle: 0->1 twice (10 s and 5 s), 1->2 (7 s), 2->0 (1 s)
    g = paths.GraphArrays.from_edges([0.0, 0.01, 0.02], [49.0] * 3, [0, 0, 1, 2], [1, 1, 2, 0], [10, 5, 7, 1])
    t = g.node_times([0, 2], [2, 1, 0])
    np.testing.assert_allclose(t, [[12, 5, 0], [0, 6, 1]], atol=1e-9)
    # fewer targets than sources: runs on the transposed graph, same answer
    t2 = g.node_times([0, 1, 2], [1])
    np.testing.assert_allclose(t2[:, 0], [5, 0, 6], atol=1e-9)


def test_limit_gives_inf_beyond_cutoff():
    g = paths.GraphArrays.from_edges([0.0, 0.01, 0.02], [49.0] * 3, [0, 1, 1, 2], [1, 2, 0, 1], [10, 10, 10, 10])
    t = g.node_times([0], [0, 1, 2], limit=15)
    assert t[0, 0] == 0 and t[0, 1] == 10 and np.isinf(t[0, 2])


@pytest.mark.parametrize("n_src,n_dst", [(40, 7), (7, 40)])
def test_matches_networkx_on_random_digraph(n_src, n_dst):
    rng = np.random.default_rng(3)
    n = 300
    G = nx.gnm_random_graph(n, 1500, seed=5, directed=True)
    u = np.array([e[0] for e in G.edges])
    v = np.array([e[1] for e in G.edges])
    w = rng.uniform(1, 100, len(u))
    # add parallel edges with other weights (MultiDiGraph semantics: the lighter one counts)
    u2, v2, w2 = u[:200], v[:200], rng.uniform(1, 100, 200)
    M = nx.MultiDiGraph()
    M.add_weighted_edges_from(zip(u, v, w))
    M.add_weighted_edges_from(zip(u2, v2, w2))
    g = paths.GraphArrays.from_edges(
        rng.uniform(0, 1, n), rng.uniform(49, 50, n), np.r_[u, u2], np.r_[v, v2], np.r_[w, w2]
    )
    src = rng.choice(n, n_src, replace=False)
    dst = rng.choice(n, n_dst, replace=False)
    limit = 150.0
    # tiny chunks: 2 sources per Dijkstra call
    got = g.node_times(src, dst, limit=limit, chunk_bytes=2 * 8 * n)
    for i, s in enumerate(src):
        ref = nx.single_source_dijkstra_path_length(M, int(s), cutoff=limit, weight="weight")
        for j, d in enumerate(dst):
            if int(d) in ref:
                assert got[i, j] == pytest.approx(ref[int(d)], abs=1e-6)
            else:
                assert np.isinf(got[i, j])


def test_duplicate_points_share_nodes():
    g = paths.GraphArrays.from_edges([0.0, 0.01], [49.0, 49.0], [0, 1], [1, 0], [30, 40])
    t = g.node_times([0, 0, 1], [1, 1])
    np.testing.assert_allclose(t, [[30, 30], [30, 30], [0, 0]])


def test_snap_only_to_largest_strong_component():
    # synthetic: a 3-node two-way chain and, right next to the query point, an isolated pair
    lon = np.array([0.00, 0.01, 0.02, 0.05, 0.0501])
    lat = np.full(5, 49.0)
    g = paths.GraphArrays.from_edges(lon, lat, [0, 1, 1, 2, 3], [1, 0, 2, 1, 4], [1, 1, 1, 1, 1])
    nodes, dist = g.snap([0.0502], [49.0])
    assert nodes[0] == 2  # node 4 (closer) is in a 2-node, non-strongly-connected piece
    assert dist[0] == pytest.approx(geod_m((0.0502, 49.0), (0.02, 49.0)), rel=5e-3)


def _line_graph():
    """Synthetic: 3 nodes on the 49th parallel, two-way edges of 600 s each."""
    lon = np.array([0.0, 0.1, 0.2])
    lat = np.full(3, 49.0)
    return paths.GraphArrays.from_edges(lon, lat, [0, 1, 1, 2], [1, 0, 2, 1], [600, 600, 600, 600])


def test_door_to_door_access_legs_hand_computed():
    g = _line_graph()
    o = np.array([[0.0, 49.003]])  # ~333 m north of node 0
    d = np.array([[0.2, 48.998]])  # ~222 m south of node 2
    res = paths.door_to_door(g, o, d, access_kph=4.5, detour=1.3, max_snap_m=2500)
    acc_o = geod_m((0.0, 49.003), (0.0, 49.0)) * 1.3 / (4.5 / 3.6)
    acc_d = geod_m((0.2, 48.998), (0.2, 49.0)) * 1.3 / (4.5 / 3.6)
    expected_min = (acc_o + 1200 + acc_d) / 60
    assert res.minutes[0, 0] == pytest.approx(expected_min, rel=5e-3)
    assert not res.is_estimate[0, 0]
    # the access legs are not dropped: about 5.8 + 3.8 minutes on top of the 20 on the network
    assert res.minutes[0, 0] > 20 + 9


def test_far_point_is_flagged_straight_line_estimate():
    g = _line_graph()
    o = np.array([[0.1, 49.05]])  # ~5.6 km from the network
    d = np.array([[0.2, 49.0]])
    res = paths.door_to_door(g, o, d, access_kph=30, fallback_kph=40, detour=1.3, max_snap_m=2500)
    assert res.is_estimate[0, 0]
    expected = geod_m((0.1, 49.05), (0.2, 49.0)) * 1.3 / (40 / 3.6) / 60
    assert res.minutes[0, 0] == pytest.approx(expected, rel=5e-3)


def test_short_trip_goes_straight_not_via_network():
    g = _line_graph()
    # two points 100 m apart, both ~1 km from node 1: the network detour would be ~2.2 km
    o = np.array([[0.1, 49.009]])
    d = np.array([[0.1014, 49.009]])
    res = paths.door_to_door(g, o, d, access_kph=4.5, detour=1.3)
    expected = geod_m((0.1, 49.009), (0.1014, 49.009)) * 1.3 / (4.5 / 3.6) / 60
    assert res.minutes[0, 0] == pytest.approx(expected, rel=5e-3)
    assert not res.is_estimate[0, 0]
    # same commune centre as origin and destination: zero minutes
    z = paths.door_to_door(g, o, o, access_kph=4.5)
    assert z.minutes[0, 0] == 0.0


def test_max_minutes_cut():
    g = _line_graph()
    pts = np.array([[0.0, 49.0], [0.1, 49.0], [0.2, 49.0]])
    res = paths.door_to_door(g, pts, pts, access_kph=4.5, max_minutes=15)
    assert np.isfinite(res.minutes[0, 1]) and res.minutes[0, 1] == pytest.approx(10.0, abs=1e-6)
    assert np.isinf(res.minutes[0, 2])  # 20 min > 15


def test_haversine_against_pyproj():
    a, b = (-0.3707, 49.1829), (1.0993, 49.4431)
    assert paths.haversine_m(a[0], a[1], b[0], b[1]) == pytest.approx(geod_m(a, b), rel=4e-3)


def _detour_graph():
    """Synthetic U-shaped road: 0 -> 1 -> 2 -> 3, where 0 and 3 are 1.1 km apart but the road
    goes 11 km north and back (a ring road without the streets in between)."""
    lon = np.array([0.0, 0.0, 0.015, 0.015])
    lat = np.array([49.0, 49.05, 49.05, 49.0])
    secs = [4400, 4400, 880, 880, 4400, 4400]  # walking at 4.5 km/h: 5.5 km = 4400 s
    return paths.GraphArrays.from_edges(lon, lat, [0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2], secs)


def test_direct_cap_for_networks_without_streets():
    g = _detour_graph()
    o = np.array([[0.0, 49.0]])
    d = np.array([[0.015, 49.0]])
    network_only = paths.door_to_door(g, o, d, access_kph=4.5, detour=1.3)
    assert network_only.minutes[0, 0] == pytest.approx((4400 + 880 + 4400) / 60, rel=1e-6)
    assert not network_only.is_estimate[0, 0]
    capped = paths.door_to_door(g, o, d, access_kph=4.5, detour=1.3, direct_cap=True)
    expected = geod_m((0.0, 49.0), (0.015, 49.0)) * 1.3 / (4.5 / 3.6) / 60
    assert capped.minutes[0, 0] == pytest.approx(expected, rel=5e-3)
    assert capped.is_estimate[0, 0]  # the cap is a straight-line estimate, flagged
    # a pair where the network is faster than the straight line keeps the network time, unflagged
    far = paths.door_to_door(
        g, np.array([[0.0, 49.0]]), np.array([[0.0, 49.05]]), access_kph=4.5, detour=1.3, direct_cap=True
    )
    assert far.minutes[0, 0] == pytest.approx(4400 / 60, rel=1e-6)
    assert not far.is_estimate[0, 0]


# ------------------------------------------------------------------ bounded Dijkstra kernel


def test_bounded_kernel_limit_is_inclusive_hand_computed():
    from scipy import sparse

    from analysis.network.dijkstra import bounded_dijkstra

    # synthetic chain 0 -> 1 -> 2 -> 3 of 5 s each; limit exactly 10 s keeps node 2, not 3
    m = sparse.csr_matrix(([5.0, 5.0, 5.0], ([0, 1, 2], [1, 2, 3])), shape=(4, 4))
    src, node, sec = bounded_dijkstra(m, [0], [1, 2, 3], limit=10.0)
    assert list(zip(src, node, sec)) == [(0, 1, 5.0), (0, 2, 10.0)]
    # unwanted nodes are searched through but not returned; a source reaches itself at 0
    src, node, sec = bounded_dijkstra(m, [1, 0], np.array([True, False, False, True]))
    assert sorted(zip(src.tolist(), node.tolist(), sec.tolist())) == [(0, 3, 10.0), (1, 0, 0.0), (1, 3, 15.0)]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("limit", [40.0, 120.0, np.inf])
def test_bounded_kernel_equals_scipy_csgraph(seed, limit):
    """The numba kernel against scipy.sparse.csgraph.dijkstra (an independent implementation)."""
    from scipy import sparse
    from scipy.sparse import csgraph

    from analysis.network.dijkstra import bounded_dijkstra

    rng = np.random.default_rng(seed)
    n = 400
    u, v = rng.integers(0, n, 2400), rng.integers(0, n, 2400)
    keep = u != v
    w = rng.uniform(1, 60, keep.sum()).round(1)  # rounded: many equal-length ties
    m = sparse.coo_matrix((w, (u[keep], v[keep])), shape=(n, n)).tocsr()  # duplicates summed
    m.sum_duplicates()
    sources = rng.choice(n, 25, replace=False)
    wanted = rng.choice(n, 60, replace=False)
    src, node, sec = bounded_dijkstra(m, sources, wanted, limit=limit, max_pairs=100)  # several chunks
    got = np.full((len(sources), n), np.inf)
    got[src, node] = sec
    ref = csgraph.dijkstra(m, directed=True, indices=sources, limit=limit)
    np.testing.assert_allclose(got[:, wanted], ref[:, wanted], rtol=1e-12)
    # nothing returned outside the wanted nodes, each pair once
    assert set(node.tolist()) <= set(wanted.tolist())
    assert len(set(zip(src.tolist(), node.tolist()))) == len(src)


# ------------------------------------------------------------------ kernel heap and layout (issue 15)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 17, 1000])
def test_kernel_heap_pops_in_sorted_order(n):
    """The 4-ary heap alone: every pushed key comes back once, in increasing order (np.sort is
    the oracle), ties included, and each with its own node."""
    from analysis.network.dijkstra import heap_sort

    rng = np.random.default_rng(n)
    keys = rng.integers(0, max(n // 3, 1), n).astype(float)  # many ties
    got_keys, got_nodes = heap_sort(keys)
    np.testing.assert_array_equal(got_keys, np.sort(keys))
    assert sorted(got_nodes.tolist()) == list(range(n))
    np.testing.assert_array_equal(keys[got_nodes], got_keys)


def test_spatial_order_is_the_z_curve_hand_computed():
    from analysis.network.dijkstra import spatial_order

    # 2 x 2 grid: Z-order visits (0,0), (1,0), (0,1), (1,1) (x bits at even positions)
    x = np.array([1.0, 0.0, 1.0, 0.0])
    y = np.array([1.0, 1.0, 0.0, 0.0])
    assert spatial_order(x, y).tolist() == [3, 2, 1, 0]
    assert spatial_order([], []).tolist() == []
    assert spatial_order([5.0, 5.0], [2.0, 2.0]).tolist() == [0, 1]  # no extent: stable


@pytest.mark.parametrize("seed", [0, 1])
def test_prepared_spatial_layout_equals_scipy(seed):
    """Renumbered nodes (spatial layout) give the same seconds in the original numbering."""
    from scipy import sparse
    from scipy.sparse import csgraph

    from analysis.network.dijkstra import KernelGraph, bounded_dijkstra, prepare

    rng = np.random.default_rng(seed)
    n = 300
    u, v = rng.integers(0, n, 1500), rng.integers(0, n, 1500)
    keep = u != v
    m = sparse.coo_matrix((rng.uniform(1, 60, keep.sum()).round(1), (u[keep], v[keep])), shape=(n, n)).tocsr()
    m.sum_duplicates()
    g = prepare(m, rng.uniform(0, 1, n), rng.uniform(0, 1, n))
    assert g.order is not None and sorted(g.order.tolist()) == list(range(n))
    sources = rng.choice(n, 30, replace=False)
    wanted = rng.choice(n, 80, replace=False)
    src, node, sec = bounded_dijkstra(g, sources, wanted, limit=90.0, max_pairs=200, workers=2)
    got = np.full((len(sources), n), np.inf)
    got[src, node] = sec
    ref = csgraph.dijkstra(m, directed=True, indices=sources, limit=90.0)
    np.testing.assert_allclose(got[:, wanted], ref[:, wanted], rtol=1e-12)
    assert len(set(zip(src.tolist(), node.tolist()))) == len(src)
    with pytest.raises(ValueError, match="permutation"):
        KernelGraph.from_matrix(m, order=np.zeros(n, dtype=int))
    with pytest.raises(ValueError, match="negative"):
        KernelGraph.from_matrix(sparse.csr_matrix(([-1.0], ([0], [1])), shape=(2, 2)))
