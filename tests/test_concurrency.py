"""20 concurrent readers while an import swaps the database (issue 7).

14 reader threads (half share one :class:`analysis.db.ReaderCache`, as the app's sessions do
within a server process; half have their own) and
6 reader processes (each with its ReaderCache too, as other app server processes would) query the database in a loop while
an import of SYNTHETIC offers writes a new file and swaps it in. Every read returns, in one
query, the offer count, a checksum of the offer ids and the location totals: each must equal
the state before or the state after the import, never a mix, and no reader may fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from analysis import db, imports

ROOT = Path(__file__).resolve().parent.parent
STATE_SQL = (
    "SELECT (SELECT count(*) FROM offers), (SELECT sum(hash(offer_id)) FROM offers), "
    "(SELECT count(*) FROM offer_locations), (SELECT sum(n_offers) FROM offer_locations)"
)
N_THREADS, N_PROCESSES = 14, 6

READER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, sys.argv[1])
    from analysis import db
    path, out, stop = sys.argv[2], sys.argv[3], sys.argv[4]
    after = 0
    cache = db.ReaderCache(path)
    with open(out, "w") as fh:
        while after < 2:
            if os.path.exists(stop):
                after += 1
            try:
                row = cache.get().execute(sys.argv[5]).fetchone()
                fh.write(json.dumps([str(v) for v in row]) + "\\n")
            except Exception as exc:
                fh.write(json.dumps(["ERROR", repr(exc)]) + "\\n")
            fh.flush()
            time.sleep(0.2)
    """
)


def _state(row) -> tuple[str, ...]:
    return tuple(str(v) for v in row)


def _read_state(path: Path) -> tuple[str, ...]:
    con = db.connect(path, read_only=True)
    try:
        return _state(con.execute(STATE_SQL).fetchone())
    finally:
        con.close()


class Readers:
    """The 20 readers: ``N_PROCESSES`` processes (READER_SCRIPT) and ``N_THREADS`` threads, half
    of the threads sharing one ReaderCache (the app's pattern: one per server process, a cursor
    per call), half with their own. They read until told to stop, then twice more."""

    def __init__(self, path: Path, tmp_path: Path) -> None:
        script = tmp_path / "reader.py"
        script.write_text(READER_SCRIPT)
        self.stop_file = tmp_path / "stop"
        self.outs = [tmp_path / f"reader-{i}.jsonl" for i in range(N_PROCESSES)]
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(script), str(ROOT), str(path), str(o), str(self.stop_file), STATE_SQL]
            )
            for o in self.outs
        ]
        self.done = threading.Event()
        self.results: list[list] = [[] for _ in range(N_THREADS)]
        self.errors: list[str] = []
        self.shared = db.ReaderCache(path)
        self.path = path
        self.threads = [threading.Thread(target=self._read, args=(i,)) for i in range(N_THREADS)]
        for t in self.threads:
            t.start()

    def _read(self, i: int) -> None:
        cache = self.shared if i % 2 == 0 else db.ReaderCache(self.path)
        after = 0
        while after < 2:
            if self.done.is_set():
                after += 1
            try:
                self.results[i].append(_state(cache.get().execute(STATE_SQL).fetchone()))
            except Exception as exc:  # noqa: BLE001 - any reader error fails the test
                self.errors.append(repr(exc))
            time.sleep(0.05)

    def started(self) -> bool:
        """Every thread has read once and every process has written a line."""
        return all(self.results) and all(o.exists() and o.read_text().count("\n") >= 1 for o in self.outs)

    def stop(self) -> None:
        self.done.set()
        self.stop_file.write_text("stop")
        for t in self.threads:
            t.join(timeout=120)
        for p in self.procs:
            p.wait(timeout=120)

    def process_reads(self) -> list[list[tuple]]:
        """Each process's reads; fails on a reader error or a non-zero exit."""
        out = []
        for o in self.outs:
            lines = [tuple(json.loads(ln)) for ln in o.read_text().splitlines()]
            assert not [ln for ln in lines if ln[0] == "ERROR"], lines
            out.append(lines)
        assert all(p.returncode == 0 for p in self.procs)
        return out


def _synthetic_offers(tmp_path: Path) -> Path:
    """Five SYNTHETIC offers in real communes, in the import template's columns."""
    header = [c.header for c in imports.OFFER_TEMPLATE]
    towns = [("14000", "Caen"), ("76000", "Rouen"), ("27000", "Évreux"), ("50000", "Saint-Lô"), ("61000", "Alençon")]
    rows = []
    for i, (pc, town) in enumerate(towns):
        r = dict.fromkeys(header, "")
        r.update(
            identifiant=f"SYN-C{i}",
            employeur="Employeur synthétique",
            secteur="Industrie",
            code_postal=pc,
            commune=town,
            niveaux="seconde",
        )
        rows.append(";".join(r[h] for h in header))
    f = tmp_path / "offres_synthetiques.csv"
    f.write_text(";".join(header) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return f


def test_twenty_readers_see_old_or_new_data_never_a_mix(base_db, tmp_path, monkeypatch):
    path = tmp_path / "obs.duckdb"
    shutil.copyfile(base_db, path)
    state_a = _read_state(path)

    t_start = time.perf_counter()
    readers = Readers(path, tmp_path)
    # an app session opened before the import: it keeps its snapshot
    held = db.connect(path, read_only=True)
    deadline = time.time() + 120
    while time.time() < deadline and not readers.started():
        time.sleep(0.05)
    assert all(readers.results), "reader threads did not start"

    # -- the import (SYNTHETIC offers in real communes)
    monkeypatch.setenv(imports.ENV_SECRET, "synthetic-secret")
    f = _synthetic_offers(tmp_path)
    t0 = time.perf_counter()
    print(f"readers ready after {t0 - t_start:.1f} s")
    try:
        res = imports.import_file(
            imports.ImportRequest(f, "offers", db_path=path, mode="append"),
            secret="synthetic-secret",
            gate=imports.AdminGate(sleep=lambda s: None),
        )
    finally:
        readers.stop()
    print(f"import {res.seconds:.1f} s, readers stopped {time.perf_counter() - t0:.1f} s after it started")
    assert res.accepted == 5

    state_b = _read_state(path)
    assert state_b != state_a and int(state_b[0]) == int(state_a[0]) + 5

    # the session opened before the swap still reads the old snapshot, without error
    assert _state(held.execute(STATE_SQL).fetchone()) == state_a
    held.close()

    assert readers.errors == []
    all_reads = readers.results + readers.process_reads()
    assert len(all_reads) == 20
    for reads in all_reads:
        assert set(reads) <= {state_a, state_b}  # never a mix
        assert reads[0] == state_a and reads[-1] == state_b  # old data first, then the new data
    # the readers really overlapped the import
    assert sum(len(r) for r in all_reads) > 60
