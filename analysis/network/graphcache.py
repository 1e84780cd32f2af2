"""On-disk cache of the road graphs in array form, keyed by the network file's content.

Loading the regional road network (GeoPackage or OSM file -> OSMnx graph -> per-mode
:class:`analysis.network.paths.GraphArrays`) costs seconds; an import of a few offers needs the arrays
only. The build saves each mode's arrays (node coordinates and the CSR matrix of seconds) to
``<cache>/graphs/<key>.npz``, where the key hashes the network file's bytes (SHA-256), the mode,
the speeds and a fingerprint of the code that reads a graph and turns it into arrays
(:data:`CODE_FILES`: ``analysis/network/roads.py``, its readers ``roads_osm.py`` and ``roads_layers.py``,
and ``analysis/network/paths.py``): a changed file, speed or conversion code gives a new key, never a
stale graph. The cache directory is ``$OBSERVATOIRE_CACHE`` or ``data/cache`` beside the
default database (git-ignored). Nothing here is required: a missing or unreadable cache
entry only means the graph is loaded the slow way.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from scipy import sparse

from analysis import catalogue, config, settings
from analysis.network import paths

#: Environment variable naming the cache directory.
ENV_CACHE = "OBSERVATOIRE_CACHE"
_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def cache_dir() -> Path:
    """Directory of cached graphs (created on first save)."""
    root = settings.current().cache
    return (Path(root) if root else config.default_db_path().parent / "cache") / "graphs"


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (memoised per path, size and modification time)."""
    st = os.stat(path)
    memo = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if memo not in _FILE_HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _FILE_HASHES[memo] = h.hexdigest()
    return _FILE_HASHES[memo]


#: Modules of analysis/ whose code shapes the cached arrays (graph readers, mode edges, arrays).
CODE_FILES: tuple[str, ...] = ("roads.py", "roads_osm.py", "osm_ways.py", "roads_pbf.py", "roads_layers.py", "paths.py")


def code_fingerprint() -> str:
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in CODE_FILES:
        h.update((here / name).read_bytes())
    for mode in catalogue.ROAD_MODES:  # the catalogue's road-mode parameters shape the arrays too
        info = catalogue.MODE_INFO[mode]
        h.update(
            repr((mode, sorted(info.closed_highway), info.both_ways, info.edge_speeds, info.access_speed)).encode()
        )
    return h.hexdigest()[:16]


def key(network: str | os.PathLike, mode: str, speeds: dict | None) -> str:
    """Cache key of one mode's arrays of one network file."""
    parts = {"file": file_sha256(network), "mode": mode, "speeds": speeds or {}, "code": code_fingerprint()}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def save(network, mode: str, speeds: dict | None, arrays: paths.GraphArrays) -> Path | None:
    """Write one mode's arrays to the cache (atomic rename); None when the cache is not writable."""
    try:
        target = cache_dir() / f"{key(network, mode, speeds)}.npz"
        target.parent.mkdir(parents=True, exist_ok=True)
        m = arrays.matrix.tocsr()
        tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(
                f,
                lon=arrays.lon,
                lat=arrays.lat,
                indptr=m.indptr,
                indices=m.indices,
                data=m.data,
                meta=np.array(
                    json.dumps(
                        {
                            "mode": arrays.meta.get("mode"),
                            "source": arrays.meta.get("source"),
                            "precision": arrays.meta.get("precision"),
                        }
                    )
                ),
            )
        os.replace(tmp, target)
        return target
    except OSError:
        return None


def load(network, mode: str, speeds: dict | None) -> paths.GraphArrays | None:
    """One mode's arrays from the cache, or None (absent, unreadable, or no file to key on)."""
    try:
        target = cache_dir() / f"{key(network, mode, speeds)}.npz"
        if not target.exists():
            return None
        with np.load(target, allow_pickle=False) as z:
            n = len(z["lon"])
            mat = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(n, n))
            meta = json.loads(str(z["meta"]))
            return paths.GraphArrays(z["lon"], z["lat"], mat, None, meta)
    except (OSError, ValueError, KeyError):
        return None
