"""Child side of :mod:`analysis.imports.sandbox`: ``python -m analysis.imports.sandbox_child REQUEST``.

Reads the pickled request the parent wrote, bounds itself (``RLIMIT_DATA``, ``RLIMIT_CPU``)
before reading the file, runs ``imports.import_file`` (a dry run, ``bounded=False``) and
writes the pickled answer on stdout: the result, a French refusal, or — for any other failure of
a reader on a hostile file — « fichier illisible » with the trace for the server log only. A
module of its own so that :mod:`analysis.imports.sandbox` (imported by the imports) does not import them.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
from pathlib import Path

from analysis.errors import DataError


def main() -> int:
    """Child side: read the request file, bound itself, check, answer on stdout."""
    import faulthandler

    faulthandler.enable()  # a crash of the child leaves its Python stack in the server log
    import duckdb

    from analysis import imports  # the code first (the limits then bound the work on the file)

    req = pickle.loads(Path(sys.argv[1]).read_bytes())  # noqa: S301 - written by the parent process
    resource.setrlimit(resource.RLIMIT_DATA, (req["memory"], req["memory"]))
    resource.setrlimit(resource.RLIMIT_CPU, (req["cpu"], req["cpu"] + 2))
    try:
        res = imports.import_file(
            imports.ImportRequest(
                None,
                req["kind"],
                data=req["data"],
                name=req["name"],
                db_path=req["db_path"],
                fmt=req["fmt"],
                mode=req["mode"],
                source=req["source"],
                strict_siret=req.get("strict_siret"),
                dry_run=True,
                bounded=False,  # this process is the bound
            )
        )
        reply = {"result": res}
    except (MemoryError, duckdb.OutOfMemoryException):
        sys.stderr.write("MemoryError\n")
        return 1
    except DataError as exc:
        reply = {"data_error": (exc.path, exc.message, exc.row, exc.field)}
    except ValueError as exc:
        reply = {"value_error": str(exc)}
    except Exception as exc:  # noqa: BLE001 - any other failure of a reader on a hostile file
        import traceback

        reply = {
            "data_error": (req["name"], f"fichier illisible : erreur inattendue à la lecture ({type(exc).__name__})"),
            "log": traceback.format_exc()[-4000:],
        }
    usage = resource.getrusage(resource.RUSAGE_SELF)
    reply["peak_mb"] = _own_peak_mb(usage)
    reply["cpu_s"] = usage.ru_utime + usage.ru_stime
    sys.stdout.buffer.write(pickle.dumps(reply))
    sys.stdout.buffer.flush()
    return 0


def _own_peak_mb(usage: resource.struct_rusage) -> float:
    """Peak resident memory of this process since it started (MB).

    ``ru_maxrss`` survives ``execve``: a child forked from a large parent (the server, a test
    run) reports the parent's size. ``VmHWM`` belongs to the address space that ``execve``
    created, so it is this program's own peak; ``ru_maxrss`` is the fallback off Linux.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return usage.ru_maxrss / 1024


if __name__ == "__main__":
    code = main()
    # no interpreter finalisation: the engine's threads being torn down at exit could abort
    # the process ("terminate called without an active exception") after the answer was sent
    os._exit(code)
