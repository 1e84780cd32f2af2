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
