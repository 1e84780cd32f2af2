"""Hostile files, second round (issue 24, items 4, 6, 9): small XLSX bombs, an unclosed quote,
unreadable inputs and unrecognised encodings.

Every file here is a SYNTHETIC fixture generated at test time (:mod:`tests.hostile_files`:
made-up offer « Acme » in Giberville). Expectations are written by hand from the issue: each
bomb is refused with a French reason naming what exceeds which limit, from the import API the
page uses and from the command line, within 60 s and 1 GiB (the peak measured in the processes
themselves), without a traceback. The tests run as root in CI, where permissions do not stop
reading: the permission errors are simulated (``monkeypatch``), and really produced as the
unprivileged user ``nobody`` when this machine allows it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from analysis import imports
from analysis.errors import DataError
from analysis.imports import limits, sandbox
from analysis.sources import registry as sources
from tests import hostile_files as hf
from tests.conftest import ROOT

SECRET = "synthetic-test-secret"
BOMBS = sorted(hf.XLSX_BOMBS)
LIMIT_SECONDS = 60
LIMIT_MB = 1024


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    out = {}
    for name, (make, _reason) in hf.XLSX_BOMBS.items():
        out[name] = folder / name
        out[name].write_bytes(make())
    return out


def _forbid_openpyxl(monkeypatch):
    import openpyxl

    def boom(*a, **k):
        raise AssertionError("openpyxl appelé : le classeur aurait dû être refusé avant")

    monkeypatch.setattr(openpyxl, "load_workbook", boom)


# --------------------------------------------------------------------------- item 4: XLSX bombs


@pytest.mark.parametrize("name", BOMBS)
def test_each_bomb_is_small_and_within_the_declared_size_limits(name, bomb_files):
    """The precondition of the issue: only the XML pre-scan can tell these files apart."""
    data = bomb_files[name].read_bytes()
    assert len(data) < 2 * 1024 * 1024
    limits.check_xlsx(data, name)  # no DataError: members, sizes, ratio all allowed


@pytest.mark.parametrize("name", BOMBS)
def test_pre_scan_refuses_each_bomb_in_french_before_openpyxl(name, bomb_files, monkeypatch):
    _forbid_openpyxl(monkeypatch)
    reason = hf.XLSX_BOMBS[name][1]
    with pytest.raises(DataError) as err:
        imports.read_table(bomb_files[name].read_bytes(), name)
    msg = str(err.value)
    assert msg.startswith(f"{name} : classeur XLSX refusé") and reason in msg, msg


def test_pre_scan_names_member_line_and_column_of_malformed_xml(monkeypatch):
    _forbid_openpyxl(monkeypatch)
    with pytest.raises(DataError) as err:
        imports.read_table(hf.undefined_entity(), "e.xlsx")
    # hand-counted: the header row and the prolog put « &bomb; » at byte 536 of line 1
    assert "« xl/worksheets/sheet1.xml » n'est pas un XML valide (entité non définie, ligne 1, colonne" in str(
        err.value
    )
    with pytest.raises(DataError, match="DTD, entités"):
        imports.read_table(hf.entity_declaration(), "dtd.xlsx")


def test_pre_scan_reads_a_sheet_whatever_its_member_name(monkeypatch):
    """openpyxl finds sheets through the workbook's relationships, not by file extension."""
    _forbid_openpyxl(monkeypatch)
    members = hf.base_xlsx()
    rels = "xl/_rels/workbook.xml.rels"
    members[rels] = members[rels].replace(b"worksheets/sheet1.xml", b"worksheets/sheet1.dat")
    far = f'<?xml version="1.0"?><worksheet {hf.NS}><sheetData><row r="2000000000"/></sheetData></worksheet>'
    members["xl/worksheets/sheet1.dat"] = far.encode()
    del members[hf.SHEET]
    with pytest.raises(DataError, match="« xl/worksheets/sheet1.dat » : trop de lignes"):
        imports.read_table(hf.pack(members), "renomme.xlsx")


def test_pre_scan_checks_rows_under_any_root_element(monkeypatch):
    """The reader looks for rows by name: a sheet whose root is not « worksheet » is still one."""
    _forbid_openpyxl(monkeypatch)
    members = hf.base_xlsx()
    members[hf.SHEET] = f'<x {hf.NS}><sheetData><row r="2000000000"/></sheetData></x>'.encode()
    with pytest.raises(DataError, match="trop de lignes : ligne numéro 2"):
        imports.read_table(hf.pack(members), "racine.xlsx")


def test_pre_scan_accepts_real_workbooks():
    """The committed templates, an openpyxl workbook and a pandas one read as before."""
    import io

    import pandas as pd

    for path in sorted((ROOT / "data" / "templates").glob("*.xlsx")):
        raw = imports.read_table(path.read_bytes(), path.name)
        assert raw.columns and raw.sep == "xlsx", path
    raw = imports.read_table(hf.pack(hf.base_xlsx()), "ok.xlsx")
    assert raw.columns == hf.HEADER and raw.rows == [(1, hf.ROW)]
    buf = io.BytesIO()
    pd.DataFrame([hf.ROW] * 3, columns=hf.HEADER).to_excel(buf, index=False)
    raw = imports.read_table(buf.getvalue(), "pandas.xlsx")
    assert [n for n, _ in raw.rows] == [1, 2, 3] and raw.rows[2][1] == hf.ROW


def test_pre_scan_bounds_rows_cells_and_strings_by_the_import_limits(monkeypatch):
    from analysis.imports import xlsx_scan

    monkeypatch.setattr(limits, "MAX_ROWS", 5)
    assert xlsx_scan.max_sheet_row() == 16 and xlsx_scan.max_cells() == 16 * limits.MAX_COLUMNS
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(1, 17))
    imports.read_table(hf._with_sheet(rows), "16.xlsx")  # row 16: the last one allowed
    with pytest.raises(DataError, match="ligne numéro 17"):
        imports.read_table(hf._with_sheet(rows + '<row r="17"/>'), "17.xlsx")
    # rows without a number count on from the previous one, as the reader does
    with pytest.raises(DataError, match="ligne numéro 17"):
        imports.read_table(hf._with_sheet('<row r="16"/><row/>'), "implicite.xlsx")
    with pytest.raises(DataError, match="au-delà de la colonne XFD"):
        imports.read_table(hf._with_sheet('<row r="1"><c r="XFE1"/></row>'), "xfe.xlsx")


def _assert_bounded(err: Exception) -> None:
    stats = getattr(err, "stats", None)
    assert stats is not None, "the refusal must come from the bounded child"
    assert stats.seconds < LIMIT_SECONDS and stats.peak_mb is not None and stats.peak_mb < LIMIT_MB, stats


@pytest.mark.parametrize("name", BOMBS)
def test_page_check_and_import_refuse_each_bomb_bounded(name, bomb_files, base_db, tmp_path, monkeypatch):
    """The page's two paths: the anonymous check (``sandbox.run_check``) and the administrator's
    import (``imports.import_file``, not a dry run), which used to parse in the server process."""
    data = bomb_files[name].read_bytes()
    reason = hf.XLSX_BOMBS[name][1]
    with pytest.raises(DataError, match=reason) as err:
        sandbox.run_check(data, name, "offers", db_path=base_db)
    _assert_bounded(err.value)
    target = tmp_path / "obs.duckdb"
    shutil.copyfile(base_db, target)
    before = target.read_bytes()
    monkeypatch.setenv(imports.ENV_SECRET, SECRET)
    gate = imports.AdminGate(sleep=lambda s: None)
    with pytest.raises(DataError, match=reason) as err:
        imports.import_file(
            imports.ImportRequest(None, "offers", data=data, name=name, db_path=target), secret=SECRET, gate=gate
        )
    _assert_bounded(err.value)
    assert target.read_bytes() == before
    assert not list(tmp_path.glob("obs.duckdb.tmp-import-*"))  # refused before the copy


_MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "t0 = time.monotonic()\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(json.dumps({'code': p.returncode, 'out': p.stdout, 'err': p.stderr, 's': time.monotonic() - t0,\n"
    "  'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
)


def _cli(args: list[str], env: dict | None = None) -> dict:
    """Run the import command line under a small parent that measures the peak resident memory
    of the command and of its own children (``RUSAGE_CHILDREN``: the bounded check included)."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "analysis.imports", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, **(env or {})),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", BOMBS)
def test_command_line_dry_run_refuses_each_bomb_bounded(name, bomb_files, base_db):
    r = _cli(["offers", str(bomb_files[name]), "--dry-run", "--quiet", "--db", str(base_db)])
    assert r["code"] == 1, r
    assert r["err"].startswith(f"Erreur : {name} : classeur XLSX refusé") and hf.XLSX_BOMBS[name][1] in r["err"]
    assert "Traceback" not in r["err"] and 'File "' not in r["err"]
    assert r["s"] < LIMIT_SECONDS and r["peak_mb"] < LIMIT_MB, r


def test_command_line_import_refuses_a_bomb_bounded_and_writes_nothing(bomb_files, base_db, tmp_path):
    target = tmp_path / "obs.duckdb"
    shutil.copyfile(base_db, target)
    before = target.read_bytes()
    path = bomb_files["polices.xlsx"]
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'{imports.ENV_SECRET} = "{SECRET}"\n')
    env = {imports.ENV_SECRET: SECRET, imports.ENV_SECRETS_FILE: str(secrets)}
    r = _cli(["offers", str(path), "--quiet", "--db", str(target)], env=env)
    assert r["code"] == 1 and "« xl/styles.xml » : plus de 300\u202f000 éléments XML" in r["err"], r
    assert "Traceback" not in r["err"]
    assert r["s"] < LIMIT_SECONDS and r["peak_mb"] < LIMIT_MB, r
    assert target.read_bytes() == before


def test_bounded_child_turns_an_unexpected_reader_failure_into_a_french_refusal(base_db, monkeypatch):
    """Old code: an uncaught parser error killed the child and the page said only
    « contrôle impossible (code 1) »; the child now answers « fichier illisible »."""
    real = subprocess.Popen
    boom = (
        "import runpy, sys\n"
        "from analysis.imports import reading\n"
        "def fail(*a, **k):\n"
        "    raise SyntaxError('not well-formed (invalid token)')\n"
        "reading.read_table = fail\n"
        "from analysis.imports import transaction\n"
        "transaction.read_table = fail\n"
        "sys.argv = ['sandbox', sys.argv[1]]\n"
        "runpy.run_module('analysis.imports.sandbox_child', run_name='__main__')\n"
    )

    def fake(args, **kw):
        return real([sys.executable, "-c", boom, args[-1]], **kw)

    monkeypatch.setattr(sandbox.subprocess, "Popen", fake)
    with pytest.raises(DataError) as err:
        sandbox.run_check(hf.pack(hf.base_xlsx()), "x.xlsx", "offers", db_path=base_db)
    assert not isinstance(err.value, sandbox.CheckRefused)
    assert str(err.value) == "x.xlsx : fichier illisible : erreur inattendue à la lecture (SyntaxError)"


# --------------------------------------------------------------------------- item 6: unclosed quote


def _ten_lines(bad_line: int, bad: str) -> bytes:
    lines = ["identifiant;employeur;commune"]
    for i in range(1, 11):
        lines.append(bad if i == bad_line else f"t{i};Acme;Giberville")
    return ("\n".join(lines) + "\n").encode()


def test_unclosed_quote_no_longer_swallows_the_rest_of_the_file():
    """Old code: « lignes lues 3 » for 10 data lines, without a word."""
    raw = imports.read_table(_ten_lines(3, 't3;"Acme;Giberville'), "guillemet.csv")
    assert raw.rows_in == 10
    assert [n for n, _ in raw.rows] == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    assert raw.bad == [(3, imports.reading.UNCLOSED_QUOTE, 't3;"Acme;Giberville')]
    assert raw.rows[3] == (5, ["t5", "Acme", "Giberville"])


def test_quote_closed_lines_later_still_counts_every_line():
    raw = imports.read_table(_ten_lines(2, 't2;"Acme;Giberville').replace(b"t5;Acme", b't5;Ac"me'), "g.csv")
    assert raw.rows_in == 10 and [n for n, _, _ in raw.bad] == [2]


def test_unclosed_quote_is_quarantined_naming_the_line(base_db):
    res = imports.import_file(
        imports.ImportRequest(
            None, "offers", data=_ten_lines(3, 't3;"Acme;Giberville'), name="g.csv", db_path=base_db, dry_run=True
        )
    )
    assert res.rows_in == 10 and res.quarantined >= 1
    q = res.quarantine.set_index("row_number")
    assert 'guillemet « " » ouvert et jamais refermé' in q.loc[3, "reason"]
    assert "jamais refermé" not in " ".join(q.drop(index=3)["reason"])


# --------------------------------------------------------------------------- item 9: encodings


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
def test_utf16_without_bom_and_utf32_are_refused_as_unrecognised(encoding):
    """Old code: every row quarantined, with NUL characters in the reason text."""
    data = "identifiant;employeur;commune\nt1;Acme;Giberville\n".encode(encoding)
    with pytest.raises(DataError) as err:
        imports.read_table(data, "u.csv")
    assert str(err.value).startswith("u.csv : encodage non reconnu") and "\x00" not in str(err.value)


def test_utf16_with_bom_and_a_stray_nul_are_still_read():
    raw = imports.read_table("identifiant;commune\nt1;Caen\n".encode("utf-16"), "u16.csv")
    assert raw.rows == [(1, ["t1", "Caen"])] and raw.encoding == "utf-16"
    raw = imports.read_table(b"identifiant;commune\nt1;Ca\x00en\n", "nul.csv")  # that row's problem only
    assert raw.rows == [(1, ["t1", "Ca\x00en"])]


# --------------------------------------------------------------------------- item 9: permissions


def _deny_stat_under(monkeypatch, folder: Path):
    """As if ``folder`` had no search permission: anything below it cannot even be stat'ed."""
    real = Path.stat

    def stat(self, *a, **k):
        if folder in Path(self).parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "stat", stat)


def test_import_of_a_file_in_an_unsearchable_folder_is_a_french_error(tmp_path, monkeypatch, capsys):
    """Old code: a PermissionError traceback on ``python -m analysis.imports``."""
    path = tmp_path / "ferme" / "offres.csv"
    path.parent.mkdir()
    path.write_bytes(b"identifiant;commune\nt1;Caen\n")
    _deny_stat_under(monkeypatch, path.parent)
    code = imports.main(["offers", str(path), "--dry-run", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert (
        err.strip()
        == f"Erreur : {path} : fichier illisible : droits insuffisants (sur le fichier ou sur un dossier qui le contient)"
    )


def test_sources_check_reports_an_unsearchable_parent_folder(mirror_link_tree, monkeypatch, capsys):
    """Old code: a PermissionError traceback from ``sources check``."""
    tree = mirror_link_tree()
    _deny_stat_under(monkeypatch, tree / "schools")
    code = sources.main(["check", "--source", str(tree)])
    out = capsys.readouterr().out
    assert code == 1
    line = next(ln for ln in out.splitlines() if "lycees_annuaire" in ln)
    assert line.startswith("ERR") and "dossier inaccessible (droits insuffisants" in line
    assert str(tree / "schools" / "monstagedeseconde") in line
    with pytest.raises(DataError, match="dossier inaccessible"):
        sources.resolve("lycees_annuaire", tree)


def test_unreadable_optional_file_is_reported_and_skipped_by_the_build(mirror_link_tree, monkeypatch, capsys):
    """Old code: ``sources check`` said all was well, then the build failed on a raw ``[Errno 13]``."""
    tree = mirror_link_tree()
    optional = sources.resolve("lycees_effectifs_gt", tree)
    assert optional is not None and not sources.registry()["lycees_effectifs_gt"].required
    real_open = open

    def deny(path, *a, **k):  # the tests run as root: permissions are simulated
        if str(path) == str(optional):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(sources, "open", deny, raising=False)
    assert sources.main(["check", "--source", str(tree)]) == 1
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "lycees_effectifs_gt" in ln)
    assert line.startswith("ERR") and f"{optional} : illisible (droits insuffisants)" in line
    assert "facultatif" in line
    assert sources.resolve("lycees_effectifs_gt", tree) is None  # the loaders go without it
    check = sources.preflight(tree)
    assert check.problems == [] and "lycees_effectifs_gt" in check.optional_missing
    assert check.optional_unreadable == [f"« lycees_effectifs_gt » : {optional} : illisible (droits insuffisants)"]


def test_build_failure_on_an_os_error_is_said_in_french():
    from analysis.build import _french

    exc = PermissionError(13, "Permission denied", "/src/x.csv")
    assert _french(exc) == "/src/x.csv : illisible (droits insuffisants)" and "Errno" not in _french(exc)


def _nobody_can_run_python() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", "import analysis"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
    )
    return probe.returncode == 0


def test_real_permissions_as_an_unprivileged_user():
    """The same refusals with real permissions, run as ``nobody`` (root ignores them)."""
    if not _nobody_can_run_python():
        pytest.skip("pas d'utilisateur non privilégié utilisable (setpriv, nobody)")
    base = Path(tempfile.mkdtemp(prefix="obs-perm-"))
    try:
        base.chmod(0o755)
        locked = base / "ferme"
        locked.mkdir()
        (locked / "offres.csv").write_bytes(b"identifiant;commune\nt1;Caen\n")
        locked.chmod(0o700)
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m"]
        t0 = time.monotonic()
        proc = subprocess.run(
            [*as_nobody, "analysis.imports", "offers", str(locked / "offres.csv"), "--dry-run", "--quiet"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "offres.csv : fichier illisible : droits insuffisants" in proc.stderr
        assert time.monotonic() - t0 < 120
        # a source tree whose « schools » folder cannot be searched
        schools = base / "src" / "schools"
        (schools / "monstagedeseconde").mkdir(parents=True)
        base.joinpath("src").chmod(0o755)
        schools.chmod(0o700)
        proc = subprocess.run(
            [*as_nobody, "analysis.sources.registry", "check", "--source", str(base / "src")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout, proc.stderr
        line = next(ln for ln in proc.stdout.splitlines() if "lycees_annuaire" in ln)
        assert line.startswith("ERR") and "monstagedeseconde : dossier inaccessible (droits insuffisants" in line
    finally:
        for p in (base / "ferme", base / "src" / "schools"):
            if p.exists():
                p.chmod(0o755)
        shutil.rmtree(base)


def test_import_page_refuses_bombs_in_a_browser(bomb_files, base_db, tmp_path):
    """The real page in headless Chromium: the anonymous check and the administrator's import
    both show the French reason (old code: « contrôle impossible (code 1) », or the server
    parsing the file, unbounded, under the write lock)."""
    from playwright.sync_api import sync_playwright

    from tests.appserver import AppServer, launch_chromium

    idle = """() => { const a = document.querySelector('[data-testid="stApp"]');
                      return a && a.getAttribute('data-test-script-state') === 'notRunning'; }"""
    target = tmp_path / "obs.duckdb"
    shutil.copyfile(base_db, target)
    before = target.read_bytes()
    with AppServer(target, env={imports.ENV_SECRET: SECRET}) as server, sync_playwright() as p:
        b = launch_chromium(p)
        pg = b.new_page(viewport={"width": 1400, "height": 1000})

        def settle():
            time.sleep(0.5)
            pg.wait_for_function(idle, timeout=180_000)

        pg.goto(server.url + "/import")
        settle()
        for name in ("entite.xlsx", "ligne_lointaine.xlsx"):
            reason = hf.XLSX_BOMBS[name][1]
            pg.set_input_files('input[type="file"]', str(bomb_files[name]))
            settle()
            pg.get_by_role("button", name="Contrôler (simulation, rien n'est écrit)").click()
            settle()
            body = pg.inner_text("body")
            assert f"Fichier refusé : {name} : classeur XLSX refusé" in body and reason in body, body[-800:]
            assert "contrôle impossible" not in body and "Traceback" not in body
        pg.get_by_label("Secret administrateur").fill(SECRET)
        pg.get_by_role("button", name="Importer").click()
        settle()
        body = pg.inner_text("body")
        assert "Fichier refusé : ligne_lointaine.xlsx : classeur XLSX refusé" in body, body[-800:]
        assert "Base mise à jour" not in body
        b.close()
    assert target.read_bytes() == before
