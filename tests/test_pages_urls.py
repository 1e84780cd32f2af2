"""Pages opened from URL parameters (issue 11 items 1, 2, 3, 6, 12), run with Streamlit's
AppTest on the real database: each state has its own parameter, refused values give a visible
notice then the default, "En bref" names row 1 of the ranking, the territory search, and no
deprecated Streamlit call. Expected values come from ``analysis.access`` and plain SQL."""

from __future__ import annotations

import html as html_mod
import logging
import re
from pathlib import Path

import pytest

from analysis.sanitize import markdown_unescape

ROOT = Path(__file__).resolve().parent.parent
TER = str(ROOT / "pages" / "4_Territoire.py")
COV = str(ROOT / "pages" / "1_Couverture.py")


@pytest.fixture(scope="module")
def real_db(source_dir):
    from analysis import build

    return build.ensure_database()


@pytest.fixture()
def app_env(real_db, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_DB", str(real_db))
    return real_db


def _run(path: str, params: dict, env=None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(path, default_timeout=180)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _title(at) -> str:
    return markdown_unescape(at.title[0].value)  # the title as shown (names escaped for Markdown)


def _warnings(at) -> str:
    # the notices as shown: they quote the refused value escaped for Markdown (issue 24)
    return "\n".join(markdown_unescape(w.value) for w in at.warning)


# ------------------------------------------------------------------ item 1: Territoire URLs


def test_commune_link_without_level_opens_the_commune(app_env):
    at = _run(TER, {"code": "61168", "mode": "transit", "minutes": "45"})
    assert _title(at) == "Fiche territoire : La Ferté Macé"
    assert at.query_params["echelon"] == "commune" and at.query_params["code"] == "61168"
    assert not _warnings(at)


def test_grade_filter_and_territory_are_separate_parameters(app_env):
    at = _run(TER, {"echelon": "commune", "code": "61168", "niveau": "seconde"})
    assert _title(at) == "Fiche territoire : La Ferté Macé"
    assert at.session_state["ter_grade"] == "seconde"
    assert at.query_params["niveau"] == "seconde"
    assert at.query_params["echelon"] == "commune"
    assert "seconde" in " ".join(c.value for c in at.caption)


def test_documented_level_form_still_read(app_env):
    at = _run(TER, {"niveau": "epci", "code": "200067205"})  # CA du Cotentin
    assert _title(at) == "Fiche territoire : CA du Cotentin"
    assert at.query_params["echelon"] == "epci"
    assert "niveau" not in at.query_params  # no grade filter was asked
    assert at.session_state["ter_grade"] == ""


# ------------------------------------------------------------------ item 2: visible notices


def test_unknown_territory_code_gives_a_notice(app_env):
    at = _run(TER, {"code": "999999999"})
    assert _title(at) == "Fiche territoire : CU Caen la Mer"
    text = _warnings(at)
    assert "code=999999999" in text and "EPCI inconnu" in text
    assert "Fiche affichée par défaut : CU Caen la Mer" in text
    at.run()  # the notice stays while the default is shown
    assert "code=999999999" in _warnings(at)


def test_unknown_budget_and_sector_give_notices(app_env):
    at = _run(COV, {"minutes": "75", "secteur": ["enseignement", "Astronautique"]})
    text = _warnings(at)
    assert "minutes=75" in text and "15, 30, 45 ou 60 min" in text
    assert "Valeur par défaut utilisée : 45 min" in text
    assert "Astronautique" in text
    assert at.session_state["cov_minutes"] == 45
    assert at.session_state["cov_sectors"] == ["Enseignement"]  # matched, not dropped
    at.sidebar.select_slider[0].set_value(30).run()  # the user changes the budget
    assert "minutes=75" not in _warnings(at)


def test_reports_and_mobility_links_checked_without_false_notices(app_env):
    rep = str(ROOT / "pages" / "5_Rapports.py")
    at = _run(rep, {"echelle": "departement", "code": "99"})
    assert "Département inconnu : « 99 »" in _warnings(at)
    at = _run(rep, {"echelle": "epci", "code": "200065597"})
    assert not _warnings(at)
    # changing the level leaves an EPCI code in the address: not a link to warn about
    at.radio(key="rep_level").set_value("commune").run()
    assert not at.exception and not _warnings(at)
    at = _run(str(ROOT / "pages" / "2_Mobilite_rurale.py"), {"minutes": "75"})
    assert "Budget-temps de 75 min non disponible" in _warnings(at)


# ------------------------------------------------------------------ item 3: rankings


def _table_rows(at) -> list[list[str]]:
    html = next(m.value for m in at.markdown if "obs-table-box" in m.value)
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    return [
        [html_mod.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)] for r in rows if "<td" in r
    ]


def test_en_bref_names_row_one_and_ties_by_pupils(app_env):
    from analysis import access, db
    from analysis.text import strip_accents

    con = db.connect(app_env, read_only=True)
    try:
        df = access.territory_indicators(con, "epci", access.Filters())
        outside = {
            r[0]
            for r in con.execute(
                "SELECT name FROM epci WHERE population_dgcl_normandie < 0.5 * population_dgcl_total"
            ).fetchall()
        }
    finally:
        con.close()
    # independent order: worst share, most pupils without an offer, name
    exp = sorted(df.itertuples(), key=lambda r: (-r.share_no_offer, -r.pupils_no_offer, strip_accents(r.name).lower()))
    at = _run(COV, {"niveau_carte": "epci", "indicateur": "share_no_offer"})
    rows = _table_rows(at)
    en_bref = next(m.value for m in at.markdown if "En bref" in m.value)
    assert rows[0][1] == exp[0].name and f"({exp[0].name})" in en_bref
    assert [r[1].replace(" (majoritairement hors Normandie)", "") for r in rows[:5]] == [r.name for r in exp[:5]]
    marked = {
        r[1].replace(" (majoritairement hors Normandie)", "")
        for r in _table_rows(at)
        if "majoritairement hors Normandie" in r[1]
    }
    assert "CC Maine Saosnois" in marked and marked <= outside
    # hidden on demand, from the URL
    at = _run(COV, {"niveau_carte": "epci", "masquer_hors": "1"})
    names = [r[1] for r in _table_rows(at)]
    assert not any("hors Normandie" in n or n in outside for n in names)
    assert at.query_params["masquer_hors"] == "1"


# ------------------------------------------------------------------ item 6: territory search


def test_territory_search_in_the_page(app_env):
    at = _run(TER, {})
    at.sidebar.text_input(key="ter_search").input("Deauville").run()
    labels = [b.label for b in at.sidebar.button]
    assert "EPCI : CC Coeur Côte Fleurie (commune membre : Deauville)" in labels
    at.sidebar.button(key="ter_pick_epci_241400415").click().run()
    assert _title(at) == "Fiche territoire : CC Coeur Côte Fleurie"
    assert at.query_params["code"] == "241400415"
    at.sidebar.text_input(key="ter_search").input("Cœur Côte").run()
    assert any("CC Coeur Côte Fleurie" in b.label for b in at.sidebar.button)
    at.sidebar.text_input(key="ter_search").input("Astronautique").run()
    assert "Aucun résultat pour « Astronautique »" in " ".join(i.value for i in at.sidebar.info)


# ------------------------------------------------------------------ item 12: deprecated APIs


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


PAGES = [
    "pages/1_Couverture.py",
    "pages/2_Mobilite_rurale.py",
    "pages/3_Stages_collectifs.py",
    "pages/4_Territoire.py",
    "pages/5_Rapports.py",
    "pages/6_Import.py",
    "pages/7_Donnees.py",
]


# the Accueil page file run on its own (no st.navigation); st.page_link needs the navigation's
# page registry, so it is stubbed for the run and restored (the streamlit module is shared by
# every AppTest of the pytest process)
HOME = (
    "import sys\n"
    f"sys.path.insert(0, {str(ROOT)!r})\n"
    "import runpy, streamlit as st\n"
    "_page_link = st.page_link\n"
    "st.page_link = lambda *a, **k: None\n"
    "try:\n"
    f"    runpy.run_path({str(ROOT / 'pages' / '0_Accueil.py')!r})\n"
    "finally:\n"
    "    st.page_link = _page_link\n"
)


@pytest.mark.parametrize("page", PAGES + ["pages/0_Accueil.py (Accueil)"])
def test_no_deprecated_streamlit_call(app_env, page):
    """Streamlit logs a deprecation (``streamlit.deprecation_util``) for
    ``st.components.v1.html``, ``use_container_width``… (not a Python DeprecationWarning)."""
    from streamlit import deprecation_util
    from streamlit.testing.v1 import AppTest

    handler = _Collect()
    logger = deprecation_util._LOGGER
    logger.addHandler(handler)
    try:
        if page.endswith("(Accueil)"):
            at = AppTest.from_string(HOME, default_timeout=180)
            at.run()
            assert not at.exception, [e.value for e in at.exception]
        else:
            _run(str(ROOT / page), {})
    finally:
        logger.removeHandler(handler)
    assert not [m for m in handler.messages if "removed" in m or "deprecat" in m.lower()], handler.messages


# ------------------------------------------------------------------ item 1: parameter audit


#: URL parameter read by default by the mode and budget widgets of ui.filters.
CHOICE_PARAMS = {"mode_choice": "mode", "budget_choice": "minutes"}


def _read_params(path: Path) -> list[str]:
    """Names read with ``core.qp_get`` / ``core.qp_get_list`` in a file (first argument), with
    ``ui.filters._choice_radio`` (second argument), or with ``ui.filters.mode_choice`` /
    ``budget_choice`` (their ``param``, by default ``mode`` / ``minutes``)."""
    import ast

    names = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("qp_get", "qp_get_list"):
            arg = node.args[0] if node.args else None
        elif isinstance(node.func, ast.Name) and node.func.id == "_choice_radio":
            arg = node.args[1] if len(node.args) > 1 else None
        elif (name := getattr(node.func, "attr", getattr(node.func, "id", ""))) in CHOICE_PARAMS:
            given = [k.value for k in node.keywords if k.arg == "param"]
            arg = given[0] if given else ast.Constant(CHOICE_PARAMS[name])
        else:
            continue
        if isinstance(arg, ast.Constant):
            names.append(arg.value)
    return names


def test_no_url_parameter_read_twice_on_a_page():
    """Each page reads each URL parameter once (its filters included): one meaning per name.
    Before issue 11, Territoire read ``niveau`` for its level and again as the grade."""
    sidebar = _read_params(ROOT / "ui" / "filters.py")
    assert {"mode", "minutes", "secteur", "niveau", "accueil", "origine"} <= set(sidebar)
    for page in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        names = _read_params(page)
        if "filters.sidebar(" in page.read_text("utf-8"):
            names += sidebar
        dup = {n for n in names if names.count(n) > 1}
        assert not dup, f"{page.name} : paramètres lus deux fois {dup}"
