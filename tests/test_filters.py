"""The sidebar filters (ui.filters.sidebar) read from the URL, on the built database, with
Streamlit's AppTest: grade, host and origin radios seeded from ``niveau``, ``accueil`` and
``origine``; a refused value gives the French notice naming the filter and the default used.
Expected texts are written here by hand."""

from __future__ import annotations

import pytest

from analysis import build
from analysis.sanitize import markdown_unescape


def _page():
    import streamlit as st

    from ui import core, filters

    view = filters.sidebar("t")
    st.markdown(f"vue={view.grade}|{view.host}|{view.origin_kind}")
    core.sync_query(view.query())


def _run(**params):
    from streamlit.testing.v1 import AppTest

    build.ensure_database()  # the built database the pages read (built once if absent)
    at = AppTest.from_function(_page, default_timeout=60)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _view(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("vue="))


def test_radios_are_seeded_from_the_url():
    at = _run(niveau="3e", accueil="prive", origine="school")
    assert _view(at) == "vue=3e|prive|school"
    radios = {r.label: r.value for r in at.sidebar.radio}
    assert radios == {"Niveau visé par l'offre": "3e", "Accueil": "prive", "Origine des élèves": "school"}
    assert [w.value for w in at.warning] == []


def test_defaults_without_parameters():
    at = _run()
    assert _view(at) == "vue=||commune"
    assert [r.options for r in at.sidebar.radio] == [
        ["Tous niveaux", "Seconde", "Troisième"],
        ["Public et privé", "Public", "Privé"],
        ["Communes de résidence (élèves estimés)", "Lycées (effectifs réels)"],
    ]


@pytest.mark.parametrize(
    "param, raw, what, shown",
    [
        ("niveau", "cinquieme", "le niveau visé par l'offre", "tous niveaux"),
        ("accueil", "associatif", "l'accueil", "public et privé"),
        ("origine", "gare", "l'origine des élèves", "communes de résidence"),
    ],
)
def test_refused_value_gives_the_notice_and_the_default(param, raw, what, shown):
    at = _run(**{param: raw})
    assert _view(at) == "vue=||commune"
    (notice,) = [markdown_unescape(w.value) for w in at.warning]  # as shown (escaped for Markdown)
    assert notice.startswith(f"Lien de la page : paramètre « {param}={raw} » ignoré.")
    assert what in notice and notice.endswith(f"Valeur par défaut utilisée : {shown}.")


# ------------------------------------------------------------------ one default view (issue 21)

#: The default view's values, written in analysis/config.py only.
DEFAULT_LITERALS = ("transit", 45)


def _is_default_literal(node) -> bool:
    import ast

    return isinstance(node, ast.Constant) and type(node.value) in (str, int) and node.value in DEFAULT_LITERALS


def _default_copies(path, pages: bool) -> list[str]:
    """Where ``path`` writes the default view again: a parameter, field, ``qp_get`` or argparse
    default equal to ``"transit"`` or ``45``; in the pages (``pages``), any bare ``45`` (outside a
    list of values such as the histogram breaks) and any text « 45 min »."""
    import ast

    tree = ast.parse(path.read_text("utf-8"))
    in_display = {id(e) for n in ast.walk(tree) if isinstance(n, (ast.List, ast.Tuple, ast.Set)) for e in n.elts}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arguments):
            found += [
                f"parameter default line {d.lineno}"
                for d in (*node.defaults, *node.kw_defaults)
                if d is not None and _is_default_literal(d)
            ]
        elif isinstance(node, ast.ClassDef):
            found += [
                f"field default line {s.lineno}"
                for s in node.body
                if isinstance(s, ast.AnnAssign) and s.value is not None and _is_default_literal(s.value)
            ]
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            found += [
                f"{name}(default=) line {node.lineno}"
                for kw in node.keywords
                if kw.arg == "default" and _is_default_literal(kw.value)
            ]
            if name == "qp_get" and len(node.args) > 1 and _is_default_literal(node.args[1]):
                found.append(f"qp_get default line {node.lineno}")
        elif pages and isinstance(node, ast.Constant):
            if type(node.value) is int and node.value == 45 and id(node) not in in_display:
                found.append(f"literal 45 line {node.lineno}")
            if isinstance(node.value, str) and "45 min" in node.value:
                found.append(f"text « 45 min » line {node.lineno}")
    return found  # fmt: skip


def test_default_view_is_defined_once():
    """« transports en commun, 45 min » is analysis.config's DEFAULT_MODE / DEFAULT_BUDGET_MIN, and
    every default reads it: Filters, the sidebar's View, the budgets of the pages."""
    import inspect

    from analysis import access, config
    from analysis.planning import demand
    from analysis.scenario import evaluate
    from ui import core, filters

    assert (config.DEFAULT_MODE, config.DEFAULT_BUDGET_MIN) == ("transit", 45)
    f = access.Filters()
    assert (f.mode, f.minutes) == (config.DEFAULT_MODE, config.DEFAULT_BUDGET_MIN)
    assert filters.View().filters == f and filters.View().query()["minutes"] == config.DEFAULT_BUDGET_MIN
    assert core.BUDGETS is config.DEFAULT_BUDGETS_MIN and config.DEFAULT_BUDGET_MIN in core.BUDGETS
    assert (demand.DemandSpec().mode, demand.DemandSpec().minutes) == (config.DEFAULT_MODE, config.DEFAULT_BUDGET_MIN)
    params = inspect.signature(evaluate.evaluate).parameters
    assert (params["mode"].default, params["minutes"].default) == (config.DEFAULT_MODE, config.DEFAULT_BUDGET_MIN)


def test_no_copy_of_the_default_view_in_the_code():
    """No module writes the default view again (only analysis/config.py): an AST scan that fails
    when someone writes ``mode="transit"`` / ``minutes=45`` as a default, or « 45 min » in a page."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pages = [root / "app.py", *sorted((root / "pages").glob("*.py")), *sorted((root / "ui").glob("*.py"))]
    logic = [p for p in sorted((root / "analysis").rglob("*.py")) if p != root / "analysis" / "config.py"]
    copies = {
        str(p.relative_to(root)): found
        for p, is_page in [*((p, True) for p in pages), *((p, False) for p in logic)]
        if (found := _default_copies(p, is_page))
    }
    assert copies == {}


def test_the_scan_finds_a_copy(tmp_path):
    """The scan above is not blind: each kind of copy it looks for is found."""
    page = tmp_path / "page.py"
    page.write_text(
        "def f(mode='transit'):\n    pass\n"
        "class V:\n    minutes: int = 45\n"
        "x = core.qp_get('mode', 'transit')\n"
        "p.add_argument('--minutes', default=45)\n"
        "t = 'à 45 min'\n"
        "br = [15, 30, 45]\n",
        "utf-8",
    )
    found = _default_copies(page, True)
    assert [s.split(" line")[0] for s in found].count("literal 45") == 2  # the field and add_argument's, not br
    for kind in ("parameter default", "field default", "qp_get default", "add_argument(default=)", "text « 45 min »"):
        assert any(s.startswith(kind) for s in found), (kind, found)
    assert _default_copies(page, False) and not any(s.startswith("literal") for s in _default_copies(page, False))
