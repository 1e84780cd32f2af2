"""Hostile input (issue 12): escaping, import refusals, spreadsheet formulas, limits, secrets.

Files written by these tests are SYNTHETIC fixtures (hostile names, made-up ids); the
database is the one built from the real mirror (``base_db`` of ``conftest.py``). Expected
values are written by hand from the rules (OWASP CSV injection, HTML escaping), not read
back from the code under test. ``docs/security.md`` maps each promise to its test here.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import folium
import pandas as pd
import pytest

from analysis import imports, sanitize

XSS = "<img src=x onerror=\"alert('x')\">"


# --------------------------------------------------------------------------- item 1: escaping


def test_html_text_escapes_markup_and_template_literal_characters():
    assert sanitize.html_text(f"Giberville {XSS}") == (
        "Giberville &lt;img src=x onerror=&quot;alert(&#x27;x&#x27;)&quot;&gt;"
    )
    # folium writes tooltips and popups inside JavaScript backquotes: ${...} must not survive
    assert sanitize.html_text("a`${alert(1)}\\") == "a&#96;&#36;{alert(1)}&#92;"
    assert sanitize.html_text(None) == "" and sanitize.html_text(float("nan")) == ""
    assert sanitize.html_text(pd.NA) == "" and sanitize.html_text(12) == "12"


def test_js_literal_cannot_close_the_script_element():
    text = sanitize.js_literal({"tip": "</script><script>alert(1)</script>", "q": "l'a & b"})
    assert "<" not in text and ">" not in text and "'" not in text and "&" not in text
    assert json.loads(text) == {"tip": "</script><script>alert(1)</script>", "q": "l'a & b"}


def _cluster_rows(m: folium.Map) -> list[list]:
    from ui import mapping

    layers = [c for c in m._children.values() if isinstance(c, mapping.FastMarkerCluster)]
    assert len(layers) == 1
    return json.loads(layers[0].data_text)


def test_offer_and_school_markers_escape_tooltips_and_popups():
    """Old code: the offer tooltip (town) and the lycée tooltip (name) were raw HTML."""
    from ui import mapping

    pts = pd.DataFrame(
        {
            "lat": [49.18],
            "lon": [-0.31],
            "n_offers": [2],
            "town": [f"Giberville {XSS}"],
            "sectors": [XSS],
            "location_precision": ["commune"],
            "sources": ["${alert(2)}"],
        }
    )
    m = folium.Map(tiles=None)
    mapping.offers_layer(m, pts)
    ((_, _, popup, tip),) = _cluster_rows(m)
    assert tip == "2 offres — Giberville &lt;img src=x onerror=&quot;alert(&#x27;x&#x27;)&quot;&gt;"
    assert "<img" not in popup and "${" not in popup and "&lt;img" in popup
    sch = pd.DataFrame(
        {
            "lat": [49.18],
            "lon": [-0.31],
            "name": [XSS],
            "commune": ["Caen"],
            "is_public": [True],
            "seconde_pupils": [100],
        }
    )
    m = folium.Map(tiles=None)
    mapping.schools_layer(m, sch)
    ((_, _, popup, tip),) = _cluster_rows(m)
    assert tip == sanitize.html_text(XSS) and "<img" not in popup


def test_html_table_and_legend_escape_cells():
    from analysis.outputs import maps

    html = maps.table_html(pd.DataFrame({XSS: [XSS, "${x}"], "n": [1, 2]}))
    assert "<img" not in html and "${" not in html and html.count("&lt;img") == 2
    legend = maps.legend_html(XSS, [("#fff", XSS)])
    assert "<img" not in legend and legend.count("&lt;img") == 2


def _template_csv(town: str, street: str = "1 rue de la Gare", employer: str = "Acme") -> bytes:
    return (
        "identifiant;employeur;secteur;adresse;code_postal;commune;niveaux\n"
        f"t1;{employer};Industrie;{street};14730;{town};seconde\n"
    ).encode()


@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("commune", {"town": f"Giberville {XSS}"}),
        ("adresse", {"town": "Giberville", "street": "1 rue <b>"}),
        ("employeur", {"town": "Giberville", "employer": "Acme >"}),
    ],
)
def test_import_quarantines_markup_naming_the_field(base_db, field, kwargs):
    """Old code: the commune matcher accepted « Giberville <img …> » as Giberville."""
    res = imports.import_file(
        imports.ImportRequest(None, "offers", data=_template_csv(**kwargs), name="h.csv", db_path=base_db, dry_run=True)
    )
    assert (res.rows_in, res.accepted, res.quarantined) == (1, 0, 1)
    q = res.quarantine.iloc[0]
    assert q["field"] == field and "balises HTML refusées" in q["reason"] and q["row_number"] == 1


def test_import_accepts_the_same_row_without_markup(base_db):
    res = imports.import_file(
        imports.ImportRequest(
            None, "offers", data=_template_csv("Giberville"), name="ok.csv", db_path=base_db, dry_run=True
        )
    )
    assert (res.accepted, res.quarantined) == (1, 0)


def test_import_refuses_markup_in_collective_and_mobility_fields(base_db):
    coll = (
        f"project_id;name;kind;town;commune_code;source\np1;Projet {XSS};bi-entreprises;Caen;14118;CREFOP\n"
    ).encode()
    res = imports.import_file(
        imports.ImportRequest(None, "collective", data=coll, name="c.csv", db_path=base_db, dry_run=True)
    )
    assert res.quarantine.iloc[0]["field"] == "name" and res.accepted == 0
    mob = b"siren_epci;type_service;nom;description;source\n200065597;autre;Navette;<script>alert(1)</script>;CU\n"
    res = imports.import_file(
        imports.ImportRequest(None, "mobility", data=mob, name="m.csv", db_path=base_db, dry_run=True)
    )
    assert res.quarantine.iloc[0]["field"] == "description" and res.accepted == 0


def test_uploaded_file_name_and_source_name_are_cleaned(base_db):
    res = imports.import_file(
        imports.ImportRequest(
            None,
            "offers",
            data=_template_csv("Giberville"),
            db_path=base_db,
            dry_run=True,
            name="../../<script>x</script>\x00.csv",
        )
    )
    assert res.file == "script_.csv"  # last path component, control char dropped, ">" replaced
    with pytest.raises(ValueError, match="nom de source refusé"):
        imports.import_file(
            imports.ImportRequest(
                None,
                "offers",
                data=_template_csv("Giberville"),
                name="ok.csv",
                db_path=base_db,
                dry_run=True,
                source="<b>x</b>",
            )
        )


# --------------------------------------------------------------------------- item 3: formulas in exports

FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+33 6 00", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_writer_neutralises_formulas_and_keeps_numbers():
    import csv
    import io

    from analysis.outputs import export

    df = pd.DataFrame({"texte": FORMULAS + ["-3", "Caen"], "n": [-1.5, 2, 3, 4, 5, 6, 7, 8]})
    text = export.csv_bytes(df).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))
    assert rows[0] == ["texte", "n"]
    # OWASP: a leading apostrophe on = + - @ tab CR; a plain number is not a formula
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS] + ["-3", "Caen"]
    assert [r[1] for r in rows[1:]] == ["-1,5", "2,0", "3,0", "4,0", "5,0", "6,0", "7,0", "8,0"]


@pytest.fixture(scope="module")
def hostile_report_db(tmp_path_factory):
    """A copy of the built database (with travel times) where a project, a sector and a
    source carry formulas and a NUL byte."""
    import shutil

    from analysis import config, db

    src = config.default_db_path()
    if not src.exists():
        pytest.skip("base construite absente (python -m analysis.build)")
    out = tmp_path_factory.mktemp("report") / "observatoire.duckdb"
    shutil.copyfile(src, out)
    con = db.connect(out)
    con.execute("UPDATE collective_projects SET name = ?, sectors = ?", [FORMULAS[0], "a\x00b"])
    con.execute("UPDATE offers SET sector = '=1+1' WHERE sector = (SELECT min(sector) FROM offers)")
    con.execute("UPDATE provenance SET path = ?, publisher = ?", ["=cmd|' /C calc'!A0", "@x\x00"])
    con.execute("CHECKPOINT")
    con.close()
    return out


def test_xlsx_and_csv_reports_hold_no_formula_and_survive_nul(hostile_report_db):
    """Old code: openpyxl wrote « =HYPERLINK… » as a live formula, and a NUL raised
    IllegalCharacterError (the Rapports page showed a traceback)."""
    import io

    import openpyxl

    from analysis import db, report

    con = db.connect(hostile_report_db, read_only=True)
    try:
        code = con.execute("SELECT epci_siren FROM collective_projects LIMIT 1").fetchone()[0]
        content, _, _ = report.build_report(con, "epci", code, "xlsx")
        csv_text = report.build_report(con, "epci", code, "csv")[0].decode("utf-8")
    finally:
        con.close()
    wb = openpyxl.load_workbook(io.BytesIO(content))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    assert "'" + FORMULAS[0] in values  # the project name, as text (Projets collectifs sheet)
    assert "'=1+1" in values  # the sector (Offres par secteur sheet)
    assert "'=cmd|' /C calc'!A0" in values  # the source path (Sources sheet)
    assert "ab" in values and "'@x" in values  # NUL dropped
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "@")) for v in values)
    assert "\x00" not in csv_text


# --------------------------------------------------------------------------- item 4: control characters, no traceback


@pytest.mark.parametrize(
    "value,field",
    [
        ("Acme\x00", "employeur"),
        ("Gi\x07berville", "commune"),
        ("1 rue\x1b[31m", "adresse"),
        ("Acme\u2028", "employeur"),
    ],
)
def test_import_quarantines_control_characters(base_db, value, field):
    """Old code: a NUL in an accepted field was stored, and later broke the XLSX reports."""
    kwargs = {
        "employeur": {"town": "Giberville", "employer": value},
        "commune": {"town": value},
        "adresse": {"town": "Giberville", "street": value},
    }[field]
    res = imports.import_file(
        imports.ImportRequest(None, "offers", data=_template_csv(**kwargs), name="c.csv", db_path=base_db, dry_run=True)
    )
    assert res.accepted == 0 and res.quarantine.iloc[0]["field"] == field
    assert "caractère de contrôle interdit" in res.quarantine.iloc[0]["reason"]


PAGE_FILES = ["app.py"] + [
    f"pages/{p}"
    for p in (
        "1_Couverture.py",
        "2_Mobilite_rurale.py",
        "3_Stages_collectifs.py",
        "4_Territoire.py",
        "5_Rapports.py",
        "6_Import.py",
        "7_Donnees.py",
        "8_Planification.py",
    )
]


#: Run in a fresh Python process by :func:`test_no_page_shows_a_traceback`: every page over the
#: database named by ``OBSERVATOIRE_DB``, one JSON line per page (exceptions, errors shown,
#: errors logged with a reference and a traceback).
_PAGES_SCRIPT = """
import json, logging, sys
sys.path.insert(0, sys.argv[1])
from streamlit.testing.v1 import AppTest

class Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []
    def emit(self, record):
        self.records.append(record)

keep = Keep()
logging.getLogger().addHandler(keep)
at = AppTest.from_file(sys.argv[1] + "/app.py", default_timeout=120)
for page in sys.argv[2:]:
    keep.records.clear()
    (at.run() if page == "app.py" else at.switch_page(page).run())
    print(json.dumps({
        "page": page,
        "exceptions": [e.value[:300] for e in at.exception],
        "errors": [e.value for e in at.error],
        "logged": any("référence" in r.getMessage() and r.exc_info for r in keep.records),
    }, ensure_ascii=False), flush=True)
"""


def test_no_page_shows_a_traceback(tmp_path):
    """Every page over an unreadable database: a French message and a log line, no traceback
    (old code: the exception and its file paths were shown in the page).

    The pages run in a fresh process: Streamlit's caches are process-wide, and this test must see
    the unreadable file, not what other tests of the session left in them.
    """
    import subprocess

    from tests.conftest import ROOT

    bad = tmp_path / "observatoire.duckdb"
    bad.write_bytes(b"ceci n'est pas une base DuckDB" * 100)
    env = {**os.environ, "OBSERVATOIRE_DB": str(bad)}
    out = subprocess.run(
        [sys.executable, "-c", _PAGES_SCRIPT, str(ROOT), *PAGE_FILES],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert [r["page"] for r in results] == PAGE_FILES
    for r in results:
        assert not r["exceptions"], (r["page"], r["exceptions"])
        assert any("erreur inattendue" in m and "référence" in m for m in r["errors"]), (r["page"], r["errors"])
        assert not any(str(tmp_path) in m for m in r["errors"])
        assert r["logged"], r["page"]


# --------------------------------------------------------------------------- item 2: upload bombs


def _forbid(monkeypatch, target, attr):
    def boom(*a, **k):
        raise AssertionError(f"{attr} appelé : le fichier aurait dû être refusé avant d'être lu")

    monkeypatch.setattr(target, attr, boom)


def test_oversized_file_is_refused_before_parsing(monkeypatch):
    from analysis.errors import DataError
    from analysis.imports import limits

    _forbid(monkeypatch, imports.reading, "decode")
    _forbid(monkeypatch, imports.reading, "_read_xlsx")
    for name in ("gros.csv", "gros.xlsx"):
        with pytest.raises(DataError, match="trop volumineux"):
            imports.read_table(b"a" * (limits.MAX_UPLOAD_BYTES + 1), name)


def _zip_bomb(member_bytes: int) -> bytes:
    """A SYNTHETIC XLSX-shaped archive whose shared strings are one huge string."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("xl/sharedStrings.xml", "w") as fh:
            fh.write(b"<sst><si><t>")
            chunk = b"A" * (1024 * 1024)
            for _ in range(member_bytes // len(chunk)):
                fh.write(chunk)
            fh.write(b"</t></si></sst>")
    return buf.getvalue()


def test_xlsx_bomb_is_refused_before_parsing(monkeypatch):
    """Old code: a 1 MB XLSX with one huge shared string took the server to 3.9 GB."""
    import openpyxl

    from analysis.errors import DataError
    from analysis.imports import limits

    data = _zip_bomb(limits.MAX_XLSX_MEMBER + 1024 * 1024)
    assert len(data) < 1024 * 1024  # small on the wire
    _forbid(monkeypatch, openpyxl, "load_workbook")
    with pytest.raises(DataError, match="classeur XLSX refusé"):
        imports.read_table(data, "bombe.xlsx")


def test_csv_with_too_many_lines_is_refused_before_parsing(monkeypatch):
    import csv

    from analysis.errors import DataError
    from analysis.imports import limits

    _forbid(monkeypatch, csv, "reader")
    with pytest.raises(DataError, match="trop de lignes"):
        imports.read_table(b"id;Ville\n" + b"1;Caen\n" * (limits.MAX_ROWS + 20), "lignes.csv")


def test_streaming_readers_stop_at_the_row_and_column_limits(monkeypatch, tmp_path):
    import io

    import openpyxl

    from analysis.errors import DataError
    from analysis.imports import limits

    monkeypatch.setattr(limits, "MAX_ROWS", 100)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "Ville"])
    for i in range(150):
        ws.append([i, "Caen"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(DataError, match="trop de lignes"):
        imports.read_table(buf.getvalue(), "lignes.xlsx")
    # a cell far to the right (column XFD) is never built: rows are not padded to 16,384 cells
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "Ville"])
    ws.append(["1", "Caen"])
    ws.cell(row=2, column=16384, value="x")
    buf = io.BytesIO()
    wb.save(buf)
    raw = imports.read_table(buf.getvalue(), "xfd.xlsx")
    assert raw.rows_in == 1 and raw.rows[0][1][:2] == ["1", "Caen"] and len(raw.rows[0][1]) == 2
    # a filled cell just beyond the limit: refused
    ws.cell(row=2, column=limits.MAX_COLUMNS + 1, value="y")
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(DataError, match="trop de colonnes"):
        imports.read_table(buf.getvalue(), "colonnes.xlsx")
    monkeypatch.setattr(limits, "MAX_ROWS", 50_000)
    wide = ";".join(f"c{i}" for i in range(limits.MAX_COLUMNS + 1)).encode()
    with pytest.raises(DataError, match="trop de colonnes"):
        imports.read_table(b"id;Ville\n" + wide + b"\n", "colonnes.csv")


def test_huge_csv_field_is_quarantined_not_built():
    from analysis.imports import limits

    raw = imports.read_table(b"id;Ville\n1;" + b"x" * (limits.MAX_CSV_FIELD + 10) + b"\n2;Caen\n", "champ.csv")
    assert raw.rows_in == 2 and len(raw.bad) == 1 and "illisible" in raw.bad[0][1]


def _spy_popen(monkeypatch):
    import subprocess

    from analysis.imports import sandbox

    procs = []
    real = subprocess.Popen

    def spy(*a, **k):
        p = real(*a, **k)
        procs.append(p)
        return p

    monkeypatch.setattr(sandbox.subprocess, "Popen", spy)
    return procs


def test_bounded_check_matches_the_in_process_check(base_db, source_dir):
    from analysis.imports import sandbox

    path = source_dir / "internships/monstagedeseconde-offers-2025/07_05_2025_data_bc_normandie.csv"
    res, stats = sandbox.run_check(path.read_bytes(), path.name, "offers", db_path=base_db)
    ref = imports.import_file(imports.ImportRequest(path, "offers", db_path=base_db, dry_run=True))
    assert (
        (res.rows_in, res.accepted, res.quarantined)
        == (ref.rows_in, ref.accepted, ref.quarantined)
        == (1532, ref.accepted, 1532 - ref.accepted)
    )
    assert stats.peak_mb is not None and stats.peak_mb < 1024


def test_bounded_check_peak_is_the_childs_own_from_a_large_parent(base_db, source_dir):
    """Old code read ru_maxrss, which survives execve: forked from a 1.5 GB test run (or server),
    the check reported 1,554 MB for the mirror's file (about 260 MB of its own)."""
    import numpy as np

    from analysis.imports import sandbox

    ballast = np.ones(160_000_000)  # 1.28 GB resident in the parent
    path = source_dir / "internships/monstagedeseconde-offers-2025/07_05_2025_data_bc_normandie.csv"
    _, stats = sandbox.run_check(path.read_bytes(), path.name, "offers", db_path=base_db)
    assert ballast.sum() == 160_000_000
    assert stats.peak_mb is not None and stats.peak_mb < 1024


def test_bounded_check_is_killed_on_time_memory_and_session_end(base_db, monkeypatch):
    """Old code: the check ran in the server, unbounded, and went on after the browser left."""
    from analysis.imports import sandbox

    procs = _spy_popen(monkeypatch)
    data = _template_csv("Giberville")
    with pytest.raises(sandbox.CheckRefused, match="plus de 0 s"):
        sandbox.run_check(data, "t.csv", "offers", db_path=base_db, seconds=0.3)
    with pytest.raises(sandbox.CheckRefused, match="mémoire"):
        sandbox.run_check(data, "t.csv", "offers", db_path=base_db, memory_bytes=120 * 1024 * 1024)
    with pytest.raises(sandbox.CheckRefused, match="session du navigateur est terminée"):
        sandbox.run_check(data, "t.csv", "offers", db_path=base_db, alive=lambda: False)
    assert len(procs) == 3 and all(p.poll() is not None for p in procs)  # no child left running


def test_bounded_check_reports_memory_when_the_loader_cannot_start_a_thread(base_db, monkeypatch):
    """CI, stop 17: under a 120 MB limit the child died in the dynamic loader while the engine
    started its threads (exit 127, "cannot allocate memory for thread-local data") and the old
    code answered "contrôle impossible (code 127)" instead of naming the memory limit."""
    import subprocess

    from analysis.imports import sandbox

    real = subprocess.Popen
    child = "import sys; sys.stderr.write('cannot allocate memory for thread-local data: ABORT\\n'); sys.exit(127)"

    def fake(args, **kw):
        return real([sys.executable, "-c", child], **kw)

    monkeypatch.setattr(sandbox.subprocess, "Popen", fake)
    with pytest.raises(sandbox.CheckRefused, match="plus de mémoire que permis"):
        sandbox.run_check(_template_csv("Giberville"), "t.csv", "offers", db_path=base_db)


def test_bounded_check_still_reports_other_child_failures_as_such():
    from analysis.imports import sandbox

    assert sandbox._out_of_memory(127, b"cannot allocate memory for thread-local data: ABORT\n")
    assert sandbox._out_of_memory(1, b"Traceback ...\nMemoryError\n")
    assert sandbox._out_of_memory(-signal.SIGABRT, b"")
    assert not sandbox._out_of_memory(1, b"Traceback ...\nKeyError: 'x'\n")
    assert not sandbox._out_of_memory(127, b"/usr/bin/python: No module named analysis\n")


def test_bounded_checks_are_capped(base_db, monkeypatch):
    from analysis.imports import sandbox

    taken = [sandbox._SLOTS.acquire(blocking=False) for _ in range(sandbox.MAX_CONCURRENT)]
    try:
        assert all(taken)
        with pytest.raises(sandbox.CheckRefused, match="trop de contrôles"):
            sandbox.run_check(b"id;Ville\n", "t.csv", "offers", db_path=base_db)
    finally:
        for _ in taken:
            sandbox._SLOTS.release()


def test_streamlit_refuses_uploads_over_the_limit():
    import tomllib

    from analysis.imports import limits
    from tests.conftest import ROOT

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == limits.MAX_UPLOAD_MB


# --------------------------------------------------------------------------- items 6, 9: secret and throttle


def test_cli_compares_the_given_secret_with_the_secrets_file(base_db, tmp_path, monkeypatch):
    """Old code: the CLI compared the environment variable with itself (a space imported)."""
    import shutil

    db_copy = tmp_path / "db.duckdb"
    shutil.copyfile(base_db, db_copy)
    before = db_copy.read_bytes()
    f = tmp_path / "offres.csv"
    f.write_bytes(_template_csv("Giberville"))
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'{imports.ENV_SECRET} = "le-vrai-secret-du-fichier"\n')
    monkeypatch.setenv(imports.ENV_SECRETS_FILE, str(secrets))
    for given in (" ", "n-importe-quel-secret"):
        monkeypatch.setenv(imports.ENV_SECRET, given)
        assert imports.main(["offers", str(f), "--db", str(db_copy), "--quiet"]) == 3
    assert db_copy.read_bytes() == before
    # without a secrets file, the variable alone never enables the command line
    monkeypatch.setenv(imports.ENV_SECRETS_FILE, str(tmp_path / "absent.toml"))
    assert imports.main(["offers", str(f), "--db", str(db_copy), "--quiet"]) == 3
    assert db_copy.read_bytes() == before
    monkeypatch.setenv(imports.ENV_SECRETS_FILE, str(secrets))
    monkeypatch.setenv(imports.ENV_SECRET, "le-vrai-secret-du-fichier")
    monkeypatch.setattr(imports.transaction, "GATE", imports.AdminGate(sleep=lambda s: None))
    assert imports.main(["offers", str(f), "--db", str(db_copy), "--quiet"]) == 0
    assert db_copy.read_bytes() != before


@pytest.mark.parametrize("configured", ["", " ", "court", " " * 20, "onze-chars!"])
def test_blank_or_short_configured_secret_disables_writing(configured, monkeypatch, tmp_path):
    monkeypatch.setenv(imports.ENV_SECRETS_FILE, str(tmp_path / "absent.toml"))
    monkeypatch.setenv(imports.ENV_SECRET, configured)
    gate = imports.AdminGate(sleep=lambda s: None)
    with pytest.raises(imports.WriteDisabled):
        gate.check(configured, key="ip:1.2.3.4")


def test_throttle_and_lockout_are_per_client(monkeypatch, tmp_path):
    """Old code: 40 failures from anyone slowed every session (the administrator waited 60 s)."""
    monkeypatch.setenv(imports.ENV_SECRETS_FILE, str(tmp_path / "absent.toml"))
    monkeypatch.setenv(imports.ENV_SECRET, "secret-de-l-administrateur")
    now = [0.0]
    waits = []
    gate = imports.AdminGate(sleep=waits.append, lockout_after=5, lockout_seconds=600, clock=lambda: now[0])
    for _ in range(40):
        with pytest.raises(imports.AuthError):
            gate.check("essai", key="ip:203.0.113.9")
    assert gate.locked_for("ip:203.0.113.9") == 600
    n_waits = len(waits)
    # locked out: refused at once (no wait, no comparison), even with the right secret
    with pytest.raises(imports.AuthError, match="Trop de tentatives"):
        gate.check("secret-de-l-administrateur", key="ip:203.0.113.9")
    assert len(waits) == n_waits
    # the administrator, from another address, is neither slowed nor locked out
    assert gate.delay_for("ip:192.0.2.1") == 0.0
    gate.check("secret-de-l-administrateur", key="ip:192.0.2.1")
    assert len(waits) == n_waits
    now[0] = 601.0
    gate.check("secret-de-l-administrateur", key="ip:203.0.113.9")  # lock-out over


# --------------------------------------------------------------------------- item 10: UTF-16


def test_utf16_with_bom_is_read_as_utf16():
    """Old code: read as cp1252, 14 "rows" for 6."""
    text = "id;Ville;Code postal\r\n" + "".join(f"{i};Évreux;27000\r\n" for i in range(6))
    for enc in ("utf-16", "utf-16-be"):
        data = (b"\xfe\xff" if enc == "utf-16-be" else b"") + text.encode(enc)
        raw = imports.read_table(data, "u16.csv")
        assert raw.encoding == "utf-16" and raw.columns == ["id", "Ville", "Code postal"]
        assert raw.rows_in == 6 and raw.rows[0][1] == ["0", "Évreux", "27000"]


# --------------------------------------------------------------------------- items 8, 10: temporaries, compaction


def test_stale_temporary_databases_are_removed_under_the_write_lock(tmp_path):
    """Old code: *.tmp-import-* and *.tmp-<pid> files of killed runs stayed forever."""
    import subprocess
    import sys

    target = tmp_path / "observatoire.duckdb"
    target.write_bytes(b"base")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()  # a process that has exited
    alive = str(os.getppid())
    stale = [
        f"observatoire.duckdb.tmp-import-{dead}-0a1b2c3d",
        f"observatoire.duckdb.tmp-import-{dead}-0a1b2c3d.wal",
        f"observatoire.duckdb.tmp-{dead}",
        f"observatoire.duckdb.tmp-{dead}.wal",
    ]
    kept = [
        f"observatoire.duckdb.tmp-import-{alive}-0a1b2c3d",
        f"observatoire.duckdb.tmp-{alive}",
        "observatoire.duckdb.tmp-import.lock",
        "autre.duckdb.tmp-1",
    ]
    for n in stale + kept:
        (tmp_path / n).write_bytes(b"x" * 10)
    from analysis import db

    with db.write_lock(target):
        left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(kept + ["observatoire.duckdb"])


def test_database_does_not_grow_over_repeated_imports(base_db, tmp_path):
    """Old code: 33.6 MB grew to 59.8 MB after five small imports (no compaction)."""
    import shutil

    target = tmp_path / "observatoire.duckdb"
    shutil.copyfile(base_db, target)
    gate = imports.AdminGate(sleep=lambda s: None)
    secret = "secret-de-test-assez-long"
    size0 = target.stat().st_size
    for i in range(5):
        data = _template_csv("Giberville").replace(b"t1;", f"c{i};".encode())
        res = imports.import_file(
            imports.ImportRequest(None, "offers", data=data, name="petit.csv", db_path=target, recompute=False),
            secret=secret,
            secrets={imports.ENV_SECRET: secret},
            gate=gate,
        )
        assert res.accepted == 1
    from analysis import db

    con = db.connect(target, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM offers WHERE source = 'import:petit'").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM imports").fetchone()[0] == 5
    finally:
        con.close()
    assert target.stat().st_size <= size0 * 1.25, (size0, target.stat().st_size)


# --------------------------------------------------------------------------- items 5, 7: sources


def _build_settings(src, dbp):
    from analysis.build import BuildSettings

    return BuildSettings(source_dir=src, db_path=dbp, gtfs=[], travel_times=False)


def test_build_without_the_ter_gtfs_fails_and_keeps_the_database(mirror_link_tree, base_db, tmp_path):
    """Old code: `sources check` said ERR but the build exited 0, replaced the database and
    dropped every transit time."""
    import shutil
    import subprocess
    import sys

    from analysis.sources import registry as sources
    from tests.conftest import ROOT

    tree = mirror_link_tree()
    sources.resolve("gtfs_ter", tree).unlink()
    target = tmp_path / "live.duckdb"
    shutil.copyfile(base_db, target)
    before = target.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.build",
            "--source",
            str(tree),
            "--db",
            str(target),
            "--no-travel-times",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "gtfs_ter" in proc.stderr and "n'a pas été modifiée" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert target.read_bytes() == before


def test_unreadable_source_file_or_folder_is_a_clear_error(mirror_link_tree, tmp_path, monkeypatch):
    """Old code: a raw PermissionError traceback, and an unreadable folder reported as missing."""
    from analysis.build import build
    from analysis.errors import DataError
    from analysis.progress import silent
    from analysis.sources import registry as sources

    tree = mirror_link_tree()
    offers_file = sources.resolve("offers_platform", tree)
    real_open = open

    def deny(path, *a, **k):  # the tests run as root: permissions are simulated
        if str(path) == str(offers_file):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(sources, "open", deny, raising=False)
    with pytest.raises(DataError) as err:
        build(_build_settings(tree, tmp_path / "x.duckdb"), silent)
    assert "offers_platform" in str(err.value) and "droits insuffisants" in str(err.value)
    assert not (tmp_path / "x.duckdb").exists()
    monkeypatch.undo()
    folder = offers_file.parent
    real_access = os.access
    monkeypatch.setattr(sources.os, "access", lambda p, m: False if Path(p) == folder else real_access(p, m))
    with pytest.raises(DataError, match="dossier illisible"):
        sources.resolve("offers_platform", tree)


def test_optional_sources_missing_are_said_in_the_summary_and_on_the_donnees_page(base_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from analysis import db
    from analysis.sources import registry as sources
    from tests.conftest import ROOT

    # absent from the mirror (``python -m analysis.sources check``): the Atoumod GTFS, the
    # Normandie OSM extract and the geolocated SIRENE file
    expected = ["gtfs_atoumod", "osm_normandie_pbf", "sirene_geo"]
    con = db.connect(base_db, read_only=True)
    try:
        assert sources.optional_missing(con) == expected
    finally:
        con.close()
    monkeypatch.setenv("OBSERVATOIRE_DB", str(base_db))
    at = AppTest.from_file(str(ROOT / "pages" / "7_Donnees.py"), default_timeout=120).run()
    assert not at.exception
    text = " ".join(i.value for i in at.info)
    assert "Sources facultatives absentes" in text and all(m in text for m in expected)


# --------------------------------------------------------------------------- item 11: supply chain


def _requirements():
    from packaging.requirements import Requirement

    from tests.conftest import ROOT

    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(ln) for ln in (x.split("#")[0].strip() for x in lines) if ln]


def test_every_requirement_has_a_bounded_tested_range():
    """Old code: only 4 of 26 requirements were pinned (no upper bounds)."""
    reqs = _requirements()
    assert len(reqs) >= 26
    for r in reqs:
        ops = {s.operator for s in r.specifier}
        assert ops == {"=="} or ({">=", "<"} <= ops), f"{r} : borne haute manquante"
    streamlit = next(r for r in reqs if r.name == "streamlit")
    assert streamlit.specifier.contains("1.67.0") and not streamlit.specifier.contains("1.68.0")


def test_lock_pins_every_requirement_with_hashes_inside_its_range():
    import re

    from tests.conftest import ROOT

    text = (ROOT / "requirements.lock").read_text()
    pins = {}
    for block in re.split(r"\n(?=[a-z0-9])", text):
        m = re.match(r"([a-z0-9][a-z0-9._-]*)==([^ \\\n]+)", block)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = (m.group(2), block.count("--hash=sha256:"))
    assert pins and all(n >= 1 for _, n in pins.values()), "paquet sans empreinte dans requirements.lock"
    for r in _requirements():
        name = r.name.lower().replace("_", "-")
        assert name in pins, f"{name} absent de requirements.lock"
        assert r.specifier.contains(pins[name][0], prereleases=True), (name, pins[name][0], str(r.specifier))
    assert "--index-url" not in text and "--find-links" not in text  # no machine-specific source
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
