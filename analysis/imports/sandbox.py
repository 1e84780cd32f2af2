"""Checks of untrusted files in a separate process bounded in memory and time.

The anonymous simulation of an import (page « Import », no secret) reads a file chosen by
anyone. Besides the limits of :mod:`analysis.imports.limits` (refused before parsing), the check runs
in a child process (``python -m analysis.imports.sandbox_child``) that

- sets its own memory limit (``RLIMIT_DATA``: heap and private mappings,
  :data:`analysis.imports.limits.CHECK_MEMORY_BYTES`) and CPU limit (``RLIMIT_CPU``) before reading
  anything: a file that would need more fails there with ``MemoryError`` instead of growing
  the server (``RLIMIT_AS`` also counts the address space reserved but unused by the engine's
  threads, and made the database engine abort at random);
- may use :data:`analysis.imports.limits.CHECK_SECONDS` seconds of CPU (``RLIMIT_CPU``) and is killed
  after :data:`analysis.imports.limits.CHECK_WALL_SECONDS` seconds of wall time;
- is killed as soon as ``alive()`` returns False (the page passes "is the browser session
  still open?"), so a check never outlives the visitor who started it;
- is one of at most :data:`MAX_CONCURRENT` checks at a time in the server process.

Only the child parses the file; the server process receives a pickled
:class:`analysis.imports.ImportResult` (or the French refusal) from its own child.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import analysis.imports.limits as limits
from analysis.errors import DataError

ROOT = Path(__file__).resolve().parent.parent.parent
LOG = logging.getLogger("observatoire.sandbox")
#: Bounded checks running at the same time in one server process.
MAX_CONCURRENT = 2
_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)


class CheckRefused(DataError):
    """The bounded check did not finish (time, memory, cancelled, too many at once)."""


@dataclass
class CheckStats:
    """What a bounded check used: wall seconds, the child's CPU seconds and peak resident memory (MB)."""

    seconds: float
    peak_mb: float | None
    cpu_seconds: float | None = None


def run_check(
    data: bytes,
    name: str,
    kind: str,
    *,
    db_path: str | os.PathLike,
    fmt: str | None = None,
    mode: str | None = None,
    source: str | None = None,
    strict_siret: bool | None = None,
    alive: Callable[[], bool] | None = None,
    seconds: float | None = None,
    memory_bytes: int | None = None,
    wait_slot: float = 0.0,
) -> tuple[Any, CheckStats]:
    """Run the dry run of :func:`analysis.imports.import_file` on ``data`` in a bounded child process.

    ``wait_slot``: seconds to wait for one of the :data:`MAX_CONCURRENT` slots (0: refuse at
    once when all are taken, as for the anonymous check; an administrator's import waits).

    Returns
    -------
    (ImportResult, CheckStats)

    Raises
    ------
    DataError
        The file is refused (limits, unreadable) — as the check in-process would.
    CheckRefused
        Time or memory exhausted, session gone, or too many checks at once.
    ValueError
        Bad kind, format, mode or source name.
    """
    limits.check_size(data, name)  # before anything is sent anywhere
    cpu = int(limits.CHECK_SECONDS if seconds is None else seconds)
    seconds = limits.CHECK_WALL_SECONDS if seconds is None else seconds
    memory_bytes = limits.CHECK_MEMORY_BYTES if memory_bytes is None else memory_bytes
    request = {
        "data": data,
        "name": name,
        "kind": kind,
        "db_path": str(db_path),
        "fmt": fmt,
        "mode": mode,
        "source": source,
        "strict_siret": strict_siret,
        "memory": memory_bytes,
        "cpu": max(cpu, 1),
    }
    got = _SLOTS.acquire(timeout=wait_slot) if wait_slot > 0 else _SLOTS.acquire(blocking=False)
    if not got:
        raise CheckRefused(name, "trop de contrôles en cours sur le serveur : réessayez dans un instant")
    try:
        t0 = time.perf_counter()
        returncode, out, err = _run_child(pickle.dumps(request), seconds, alive, name)
        elapsed = time.perf_counter() - t0
    finally:
        _SLOTS.release()
    if returncode != 0 or not out:
        raise _failure(name, returncode, err, cpu, memory_bytes)
    return _answer(name, out, elapsed)


def _run_child(request: bytes, seconds: float, alive: Callable[[], bool] | None, name: str) -> tuple[int, bytes, bytes]:
    """Run the child on the pickled ``request`` (through a private temporary file) until it ends.

    Returns its exit status, standard output and error stream. The child is killed when the wall
    time ``seconds`` is spent or ``alive()`` turns False (:class:`CheckRefused` then raised by
    :func:`_wait`), and in any case before this function returns.
    """
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        NUMBA_DISABLE_JIT="1",
        OMP_NUM_THREADS="1",
    )
    with tempfile.TemporaryDirectory(prefix="obs-check-") as tmp:
        req_path = Path(tmp) / "request.pickle"
        req_path.write_bytes(request)
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.imports.sandbox_child", str(req_path)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            out, err = _wait(proc, seconds, alive, name)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return proc.returncode, out, err


def _failure(name: str, returncode: int, err: bytes, cpu: int, memory_bytes: int) -> CheckRefused:
    """The French refusal for a child that failed without answering (logged with its error stream)."""
    LOG.warning("contrôle borné de %s : code %s, %s", name, returncode, err.decode("utf-8", "replace")[-2000:])
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return CheckRefused(name, f"contrôle interrompu : plus de {cpu} s de calcul")
    if _out_of_memory(returncode, err):
        return CheckRefused(
            name,
            f"contrôle interrompu : le fichier demande plus de mémoire que permis ({memory_bytes // 1024 // 1024} Mo)",
        )
    return CheckRefused(name, f"contrôle impossible (code {returncode})")


def _answer(name: str, out: bytes, elapsed: float) -> tuple[Any, CheckStats]:
    """The child's pickled answer: the result and what the check used, or its refusal raised."""
    reply = pickle.loads(out)  # noqa: S301 - our own child process
    stats = CheckStats(elapsed, reply.get("peak_mb"), reply.get("cpu_s"))
    if "log" in reply:  # an unexpected failure, refused as unreadable: its trace for the log only
        LOG.warning("contrôle borné de %s : %s", name, reply["log"])
    if "data_error" in reply:
        err: Exception = DataError(*reply["data_error"])
    elif "value_error" in reply:
        err = ValueError(reply["value_error"])
    else:
        return reply["result"], stats
    err.stats = stats  # type: ignore[attr-defined] - read by bench/imports.py
    raise err


#: What a child that ran out of its memory limit may print before dying: Python's
#: ``MemoryError`` (written by :func:`analysis.imports.sandbox_child.main`), the dynamic loader when a new thread cannot get
#: its thread-local storage (exit code 127, seen in CI when the database engine starts its
#: threads), C++ ``bad_alloc`` and the engine's own out-of-memory message.
_MEMORY_MARKERS = (
    b"MemoryError",
    b"cannot allocate memory",
    b"std::bad_alloc",
    b"out of memory",
    b"failed to allocate",
)


def _out_of_memory(returncode: int, stderr: bytes) -> bool:
    """Did the bounded child die of its memory limit (rather than of a bug)?

    Parameters
    ----------
    returncode : int
        The child's exit status (negative: killed by that signal).
    stderr : bytes
        What the child wrote on its error stream.

    Returns
    -------
    bool
        True when the child aborted (``SIGABRT``, what ``malloc`` failures inside native code
        end in) or printed one of :data:`_MEMORY_MARKERS` (case-insensitive).
    """
    if returncode == -signal.SIGABRT:
        return True
    low = stderr.lower()
    return any(marker.lower() in low for marker in _MEMORY_MARKERS)


def _wait(proc: subprocess.Popen, seconds: float, alive, name: str) -> tuple[bytes, bytes]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return proc.communicate(timeout=0.25)
        except subprocess.TimeoutExpired:
            pass
        if alive is not None and not alive():
            proc.kill()
            raise CheckRefused(name, "contrôle annulé : la session du navigateur est terminée")
        if time.monotonic() > deadline:
            proc.kill()
            raise CheckRefused(name, f"contrôle interrompu : plus de {seconds:.0f} s")
