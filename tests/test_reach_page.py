"""The page « Élèves » opened from its URL (Streamlit AppTest, real database): the lycée sheet
from ``lycee=UAI``, a refused UAI with a visible notice, no class file -> nothing computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.sanitize import markdown_unescape

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "10_Eleves.py")


@pytest.fixture()
def app_env(source_dir, monkeypatch):
    from analysis import build

    monkeypatch.setenv("OBSERVATOIRE_DB", str(build.ensure_database()))


def _run(params: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=240)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_lycee_from_url_and_refused_uai(app_env):
    at = _run({"lycee": "0141555p", "mode": "car", "minutes": "30"})
    assert [markdown_unescape(s.value) for s in at.subheader][0] == "Lycée Marie Curie (0141555P), Vire Normandie"
    assert at.query_params["lycee"] == ["0141555P"] or at.query_params["lycee"] == "0141555P"
    assert any("Voiture, 30 min" in m.value for m in at.markdown)
    at = _run({"lycee": "0000000X"})
    assert any("lycee=0000000X" in markdown_unescape(w.value) and "ignoré" in w.value for w in at.warning)
    assert not at.subheader
