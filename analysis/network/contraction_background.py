"""The background worker that builds a network's contraction hierarchy (issue 15).

``python -m analysis.network.contraction_background <key>.matrix.npz``, started detached by
:func:`analysis.network.contraction_jobs.schedule` after a build that missed the hierarchy cache: it
lowers its own priority, builds the hierarchy of the graph file and saves it as ``<key>.npz``
beside it, where :func:`analysis.network.contraction.attach` finds it on the next build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from analysis.network import contraction
from analysis.network.contraction_jobs import NICE, read_matrix


def build_from_file(path: Path) -> Path | None:
    """Build and save the hierarchy of the matrix file ``<key>.matrix.npz`` as ``<key>.npz``
    in the same directory; the matrix file (and the pid file) are removed in any case.

    Returns
    -------
    pathlib.Path or None
        The saved hierarchy, or None when it could not be written.
    """
    path = Path(path)
    key = path.name.removesuffix(".matrix.npz")
    pid_file = path.parent / f"{key}.pid"
    try:
        pid_file.write_text(str(os.getpid()))  # see running(): one worker per key
        h = contraction.Hierarchy.build(read_matrix(path))
        return contraction.save(h, path.parent / f"{key}.npz")
    finally:
        for p in (path, pid_file):
            p.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Worker entry point: ``python -m analysis.network.contraction_background <key>.matrix.npz``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m analysis.network.contraction_background <key>.matrix.npz", file=sys.stderr)
        return 2
    try:
        os.nice(NICE)  # here rather than a preexec_fn, which is unsafe in a threaded caller
    except OSError:
        pass
    return 0 if build_from_file(Path(args[0])) is not None else 1


if __name__ == "__main__":
    sys.exit(main())
