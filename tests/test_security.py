"""Hostile input (issue 12): escaping, import refusals, spreadsheet formulas, limits, secrets.

Files written by these tests are SYNTHETIC fixtures (hostile names, made-up ids); the
database is the one built from the real mirror (``base_db`` of ``conftest.py``). Expected
values are written by hand from the rules (OWASP CSV injection, HTML escaping), not read
back from the code under test. ``docs/security.md`` maps each promise to its test here.
"""

from __future__ import annotations

import json

import folium
import pandas as pd
import pytest

from analysis import imports, sanitize

XSS = "<img src=x onerror=\"alert('x')\">"


# --------------------------------------------------------------------------- item 1: escaping


def test_html_text_escapes_markup_and_template_literal_characters():
    assert sanitize.html_text(f"Giberville {XSS}") == (
        "Giberville &lt;img src=x onerror=&quot;alert(&#x27;x&#x27;)&quot;&gt;")
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

    layers = [c for c in m._children.values() if isinstance(c, mapping._FastMarkerCluster)]
    assert len(layers) == 1
    return json.loads(layers[0].data_text)


def test_offer_and_school_markers_escape_tooltips_and_popups():
    """Old code: the offer tooltip (town) and the lycée tooltip (name) were raw HTML."""
    from ui import mapping

    pts = pd.DataFrame({"lat": [49.18], "lon": [-0.31], "n_offers": [2], "town": [f"Giberville {XSS}"],
                        "sectors": [XSS], "location_precision": ["commune"], "sources": ["${alert(2)}"]})
    m = folium.Map(tiles=None)
    mapping.offers_layer(m, pts)
    (_, _, popup, tip), = _cluster_rows(m)
    assert tip == "2 offre(s) — Giberville &lt;img src=x onerror=&quot;alert(&#x27;x&#x27;)&quot;&gt;"
    assert "<img" not in popup and "${" not in popup and "&lt;img" in popup
    sch = pd.DataFrame({"lat": [49.18], "lon": [-0.31], "name": [XSS], "commune": ["Caen"],
                        "is_public": [True], "seconde_pupils": [100]})
    m = folium.Map(tiles=None)
    mapping.schools_layer(m, sch)
    (_, _, popup, tip), = _cluster_rows(m)
    assert tip == sanitize.html_text(XSS) and "<img" not in popup


def test_html_table_and_legend_escape_cells():
    from analysis import maps

    html = maps.table_html(pd.DataFrame({XSS: [XSS, "${x}"], "n": [1, 2]}))
    assert "<img" not in html and "${" not in html and html.count("&lt;img") == 2
    legend = maps.legend_html(XSS, [("#fff", XSS)])
    assert "<img" not in legend and legend.count("&lt;img") == 2


def _template_csv(town: str, street: str = "1 rue de la Gare", employer: str = "Acme") -> bytes:
    return ("identifiant;employeur;secteur;adresse;code_postal;commune;niveaux\n"
            f"t1;{employer};Industrie;{street};14730;{town};seconde\n").encode()


@pytest.mark.parametrize("field,kwargs", [
    ("commune", {"town": f"Giberville {XSS}"}),
    ("adresse", {"town": "Giberville", "street": "1 rue <b>"}),
    ("employeur", {"town": "Giberville", "employer": "Acme >"}),
])
def test_import_quarantines_markup_naming_the_field(base_db, field, kwargs):
    """Old code: the commune matcher accepted « Giberville <img …> » as Giberville."""
    res = imports.import_file(None, "offers", data=_template_csv(**kwargs), name="h.csv", db_path=base_db,
                              dry_run=True)
    assert (res.rows_in, res.accepted, res.quarantined) == (1, 0, 1)
    q = res.quarantine.iloc[0]
    assert q["field"] == field and "balises HTML refusées" in q["reason"] and q["row_number"] == 1


def test_import_accepts_the_same_row_without_markup(base_db):
    res = imports.import_file(None, "offers", data=_template_csv("Giberville"), name="ok.csv", db_path=base_db,
                              dry_run=True)
    assert (res.accepted, res.quarantined) == (1, 0)


def test_import_refuses_markup_in_collective_and_mobility_fields(base_db):
    coll = ("project_id;name;kind;town;commune_code;source\n"
            f"p1;Projet {XSS};bi-entreprises;Caen;14118;CREFOP\n").encode()
    res = imports.import_file(None, "collective", data=coll, name="c.csv", db_path=base_db, dry_run=True)
    assert res.quarantine.iloc[0]["field"] == "name" and res.accepted == 0
    mob = (b"siren_epci;type_service;nom;description;source\n"
           b"200065597;autre;Navette;<script>alert(1)</script>;CU\n")
    res = imports.import_file(None, "mobility", data=mob, name="m.csv", db_path=base_db, dry_run=True)
    assert res.quarantine.iloc[0]["field"] == "description" and res.accepted == 0


def test_uploaded_file_name_and_source_name_are_cleaned(base_db):
    res = imports.import_file(None, "offers", data=_template_csv("Giberville"), db_path=base_db, dry_run=True,
                              name="../../<script>x</script>\x00.csv")
    assert res.file == "script_.csv"  # last path component, control char dropped, ">" replaced
    with pytest.raises(ValueError, match="nom de source refusé"):
        imports.import_file(None, "offers", data=_template_csv("Giberville"), name="ok.csv", db_path=base_db,
                            dry_run=True, source="<b>x</b>")


# --------------------------------------------------------------------------- item 3: formulas in exports

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+33 6 00", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_writer_neutralises_formulas_and_keeps_numbers():
    import csv
    import io

    from analysis import export

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


@pytest.mark.parametrize("value,field", [("Acme\x00", "employeur"), ("Gi\x07berville", "commune"),
                                         ("1 rue\x1b[31m", "adresse"), ("Acme\u2028", "employeur")])
def test_import_quarantines_control_characters(base_db, value, field):
    """Old code: a NUL in an accepted field was stored, and later broke the XLSX reports."""
    kwargs = {"employeur": {"town": "Giberville", "employer": value}, "commune": {"town": value},
              "adresse": {"town": "Giberville", "street": value}}[field]
    res = imports.import_file(None, "offers", data=_template_csv(**kwargs), name="c.csv", db_path=base_db,
                              dry_run=True)
    assert res.accepted == 0 and res.quarantine.iloc[0]["field"] == field
    assert "caractère de contrôle interdit" in res.quarantine.iloc[0]["reason"]


PAGE_FILES = ["app.py"] + [f"pages/{p}" for p in (
    "1_Couverture.py", "2_Mobilite_rurale.py", "3_Stages_collectifs.py", "4_Territoire.py",
    "5_Rapports.py", "6_Import.py", "7_Donnees.py")]


def test_no_page_shows_a_traceback(tmp_path, monkeypatch, caplog):
    """Every page over an unreadable database: a French message and a log line, no traceback
    (old code: the exception and its file paths were shown in the page)."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    bad = tmp_path / "observatoire.duckdb"
    bad.write_bytes(b"ceci n'est pas une base DuckDB" * 100)
    monkeypatch.setenv("OBSERVATOIRE_DB", str(bad))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for page in PAGE_FILES:
        caplog.clear()
        if page == "app.py":
            at.run()
        else:
            at.switch_page(page).run()
        assert not at.exception, (page, [e.value[:300] for e in at.exception])
        messages = [e.value for e in at.error]
        assert any("erreur inattendue" in m and "référence" in m for m in messages), (page, messages)
        assert not any(str(tmp_path) in m for m in messages)
        assert any(r.levelname == "ERROR" and "référence" in r.getMessage() and r.exc_info
                   for r in caplog.records), page
