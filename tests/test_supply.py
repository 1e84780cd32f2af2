"""Morning departures (analysis.gtfs.supply): one definition read by the transport-supply table, the
stops layer of the maps and analysis.transit — checked on a hand-counted SYNTHETIC timetable and
on the real TER timetable of the mirror."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from analysis import access, db, transit
from analysis.gtfs import supply
from analysis.outputs import maps
from tests.test_access import A, B, make_synthetic_db

TUESDAY = dt.date(2025, 4, 22)


def _with_routes(c):
    c.execute("CREATE TABLE transit_routes AS SELECT 'f' AS feed_id, 'r' AS route_id, 2 AS route_type")
    return c


def test_stop_departures_hand_counted():
    """SYNTHETIC timetable of tests/test_access.py (hand count in its docstring): s1 has t1 07:10
    only — t6 reaches s1 at 07:50 as its terminus, t5 leaves at 06:59, t4's service is removed on
    the date; s2 has t3 08:30 (bound included); s3 has t1 07:40 (t6 07:30 has no pick-up)."""
    c = make_synthetic_db()
    got = dict(c.execute(f"SELECT stop_id, morning_departures FROM ({supply.stop_departures_sql(TUESDAY)})").fetchall())
    assert got == {"f:s1": 1, "f:s2": 1, "f:s3": 1, "f:s9": 1}


def test_stops_layer_excludes_a_trips_last_stop():
    """The old stops layer counted t6's arrival at its terminus s1 (07:50) as a departure (2)."""
    c = _with_routes(make_synthetic_db())
    df, day = maps.stops_layer(c, TUESDAY)
    assert day == TUESDAY
    assert dict(zip(df["stop_id"], df["morning_departures"])) == {"f:s1": 1, "f:s2": 1, "f:s3": 1, "f:s9": 1}


def test_commune_totals_are_the_sum_of_the_stops():
    c = _with_routes(make_synthetic_db())
    sql, _ = access.transit_supply_sql(c, TUESDAY)
    communes = {r[0]: r[2] for r in c.execute(sql).fetchall()}
    df, _ = maps.stops_layer(c, TUESDAY)
    by_commune = df.dropna(subset=["commune_code"]).groupby("commune_code")["morning_departures"].sum()
    assert communes == {A: 2, B: 1} == by_commune.to_dict()


def test_window_bounds_and_note():
    assert supply.hhmm_seconds("08:30") == 30600
    assert supply.hhmm_seconds("25:10:05") == 90605
    assert "07:00 et 08:30" in supply.window_note(TUESDAY) and "2025-04-22" in supply.window_note(TUESDAY)


@pytest.fixture(scope="module")
def real():
    from analysis import build

    c = db.connect(build.ensure_database(), read_only=True)
    if not db.has_relation(c, "transit_stop_times"):
        pytest.skip("horaires TER absents de la base")
    yield c
    c.close()


def test_real_ter_three_readers_agree(real):
    """On the real TER timetable: the stops layer, analysis.transit.morning_departures and the
    commune totals of the transport-supply indicator count the same departures."""
    day = access.service_date_of(real)
    assert day is not None
    stops, _ = maps.stops_layer(real, day)
    assert stops["morning_departures"].sum() > 100  # a weekday morning of the Normandie TER
    per_stop = transit.morning_departures(real, day)
    merged = stops[stops["morning_departures"] > 0].merge(per_stop, on="stop_id", how="outer")
    assert (merged["morning_departures"] == merged["departures"]).all()
    sql, _ = access.transit_supply_sql(real, day)
    supply_df = pd.DataFrame(real.execute(sql).fetchall(), columns=["code", "n_stops", "deps"])
    layer = stops.dropna(subset=["commune_code"]).groupby("commune_code")["morning_departures"].sum()
    joined = supply_df.set_index("code")["deps"].reindex(layer.index).fillna(0)
    assert (joined == layer).all()
    # the main stations have departures in the window (Caen, Rouen, Le Havre)
    assert all(layer.get(code, 0) > 0 for code in ("14118", "76540", "76351"))
