"""The array-native OSM reader (analysis.network.roads_pbf) against the networkx path and hand-made cases.

The oracle is the path the build used before: ``graph_from_osm_pbf`` (networkx graph, car speeds
by ``osmnx.add_edge_speeds``) then ``GraphArrays.from_graph(G, mode)`` (mode filters of
``roads.mode_edge_table``). Real data: the Rouen 2013 extract of the mirror, converted to PBF in
a temporary folder. Files written here with osmium's SimpleWriter are SYNTHETIC and named so.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import traveltime
from analysis.errors import DataError
from analysis.network import graphcache, paths, roads, roads_pbf
from analysis.traveltime.settings import TravelTimeSettings

osmium = pytest.importorskip("osmium")

ROUEN = "osm/rouen_centre_2013/rouen_centre_2013.osm.bz2"
MODES = ("walk", "bike", "car")


def assert_same_arrays(new: paths.GraphArrays, old: paths.GraphArrays) -> None:
    """Same nodes (coordinates, order), same edges, same seconds to 1e-9."""
    np.testing.assert_array_equal(new.lon, old.lon)
    np.testing.assert_array_equal(new.lat, old.lat)
    np.testing.assert_array_equal(new.node_ids.astype(np.int64), old.node_ids.astype(np.int64))
    np.testing.assert_array_equal(new.matrix.indptr, old.matrix.indptr)
    np.testing.assert_array_equal(new.matrix.indices, old.matrix.indices)
    np.testing.assert_allclose(new.matrix.data, old.matrix.data, rtol=0, atol=1e-9)
    assert new.meta["source"] == old.meta["source"] and new.meta["precision"] == old.meta["precision"]
    np.testing.assert_array_equal(new.snappable, old.snappable)


@pytest.fixture(scope="module")
def rouen_pbf(source_dir, tmp_path_factory):
    """The real Rouen extract (2013, ODbL), converted to PBF here with osmium (same objects)."""
    pbf = tmp_path_factory.mktemp("pbf") / "rouen_centre_2013.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        for obj in osmium.FileProcessor(str(source_dir / ROUEN)):
            w.add(obj)
    return pbf


@pytest.mark.parametrize("mode", MODES)
def test_rouen_arrays_equal_networkx_path(rouen_pbf, mode):
    G = roads.graph_from_osm_pbf(rouen_pbf)
    old = paths.GraphArrays.from_graph(G, mode)
    net = roads_pbf.read_network(rouen_pbf)
    new = net.mode_arrays(mode)
    assert_same_arrays(new, old)
    assert new.n_nodes == len(G) == 801 and new.matrix.nnz > 500
    # the real extract has what the semantics are about: one-way streets, maxspeed tags, closed ways
    assert net.oneway.any() and not net.oneway.all()
    assert {"pedestrian", "footway", "primary", "residential"} <= set(net.highway_values)


@pytest.mark.parametrize("mode", MODES)
def test_rouen_pbf_and_xml_give_the_same_arrays(source_dir, rouen_pbf, mode):
    """osmium reads the mirror's compressed XML too: same network as its PBF copy."""
    a = roads_pbf.read_network(rouen_pbf).mode_arrays(mode)
    b = roads_pbf.read_network(source_dir / ROUEN).mode_arrays(mode)
    np.testing.assert_array_equal(a.matrix.indices, b.matrix.indices)
    np.testing.assert_array_equal(a.matrix.data, b.matrix.data)
    np.testing.assert_array_equal(a.lon, b.lon)


def test_rouen_nodes_contain_osmnx_xml_nodes_by_coordinates(source_dir, rouen_pbf):
    """Independent reader: every node OSMnx keeps from the XML is a node here, at its coordinates."""
    xml = roads.load_road_graph(source_dir / ROUEN)
    net = roads_pbf.read_network(rouen_pbf)
    index = {int(n): i for i, n in enumerate(net.node_id)}
    ids = list(xml.nodes)
    assert len(ids) > 600 and all(int(n) in index for n in ids)
    at = np.array([index[int(n)] for n in ids])
    np.testing.assert_allclose(net.lon[at], [xml.nodes[n]["x"] for n in ids], rtol=0, atol=1e-9)
    np.testing.assert_allclose(net.lat[at], [xml.nodes[n]["y"] for n in ids], rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- hand-made files (SYNTHETIC)

# nodes on the equator (lon, lat in degrees); 0.001 degree of longitude there is
# 2 * pi * 6371008.8 / 360 / 1000 = 111.195 m (geodesy.EARTH_RADIUS_M)
M_PER_MDEG = 2 * math.pi * 6_371_008.8 / 360 / 1000
NODES = {1: (0.000, 0.0), 2: (0.001, 0.0), 3: (0.002, 0.0), 4: (0.001, 0.001), 5: (0.003, 0.0), 6: (0.004, 0.0)}
WAYS = [
    (10, [1, 2, 3], {"highway": "residential"}),  # two-way, cut at node 2 (shared with way 11)
    (11, [2, 4], {"highway": "footway"}),  # closed to cars and bikes
    (12, [3, 5], {"highway": "residential", "oneway": "yes", "maxspeed": "20"}),
    (13, [6, 5], {"highway": "busway", "oneway": "-1", "maxspeed": "50"}),  # drawn 6->5, open 5->6
    (14, [5, 6], {"highway": "busway"}),  # no maxspeed: mean of the busway edges' maxspeed (50)
    (15, [1, 4], {"highway": "service", "access": "private"}),  # closed to every mode
    (16, [4, 99], {"highway": "residential"}),  # node 99 missing: way skipped
    (17, [1], {"highway": "residential"}),  # a single node: ignored
]


def write_pbf(path, nodes=NODES, ways=WAYS):
    with osmium.SimpleWriter(str(path), overwrite=True) as w:
        for nid, loc in nodes.items():
            w.add_node(osmium.osm.mutable.Node(id=nid, location=loc))
        for wid, refs, tags in ways:
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags))
    return path


@pytest.fixture
def hand_pbf(tmp_path):
    return write_pbf(tmp_path / "synthetic_hand.osm.pbf")


def edges_of(arrays: paths.GraphArrays) -> dict[tuple[int, int], float]:
    ids = arrays.node_ids
    coo = arrays.matrix.tocoo()
    return {(int(ids[i]), int(ids[j])): float(s) for i, j, s in zip(coo.row, coo.col, coo.data)}


def test_hand_made_network_edges_by_mode(hand_pbf):
    net = roads_pbf.read_network(hand_pbf)
    assert net.node_id.tolist() == [1, 2, 3, 4, 5, 6]  # way ends and shared nodes, first seen first
    assert net.skipped_ways == 1
    m = M_PER_MDEG
    walk = edges_of(net.mode_arrays("walk"))
    v_walk = 4.5 / 3.6
    expected_walk = {(1, 2): m, (2, 3): m, (2, 4): m, (3, 5): m, (5, 6): m}
    expected_walk |= {(b, a): d for (a, b), d in expected_walk.items()}  # walking ignores one-way
    assert walk.keys() == expected_walk.keys()
    for e, d in expected_walk.items():
        assert walk[e] == pytest.approx(d / v_walk, rel=1e-6), e
    bike = edges_of(net.mode_arrays("bike", {"bike": 18.0}))
    assert bike.keys() == {(1, 2), (2, 1), (2, 3), (3, 2), (3, 5), (5, 6), (6, 5)}
    assert bike[(3, 5)] == pytest.approx(m / 5.0, rel=1e-6)  # 18 km/h = 5 m/s
    car = edges_of(net.mode_arrays("car"))
    assert car.keys() == {(1, 2), (2, 1), (2, 3), (3, 2), (3, 5), (5, 6), (6, 5)}
    assert car[(1, 2)] == pytest.approx(m / (30 / 3.6), rel=1e-6)  # residential, CAR_HWY_SPEEDS
    assert car[(3, 5)] == pytest.approx(m / (20 / 3.6), rel=1e-6)  # maxspeed 20
    # 5 -> 6: way 13 reversed (maxspeed 50) and way 14 (busway, no maxspeed -> mean 50): same time
    assert car[(5, 6)] == pytest.approx(m / (50 / 3.6), rel=1e-6)
    assert car[(6, 5)] == pytest.approx(m / (50 / 3.6), rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_hand_made_network_equals_networkx_path(hand_pbf, mode):
    old = paths.GraphArrays.from_graph(roads.graph_from_osm_pbf(hand_pbf), mode)
    assert_same_arrays(roads_pbf.read_network(hand_pbf).mode_arrays(mode), old)


def test_roundabouts_and_oneway_no(tmp_path):
    nodes = {1: (0.0, 0.0), 2: (0.001, 0.0), 3: (0.001, 0.001), 4: (0.002, 0.0)}
    ways = [
        (1, [1, 2, 3, 1], {"highway": "primary", "junction": "roundabout"}),
        (2, [2, 4], {"highway": "primary", "junction": "roundabout", "oneway": "no"}),
    ]
    pbf = write_pbf(tmp_path / "synthetic_roundabout.osm.pbf", nodes, ways)
    net = roads_pbf.read_network(pbf)
    car = edges_of(net.mode_arrays("car"))
    assert car.keys() == {(1, 2), (2, 1), (2, 4), (4, 2)}  # way 1 cut at node 2: 1->2, 2->1 (via 3)
    for mode in MODES:
        old = paths.GraphArrays.from_graph(roads.graph_from_osm_pbf(pbf), mode)
        assert_same_arrays(net.mode_arrays(mode), old)


def test_zero_maxspeed_closes_the_edge_to_cars(tmp_path):
    """Deliberate difference: the networkx path divides by a 0 km/h speed and fails."""
    nodes = {1: (0.0, 0.0), 2: (0.001, 0.0), 3: (0.002, 0.0)}
    ways = [(1, [1, 2], {"highway": "residential", "maxspeed": "0"}), (2, [2, 3], {"highway": "residential"})]
    pbf = write_pbf(tmp_path / "synthetic_zero_speed.osm.pbf", nodes, ways)
    with pytest.raises(ZeroDivisionError):
        roads.graph_from_osm_pbf(pbf)
    net = roads_pbf.read_network(pbf)
    assert edges_of(net.mode_arrays("car")).keys() == {(2, 3), (3, 2)}
    assert len(edges_of(net.mode_arrays("walk"))) == 4


def test_maxspeed_values_read_as_osmnx_does():
    got = roads_pbf.maxspeed_kph(["50", "50 mph", "30|50", "FR:urban", "FR:zone30", "13,5", "fast", None])
    want = [50.0, 50 * 1.60934, 40.0, 50.0, 30.0, 13.5, np.nan, np.nan]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_car_speed_rule_on_arrays():
    # classes: 0 residential (in the table), 1 busway (two maxspeeds: 30, 60), 2 pedestrian (none)
    highway = np.array([0, 0, 1, 1, 1, 2])
    maxspeed = np.array([np.nan, 70.0, 30.0, 60.0, np.nan, np.nan])
    got = roads_pbf.car_speeds(highway, maxspeed, ["residential", "busway", "pedestrian"], {"residential": 30.0}, 25.0)
    np.testing.assert_allclose(got, [30.0, 70.0, 30.0, 60.0, 45.0, 25.0])


def test_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="introuvable"):
        roads_pbf.read_network(tmp_path / "absent.osm.pbf")
    bad = tmp_path / "synthetic_broken.osm.pbf"
    bad.write_bytes(b"not a pbf at all")
    with pytest.raises(DataError) as exc:
        roads_pbf.read_network(bad)
    assert "synthetic_broken.osm.pbf" in str(exc.value)
    empty = write_pbf(tmp_path / "synthetic_no_highway.osm.pbf", NODES, [(1, [1, 2], {"building": "yes"})])
    with pytest.raises(DataError, match="highway"):
        roads_pbf.read_network(empty)


def test_build_reads_a_pbf_without_networkx(hand_pbf, monkeypatch, tmp_path):
    """RoadNetworks (the build's loader) takes a .osm.pbf network straight to arrays, once per file."""
    monkeypatch.setenv(graphcache.ENV_CACHE, str(tmp_path / "cache"))
    expected = {m: paths.GraphArrays.from_graph(roads.graph_from_osm_pbf(hand_pbf), m) for m in MODES}
    calls = []
    real = roads_pbf.read_network
    monkeypatch.setattr(roads_pbf, "read_network", lambda p: calls.append(p) or real(p))

    def no_graph(*args, **kwargs):
        raise AssertionError("networkx reader used")

    monkeypatch.setattr(roads, "graph_from_osm_pbf", no_graph)
    monkeypatch.setattr(roads, "load_road_graph", no_graph)
    nets = traveltime.RoadNetworks(TravelTimeSettings(road_network=hand_pbf, modes=MODES))
    for mode in MODES:
        assert_same_arrays(nets.arrays(mode), expected[mode])
        cached = graphcache.load(hand_pbf, mode, nets.settings.speeds())
        np.testing.assert_array_equal(cached.matrix.data, expected[mode].matrix.data)
        assert (hand_pbf in nets._osm) == (mode != "car")  # the edge list is freed after the last mode
    assert calls == [hand_pbf]
    assert nets.arrays("walk") is nets.arrays("walk")  # converted once


def test_class_speed_is_the_mean_over_directed_edges(tmp_path):
    """A class outside CAR_HWY_SPEEDS drives at the mean maxspeed of its edges, as
    osmnx.add_edge_speeds computes it on the graph: a two-way way counts twice."""
    nodes = {1: (0.0, 0.0), 2: (0.001, 0.0), 3: (0.002, 0.0), 4: (0.003, 0.0)}
    ways = [
        (1, [1, 2], {"highway": "busway", "maxspeed": "30"}),  # two edges at 30
        (2, [2, 3], {"highway": "busway", "maxspeed": "60", "oneway": "yes"}),  # one edge at 60
        (3, [3, 4], {"highway": "busway"}),  # (30 + 30 + 60) / 3 = 40 km/h, not (30 + 60) / 2
    ]
    pbf = write_pbf(tmp_path / "synthetic_busway.osm.pbf", nodes, ways)
    car = edges_of(roads_pbf.read_network(pbf).mode_arrays("car"))
    assert car[(3, 4)] == pytest.approx(M_PER_MDEG / (40 / 3.6), rel=1e-6)
    old = paths.GraphArrays.from_graph(roads.graph_from_osm_pbf(pbf), "car")
    assert_same_arrays(roads_pbf.read_network(pbf).mode_arrays("car"), old)


def test_incremental_road_arrays_read_a_pbf_without_networkx(hand_pbf, monkeypatch, tmp_path):
    """An import's incremental recompute with an empty graph cache reads a .osm.pbf network with
    the array reader too (it went through networkx before), and caches what it read."""
    from analysis.incremental import times as incremental

    monkeypatch.setenv(graphcache.ENV_CACHE, str(tmp_path / "cache"))
    expected = {m: paths.GraphArrays.from_graph(roads.graph_from_osm_pbf(hand_pbf), m) for m in MODES}

    def no_graph(*args, **kwargs):
        raise AssertionError("networkx reader used")

    monkeypatch.setattr(roads, "graph_from_osm_pbf", no_graph)
    monkeypatch.setattr(roads, "load_road_graph", no_graph)
    cfg = TravelTimeSettings(road_network=hand_pbf, modes=MODES)
    for mode in MODES:
        assert_same_arrays(incremental.road_arrays(cfg, mode), expected[mode])
        assert graphcache.load(hand_pbf, mode, cfg.speeds()) is not None
