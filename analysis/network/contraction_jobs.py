"""Hand a network's contraction hierarchy to a background worker (issue 15).

Why: on a regional car network the hierarchy's preprocessing costs more CPU than the car
matrix it speeds up (``docs/performance.md``, section 3b): it pays off from the *second* build
on the same network, never on the first. So on a cache miss :func:`analysis.network.contraction.attach`
leaves this build to the one-to-all kernel (same pairs, same stored minutes: tests) and calls
:func:`schedule`, which writes the graph's CSR arrays beside the cache and starts a detached,
low-priority worker process (``python -m analysis.network.contraction_background <file>``, the worker
itself) that builds the hierarchy and saves it under the graph's key: the next build reads it.
This module does not import :mod:`analysis.network.contraction` (the worker does), so no import loop.

One worker per graph key at a time (the worker's ``<key>.pid`` file, ignored once its process
is gone);
the matrix file is removed when the worker ends, whether it succeeded or not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parent.parent.parent
#: Niceness of the worker process (the build and the users come first).
NICE = 10
#: Seconds during which a fresh matrix file stands for a worker that has not written its pid yet.
STARTING_S = 120.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def running(directory: Path, key: str) -> bool:
    """Whether a worker for ``key`` is running (its pid file names a live process)."""
    try:
        pid = int((directory / f"{key}.pid").read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    return pid > 0 and _alive(pid)


def matrix_path(directory: Path, key: str) -> Path:
    """Where :func:`schedule` writes the graph for the worker."""
    return directory / f"{key}.matrix.npz"


def write_matrix(matrix, path: Path) -> Path:
    """Write a CSR matrix's arrays (atomic rename)."""
    m = sparse.csr_matrix(matrix)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, shape=np.asarray(m.shape, np.int64), indptr=m.indptr, indices=m.indices, data=m.data)
    os.replace(tmp, path)
    return path


def read_matrix(path: Path) -> sparse.csr_matrix:
    """The matrix written by :func:`write_matrix`."""
    with np.load(path, allow_pickle=False) as z:
        n, m = (int(x) for x in z["shape"])
        return sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=(n, m))


def schedule(matrix, directory: Path, key: str, spawn: bool = True) -> Path | None:
    """Have the hierarchy of ``matrix`` built in the background and saved as ``<key>.npz``.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        The graph (seconds), as given to :meth:`analysis.network.contraction.Hierarchy.build`.
    directory : pathlib.Path
        The hierarchy cache directory.
    key : str
        :func:`analysis.network.contraction.graph_key` of ``matrix``.
    spawn : bool
        Start the worker (False: only write the matrix file, for a caller that runs
        :func:`analysis.network.contraction_background.build_from_file` itself).

    Returns
    -------
    pathlib.Path or None
        The matrix file, or None when a worker is already on it or the directory is not writable.
    """
    if running(directory, key):
        return None
    pending = matrix_path(directory, key)
    if pending.exists() and time.time() - pending.stat().st_mtime < STARTING_S:
        return None  # a worker was just started for it
    try:
        path = write_matrix(matrix, pending)
        if spawn:
            subprocess.Popen(
                [sys.executable, "-m", "analysis.network.contraction_background", str(path)],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # outlives the build, not killed with its terminal
            )
    except OSError:
        return None
    return path
