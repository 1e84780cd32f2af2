"""The Scénarios page (issue 23) run with Streamlit's AppTest on the real database: a shared link
reopens the scenario and its result, a bad link gives a French notice, a bad form a French refusal,
and nothing is written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ui import scenario as sc

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "11_Scenarios.py")
#: a shuttle for the URL tests (any two communes: the link must reopen it whatever it gains)
SHUTTLE = {
    "name": "Navette Malaunay",
    "lines": [
        {
            "name": "Navette",
            "stops": [{"commune": "76402"}, {"commune": "76057"}],
            "departures": ["07:00", "07:30", "08:00"],
            "speed_kph": 40,
        }
    ],
}


@pytest.fixture()
def app_env(source_dir, monkeypatch):
    from analysis import build

    path = build.ensure_database()
    monkeypatch.setenv("OBSERVATOIRE_DB", str(path))
    return Path(path)


def _run(params: dict):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=300)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_url_round_trip_and_refusals():
    assert sc.decode(sc.encode(SHUTTLE)) == SHUTTLE
    for bad in ("%%%", "x" * 7000, sc.encode({"lines": [{"stops": [{"commune": "76402"}]}]})):
        with pytest.raises(sc.spec.ScenarioError):
            sc.decode(bad)
    doc = sc.document("Essai", ["76402", "76057"], "07:00 07:30;08:00", 40, "", ["76402"], 20, None, "", 1)
    assert doc["lines"][0]["departures"] == ["07:00", "07:30", "08:00"]
    assert doc["bike"] == {"communes": ["76402"], "kph": 20} and "hosts" not in doc


def _acceptance_shuttle(path: Path) -> dict:
    """The acceptance shuttle of issue 23 (worst commune to the nearest with >= 5 offers), as
    ``tests/test_scenario.py`` builds it from the real database."""
    from test_scenario import _shuttle

    from analysis import db
    from analysis.scenario import evaluate as ev
    from analysis.scenario.spec import parse

    with db.connect(path, read_only=True, spatial=False) as con:
        doc, _code, _pupils = _shuttle(con, ev.evaluate(con, parse({})))
    return doc


def test_shared_link_reopens_the_scenario_and_writes_nothing(app_env):
    doc = _acceptance_shuttle(app_env)
    before = hashlib.sha256(app_env.read_bytes()).hexdigest()
    at = _run({"scenario": sc.encode(doc), "mode": "transit", "minutes": "45"})
    metrics = {m.label: m.value for m in at.metric}
    gained = metrics["Élèves gagnés"]
    assert int(gained.split()[0].replace("\u202f", "")) > 0, gained
    assert at.text_input[0].value == doc["name"]
    assert at.multiselect[0].value == [s["commune"] for s in doc["lines"][0]["stops"]]
    assert at.query_params["scenario"] in (sc.encode(doc), [sc.encode(doc)])
    assert hashlib.sha256(app_env.read_bytes()).hexdigest() == before


def test_bad_link_and_bad_form_are_refused_in_french(app_env):
    at = _run({"scenario": "pas-un-scenario"})
    assert any("scénario ignoré" in w.value for w in at.warning)
    assert any("Décrivez une navette" in i.value for i in at.info)
    at.multiselect[0].set_value(["76402"])  # a single stop
    at.button[0].click()
    at.run()
    assert not at.exception
    assert any("au moins deux arrêts" in e.value for e in at.error)
