"""Dashboard pages on a database without travel times (base stages only): every page runs
without a Streamlit exception and the indicator pages show the French notice asking to run
the build. Runs the page scripts with Streamlit's AppTest (no browser needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PAGES = {
    "pages/1_Couverture.py": True,
    "pages/2_Mobilite_rurale.py": True,
    "pages/3_Stages_collectifs.py": True,
    "pages/4_Territoire.py": True,
    "pages/7_Donnees.py": False,
    "pages/11_Scenarios.py": True,
}


@pytest.fixture()
def base_only_db(base_db, monkeypatch):
    from analysis import access, db

    con = db.connect(base_db, read_only=True)
    try:
        assert not access.has_relation(con, "travel_times")
    finally:
        con.close()
    monkeypatch.setenv("OBSERVATOIRE_DB", str(base_db))
    return base_db


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [w.value for w in at.warning]
    parts += [t.value for t in at.title] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page,needs_times", list(PAGES.items()), ids=list(PAGES))
def test_page_without_travel_times(base_only_db, page, needs_times):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / page), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = _texts(at)
    if needs_times:
        assert "Temps de trajet non calculés" in text
        assert "python -m analysis.build" in text
    else:
        assert "fichiers sources** chargés" in text


def test_home_without_travel_times(base_only_db):
    """The Accueil page (pages/0_Accueil.py) run on its own, without the navigation."""
    from streamlit.testing.v1 import AppTest

    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import runpy, streamlit as st\n"
        f"runpy.run_path({str(ROOT / 'pages' / '0_Accueil.py')!r})\n"
    )
    at = AppTest.from_string(script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Temps de trajet non calculés" in _texts(at)
