"""Mobility scenarios (issue 23): the document, the added lines, and the semantics on the real mirror.

Synthetic networks below are labelled as such; the semantic tests run on the real built
database (``real_con``) and compare the baseline with the ``accessibility`` table computed by
the build (an independent implementation of the same indicators).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from analysis.scenario import evaluate as ev
from analysis.scenario import network as lines_net
from analysis.scenario.spec import ScenarioError, loads, parse
from analysis.transit import TransitNetwork, transit_matrix

ROOT = Path(__file__).resolve().parent.parent


def _line(**kw):
    base = {"stops": [{"commune": "14762"}, {"commune": "14118"}], "departures": ["07:00"], "speed_kph": 40}
    base.update(kw)
    return {"lines": [base]}


@pytest.mark.parametrize(
    ("doc", "field", "words"),
    [
        (_line(departures=["25:99"]), "lines[0].departures[0]", "25:99"),
        (_line(departures=["7h30"]), "lines[0].departures[0]", "HH:MM"),
        (_line(departures=["08:00", "07:30"]), "lines[0].departures[1]", "ordre croissant"),
        (_line(stops=[{"commune": "14762"}]), "lines[0].stops", "au moins deux arrêts"),
        (_line(stops=[{"commune": "Vire"}, {"commune": "14118"}]), "lines[0].stops[0].commune", "INSEE"),
        (_line(minutes=[10]), "lines[0]", "pas les deux"),
        (_line(speed_kph=None, minutes=[10, 12]), "lines[0].minutes", "1 durées"),
        (_line(speed_kph=500), "lines[0].speed_kph", "hors limites"),
        ({"lignes": []}, "lignes", "champ inconnu"),
        ({"bike": {"communes": [], "kph": 20}}, "bike", "aucune commune"),
        ({"hosts": [{"commune": "14762", "places": 2.5}]}, "hosts[0].places", "entier"),
        ({"hosts": [{"lon": "x", "lat": 49}]}, "hosts[0].lon", "nombre attendu"),
        ({"name": "Navette <img src=x onerror=alert(1)>"}, "name", "<"),
        ({"hosts": [{"commune": "14762", "sector": "Sant\u202eé"}]}, "hosts[0].sector", "U+202E"),
    ],
)
def test_bad_documents_name_the_field(doc, field, words):
    with pytest.raises(ScenarioError) as err:
        parse(doc)
    assert err.value.field == field
    assert words in err.value.message


def test_json_syntax_error_names_line_and_column():
    with pytest.raises(ScenarioError, match="ligne 2, colonne"):
        loads('{"name": "x",\n "lines": [}')


def _synthetic_network() -> TransitNetwork:
    """SYNTHETIC network: one existing trip far from the test points (so the base has connections)."""
    return TransitNetwork(
        service_date=date(2025, 6, 17),  # a Tuesday of the internship fortnight
        stop_ids=np.array(["x1", "x2"]),
        stop_names=np.array(["X1", "X2"]),
        stop_lonlat=np.array([[1.0, 49.0], [1.01, 49.0]]),
        dep_stop=np.array([0], dtype=np.int32),
        arr_stop=np.array([1], dtype=np.int32),
        dep_time=np.array([7 * 3600], dtype=np.int32),
        arr_time=np.array([7 * 3600 + 120], dtype=np.int32),
        trip=np.array([0], dtype=np.int32),
        can_board=np.array([True]),
        can_alight=np.array([True]),
        trip_ids=np.array(["t0"]),
        trip_route=np.array(["R"]),
        trip_headsign=np.array([""]),
    )


def test_added_line_times_by_hand():
    """A 3-stop line with given minutes (10, 15): departures at 07:00 and 07:40, 30 s dwell."""
    doc = {
        "lines": [
            {
                "stops": [{"lon": 0.0, "lat": 49.0}, {"lon": 0.1, "lat": 49.0}, {"lon": 0.2, "lat": 49.0}],
                "departures": ["07:00", "07:40"],
                "minutes": [10, 15],
            }
        ]
    }
    sc = parse(doc)
    base = _synthetic_network()
    pts = [np.array([[0.0, 49.0], [0.1, 49.0], [0.2, 49.0]])]
    secs = [lines_net.leg_seconds(sc.lines[0], pts[0], None, 4.5, 1.3)]
    net, new_stops = lines_net.with_lines(base, sc, pts, secs)
    assert list(new_stops) == [2, 3, 4]
    assert net.n_connections == 1 + 4  # two trips of two connections
    assert np.all(np.diff(net.dep_time) >= 0)  # still sorted by departure
    # trip 07:00: leaves stop 1 at 07:10:30 (10 min + 30 s dwell), reaches stop 2 at 07:25:30
    leg = (net.dep_stop == 3) & (net.dep_time < 7 * 3600 + 1800)
    assert net.dep_time[leg].tolist() == [7 * 3600 + 630] and net.arr_time[leg].tolist() == [7 * 3600 + 1530]
    # base network untouched
    assert base.n_connections == 1 and base.n_stops == 2
    # door to door from the first stop to the last: wait for 07:00 (window 07:00-08:30), ride 25.5 min
    m = transit_matrix(net, pts[0][:1], pts[0][2:], walk_only=False)
    assert m[0, 0] == pytest.approx(25.5)


def test_line_days_and_weekends():
    sc = parse(_line(days=["2025-06-16"]))  # a Monday
    assert lines_net.runs_on(sc.lines[0], date(2025, 6, 23))  # another Monday
    assert not lines_net.runs_on(sc.lines[0], date(2025, 6, 17))  # a Tuesday
    assert lines_net.runs_on(parse(_line()).lines[0], date(2025, 6, 17))
    assert not lines_net.runs_on(parse(_line()).lines[0], date(2025, 6, 21))  # Saturday


# --------------------------------------------------------------------------- real mirror
@pytest.fixture(scope="module")
def baseline(real_con):
    return ev.evaluate(real_con, parse({}))


def test_empty_scenario_changes_nothing_and_equals_the_build(real_con, baseline):
    o = baseline.origins
    assert baseline.gain_pupils == 0
    assert (o["offers_before"] == o["offers_after"]).all()
    assert np.allclose(o["places_per_pupil_before"], o["places_per_pupil_after"])
    acc = real_con.execute(
        """SELECT origin_id AS code, offers_reachable, minutes_nearest, coalesce(places_per_pupil_2sfca, 0) AS a
             FROM accessibility WHERE origin_kind = 'commune' AND mode = 'transit' AND budget_min = 45"""
    ).df()
    m = o.merge(acc, on="code")
    assert len(m) == len(o) > 2500
    assert (m["offers_before"] == m["offers_reachable"]).all()
    assert np.allclose(m["places_per_pupil_before"], m["a"])
    assert np.allclose(m["minutes_before"].fillna(-1), m["minutes_nearest"].fillna(-1), atol=1e-4)
    region = real_con.execute(
        """SELECT pupils_no_offer FROM territory_indicators WHERE level = 'region' AND origin_kind = 'commune'
              AND mode = 'transit' AND budget_min = 45"""
    ).fetchone()[0]
    assert baseline.without_before == pytest.approx(region)


def _shuttle(real_con, baseline) -> tuple[dict, str, float]:
    """The acceptance shuttle: from the commune without any reachable offer that has the most
    pupils to the nearest commune with at least 5 offers, 07:00 / 07:30 / 08:00 at 40 km/h."""
    o = baseline.origins
    worst = o[o["offers_before"] == 0].sort_values("pupils", ascending=False).iloc[0]
    lon, lat = real_con.execute("SELECT lon, lat FROM communes WHERE code = ?", [worst["code"]]).fetchone()
    target = real_con.execute(
        """SELECT c.code FROM offers f JOIN communes c ON c.code = f.commune_code
            GROUP BY c.code, c.lon, c.lat HAVING count(*) >= 5
            ORDER BY (c.lon - $lon) ^ 2 * cos(radians($lat)) ^ 2 + (c.lat - $lat) ^ 2 LIMIT 1""",
        {"lon": lon, "lat": lat},
    ).fetchone()[0]
    doc = {
        "name": "navette d'essai",
        "lines": [
            {
                "stops": [{"commune": worst["code"]}, {"commune": target}],
                "departures": ["07:00", "07:30", "08:00"],
                "speed_kph": 40,
            }
        ],
    }
    return doc, worst["code"], float(worst["pupils"])


def test_shuttle_from_the_worst_commune(real_con, baseline):
    doc, code, pupils = _shuttle(real_con, baseline)
    res = ev.evaluate(real_con, parse(doc))
    o = res.origins.set_index("code")
    assert o.loc[code, "offers_after"] > 0
    assert res.gain_pupils >= pupils - 1e-9
    assert (res.origins["offers_after"] >= res.origins["offers_before"]).all()  # no commune loses an offer
    before, after = res.origins["minutes_before"].fillna(1e9), res.origins["minutes_after"].fillna(1e9)
    assert (after <= before + 1e-6).all()  # nor any time
    # the gain is exactly the pupils of the origins going from no offer to some
    went = res.origins[(res.origins["offers_before"] == 0) & (res.origins["offers_after"] > 0)]
    assert res.gain_pupils == pytest.approx(went["pupils"].sum())
    assert res.without_before - res.without_after == pytest.approx(res.gain_pupils)
    # the EPCI table adds up
    assert res.epci["gain_pupils"].sum() == pytest.approx(res.gain_pupils)
    # the same scenario gives the same figures twice
    again = ev.evaluate(real_con, parse(doc))
    assert again.origins.equals(res.origins)


def test_bikes_and_a_new_host_never_make_anyone_worse_off(real_con, baseline):
    o = baseline.origins
    worst = o[o["offers_before"] == 0].sort_values("pupils", ascending=False)["code"].head(3).tolist()
    doc = {"bike": {"communes": worst, "kph": 20}, "hosts": [{"commune": worst[0], "sector": "Santé", "places": 3}]}
    res = ev.evaluate(real_con, parse(doc))
    r = res.origins.set_index("code")
    assert (res.origins["offers_after"] >= res.origins["offers_before"]).all()
    assert (res.origins["minutes_after"].fillna(1e9) <= res.origins["minutes_before"].fillna(1e9) + 1e-6).all()
    assert r.loc[worst[0], "offers_after"] >= 1  # the host is in the commune itself
    # an e-bike at 20 km/h reaches what a 15 km/h bike reached in 45 x 20/15 = 60 min
    bike60 = real_con.execute(
        """SELECT count(*) FROM travel_times t JOIN offers f USING (loc_id)
            WHERE t.origin_kind = 'commune' AND t.origin_id = ? AND t.mode = 'bike' AND t.minutes * 15 / 20 <= 45""",
        [worst[1]],
    ).fetchone()[0]
    assert r.loc[worst[1], "offers_after"] >= bike60


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_command_line_run_writes_nothing_and_refuses_bad_specs(real_con, baseline, tmp_path):
    from analysis import build

    db_path = Path(build.ensure_database())
    doc, code, _ = _shuttle(real_con, baseline)
    spec = tmp_path / "navette.json"
    spec.write_text(json.dumps(doc), encoding="utf-8")
    before = _sha(db_path)
    run = [sys.executable, "-m", "analysis.scenario", "run", str(spec), "--db", str(db_path)]
    out = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    doc_out = json.loads(out.stdout)
    assert doc_out["gain_pupils"] >= 1 and any(c["code"] == code for c in doc_out["communes"])
    assert doc_out["baseline"]["pupils_without_offer"] - doc_out["scenario"]["pupils_without_offer"] == pytest.approx(
        doc_out["gain_pupils"], abs=1
    )
    xlsx = tmp_path / "s.xlsx"
    out = subprocess.run(
        [*run, "--format", "xlsx", "--out", str(xlsx)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert _sha(db_path) == before
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert wb.sheetnames[:2] == ["Résumé", "Communes qui changent"]
    assert "Offres accessibles après" in [c.value for c in wb["Communes qui changent"][1]]
    for bad, field in (
        (_line(departures=["25:99"]), "departures[0]"),
        (
            {
                "lines": [
                    {
                        "stops": [{"lon": -0.9, "lat": 49.6}, {"commune": "14762"}],
                        "departures": ["07:00"],
                        "speed_kph": 30,
                    }
                ]
            },
            "stops[0]",
        ),
        ({"hosts": [{"commune": "99999"}]}, "hosts[0].commune"),
        (_line(stops=[{"commune": "14762"}]), "lines[0].stops"),
    ):
        spec.write_text(json.dumps(bad), encoding="utf-8")
        out = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert out.returncode == 2, (bad, out.stderr)
        assert "Traceback" not in out.stderr and field in out.stderr
    assert _sha(db_path) == before


def test_save_list_show_delete_are_for_administrators(real_con, tmp_path):
    import shutil

    from analysis import build, db
    from analysis.scenario import store

    copy = tmp_path / "copie.duckdb"
    shutil.copyfile(build.ensure_database(), copy)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('OBSERVATOIRE_ADMIN_SECRET = "un-secret-de-test-assez-long"\n', encoding="utf-8")
    spec = tmp_path / "velos.json"
    spec.write_text(json.dumps({"name": "Vélos à Vire", "bike": {"communes": ["14762"], "kph": 18}}), encoding="utf-8")
    env = {**__import__("os").environ, "OBSERVATOIRE_SECRETS_FILE": str(secrets)}

    def cli(*args, secret=None):
        e = dict(env)
        e.pop("OBSERVATOIRE_ADMIN_SECRET", None)
        if secret:
            e["OBSERVATOIRE_ADMIN_SECRET"] = secret
        cmd = [sys.executable, "-m", "analysis.scenario", *args, "--db", str(copy)]
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=e, timeout=300)

    before = _sha(copy)
    denied = cli("run", str(spec), "--save", secret="mauvais-secret-de-test")
    assert denied.returncode == 3 and "Traceback" not in denied.stderr
    assert _sha(copy) == before
    saved = cli("run", str(spec), "--save", secret="un-secret-de-test-assez-long")
    assert saved.returncode == 0, saved.stderr
    listed = cli("list")
    assert "Vélos à Vire" in listed.stdout
    shown = json.loads(cli("show", "Vélos à Vire").stdout)
    assert shown["spec"]["bike"]["communes"] == ["14762"] and shown["mode"] == "transit"
    # a rebuild carries the saved scenario over
    fresh = db.connect(None)
    assert store.carry_over(fresh, copy) == 1
    assert store.saved_names(fresh) == ["Vélos à Vire"]
    # only the scenarios table changed: the baseline tables are identical
    with db.connect(copy, read_only=True) as con:
        n = con.execute("SELECT count(*) FROM travel_times").fetchone()[0]
    assert n == real_con.execute("SELECT count(*) FROM travel_times").fetchone()[0]
    assert cli("delete", "Vélos à Vire").returncode == 3  # no secret
    assert cli("delete", "Vélos à Vire", secret="un-secret-de-test-assez-long").returncode == 0
    assert "Aucun scénario" in cli("list").stdout
    missing = cli("show", "Vélos à Vire")
    assert missing.returncode == 2 and "aucun scénario" in missing.stderr
