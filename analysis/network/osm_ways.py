"""The ``highway`` ways of an OpenStreetMap file read with osmium, as flat arrays, and cut into edges.

Shared by the networkx reader (:func:`analysis.network.roads_osm.graph_from_osm_pbf`) and the array-native
reader (:mod:`analysis.network.roads_pbf`): :func:`read_ways` reads the ways once with
:class:`osmium.FileProcessor` (node location cache, way coordinates as WKB from
:class:`osmium.geom.WKBFactory`, tags as category codes), :func:`split_ways` cuts them at the
nodes a graph keeps (way ends and nodes referenced more than once: OSMnx's simplified topology).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import DataError
from analysis.network.geodesy import haversine_m

#: Tags of a way the array reader needs.
MODE_TAGS: tuple[str, ...] = ("highway", "maxspeed", "access", "oneway", "junction")
_WKB_HEADER = 9  # byte order (1) + geometry type (4) + number of points (4)


def import_osmium(path: str | os.PathLike):
    """The ``osmium`` module, or a :class:`DataError` naming ``path`` and how to do without it."""
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - install problem
        raise DataError(
            str(path),
            "lecture impossible sans le paquet « osmium » (pip install osmium), ou convertissez "
            "le fichier en XML : « osmium cat fichier.osm.pbf -o fichier.osm » (paquet Debian "
            "osmium-tool) puis utilisez le .osm",
        ) from exc
    return osmium


@dataclass
class WayTable:
    """The ``highway`` ways of an OSM file as flat arrays.

    Attributes
    ----------
    way_id : numpy.ndarray
        OSM way ids, shape (w,).
    lens : numpy.ndarray
        Number of node references of each way, shape (w,).
    ref, lon, lat : numpy.ndarray
        The ways' node references and their coordinates, concatenated way after way, shape (r,).
    codes : dict of str to numpy.ndarray
        For each tag key, the code of each way's value, shape (w,).
    values : dict of str to list
        For each tag key, the value of each code (``None``: tag absent).
    skipped : int
        Ways left out because a node is missing from the file (extract boundary).
    """

    way_id: np.ndarray
    lens: np.ndarray
    ref: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    codes: dict[str, np.ndarray]
    values: dict[str, list]
    skipped: int = 0

    def tag(self, key: str) -> np.ndarray:
        """Each way's value of ``key`` (object array, ``None`` where absent)."""
        return np.array(self.values[key], dtype=object)[self.codes[key]]


class _Categories:
    """Codes of the distinct values of one tag, assigned in order of appearance."""

    def __init__(self):
        self.index: dict[str | None, int] = {}
        self.codes = array("i")

    def add(self, value: str | None) -> None:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.index)
        self.codes.append(code)

    def values(self) -> list:
        return list(self.index)


def read_ways(path: str | os.PathLike, keys: Sequence[str] = MODE_TAGS) -> WayTable:
    """Read the ``highway`` ways of an OSM file with osmium (PBF, XML, compressed XML).

    Ways with fewer than two node references are ignored; ways with a node missing from the file
    are skipped and counted. Node coordinates come from osmium's node location cache
    (``FileProcessor.with_locations``) through :class:`osmium.geom.WKBFactory` (all nodes, in
    way order), so no coordinate crosses Python one by one.

    Parameters
    ----------
    path : path-like
        Any file osmium reads.
    keys : sequence of str
        Tags to keep (``highway`` always first in :data:`MODE_TAGS`).

    Returns
    -------
    WayTable

    Raises
    ------
    DataError
        Missing or unreadable file, or no usable ``highway`` way.
    """
    path = Path(path)
    osmium = import_osmium(path)
    if not path.exists():
        raise DataError(str(path), "fichier OpenStreetMap introuvable")
    cats = {k: _Categories() for k in keys}
    way_ids, lens, refs = array("q"), array("q"), array("q")
    wkb = bytearray()
    factory = osmium.geom.WKBFactory()
    all_nodes = osmium.geom.ALL
    skipped = 0
    try:
        proc = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in proc:
            nodes = way.nodes
            if len(nodes) < 2:
                continue
            try:
                line = factory.create_linestring(nodes, use_nodes=all_nodes)
            except osmium.InvalidLocationError:
                skipped += 1  # a way whose nodes are outside the extract
                continue
            wkb += bytes.fromhex(line[2 * _WKB_HEADER :])  # the points only: (lon, lat) little-endian doubles
            refs.extend([n.ref for n in nodes])
            lens.append(len(nodes))
            way_ids.append(way.id)
            tags = way.tags
            for k, c in cats.items():
                c.add(tags.get(k))
    except RuntimeError as exc:
        raise DataError(str(path), f"fichier OpenStreetMap illisible : {exc}") from exc
    if not way_ids:
        raise DataError(str(path), "aucune voie « highway » dans le fichier")
    coords = np.frombuffer(wkb, dtype="<f8").reshape(-1, 2)
    lon, lat = coords[:, 0].astype(np.float64), coords[:, 1].astype(np.float64)  # contiguous copies
    del coords, wkb
    return WayTable(  # views of the arrays filled above, no copies
        way_id=np.frombuffer(way_ids, dtype=np.int64),
        lens=np.frombuffer(lens, dtype=np.int64),
        ref=np.frombuffer(refs, dtype=np.int64),
        lon=lon,
        lat=lat,
        codes={k: np.frombuffer(c.codes, dtype=np.int32) for k, c in cats.items()},
        values={k: c.values() for k, c in cats.items()},
        skipped=skipped,
    )


@dataclass
class Segments:
    """Ways cut at the nodes the graph keeps, as :func:`split_ways` returns them.

    Attributes
    ----------
    node_id : numpy.ndarray
        OSM ids of the graph's nodes, in order of first appearance in the file's ways.
    lon, lat : numpy.ndarray
        Their coordinates.
    u, v : numpy.ndarray
        Node indices of each segment's first and last node (way order).
    way : numpy.ndarray
        Index of the way (in the :class:`WayTable`) each segment follows.
    length : numpy.ndarray
        Great-circle length of each segment (metres).
    """

    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    way: np.ndarray
    length: np.ndarray


def split_ways(ways: WayTable) -> Segments:
    """Cut ways at their ends and at every node referenced more than once (OSMnx's topology).

    Segment lengths are differences of one running sum of the segments' haversine lengths over
    the whole file, as :func:`analysis.network.roads_osm.graph_from_osm_pbf` has always computed them.
    """
    ref, lens = ways.ref, ways.lens
    way = np.repeat(np.arange(len(lens), dtype=np.int32 if len(lens) < 2**31 else np.int64), lens)
    start = np.cumsum(lens) - lens
    end = start + lens - 1
    inv = pd.factorize(ref)[0]  # hash-based: codes in order of first appearance, no sort
    split = np.bincount(inv)[inv] > 1
    split[start] = True
    split[end] = True
    seg = np.zeros(len(ref))
    lon, lat, step = ways.lon, ways.lat, 1 << 20
    for i in range(1, len(ref), step):  # by chunks: bounded temporaries, the same values
        j = min(i + step, len(ref))
        seg[i:j] = haversine_m(lon[i - 1 : j - 1], lat[i - 1 : j - 1], lon[i:j], lat[i:j])
    seg[start] = 0.0  # no segment across two ways
    cum = np.cumsum(seg)
    del seg
    pos = np.flatnonzero(split)
    same_way = way[pos[:-1]] == way[pos[1:]]
    a, b = pos[:-1][same_way], pos[1:][same_way]
    # graph nodes: ids at split positions, in order of first appearance (= their code order, and
    # every position of a node used twice is a split position)
    first_seen = np.flatnonzero(np.r_[True, inv[1:] > np.maximum.accumulate(inv)[:-1]])
    kept = np.zeros(len(first_seen), dtype=bool)
    kept[inv[pos]] = True
    node_of = np.where(kept, np.cumsum(kept) - 1, -1)
    at = first_seen[kept]
    return Segments(
        node_id=ref[at],
        lon=ways.lon[at],
        lat=ways.lat[at],
        u=node_of[inv[a]],
        v=node_of[inv[b]],
        way=way[a],
        length=np.maximum(cum[b] - cum[a], 0.0),
    )
