"""The transit service date looked up in one query (issue 15, the import's transit load).

The calendars below are SYNTHETIC fixtures (made-up services and trips).
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest

from analysis.transit import service


@pytest.fixture()
def calendar_con():
    """Two feeds. Feed A: weekday service WK (Mon-Fri, March 2025) with 3 trips, Tuesday-only
    service TU (2025-03-04 .. 2025-03-18) with 2 trips, removed on 2025-03-11; extra service XS
    (1 trip) added on Sunday 2025-03-09 and on Tuesday 2025-03-25. Feed B: a service also named
    WK (Saturdays) with 4 trips: trips are counted by service id, whatever their feed, as the
    day-by-day count does."""
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE transit_calendar (feed_id VARCHAR, service_id VARCHAR, monday BOOLEAN, tuesday BOOLEAN,
           wednesday BOOLEAN, thursday BOOLEAN, friday BOOLEAN, saturday BOOLEAN, sunday BOOLEAN,
           start_date DATE, end_date DATE)"""
    )
    con.execute(
        """INSERT INTO transit_calendar VALUES
           ('A', 'WK', true, true, true, true, true, false, false, '2025-03-01', '2025-03-31'),
           ('A', 'TU', false, true, false, false, false, false, false, '2025-03-04', '2025-03-18'),
           ('B', 'WK', false, false, false, false, false, true, false, '2025-03-01', '2025-03-31')"""
    )
    con.execute(
        "CREATE TABLE transit_calendar_dates (feed_id VARCHAR, service_id VARCHAR, date DATE, exception_type INTEGER)"
    )
    con.execute(
        """INSERT INTO transit_calendar_dates VALUES
           ('A', 'TU', '2025-03-11', 2), ('A', 'XS', '2025-03-09', 1), ('A', 'XS', '2025-03-25', 1),
           ('A', 'WK', '2025-03-14', 2)"""
    )
    con.execute("CREATE TABLE transit_trips (feed_id VARCHAR, trip_id VARCHAR, service_id VARCHAR)")
    trips = [("A", f"w{i}", "WK") for i in range(3)] + [("A", f"t{i}", "TU") for i in range(2)]
    trips += [("A", "x0", "XS")] + [("B", f"b{i}", "WK") for i in range(4)]
    con.executemany("INSERT INTO transit_trips VALUES (?, ?, ?)", trips)
    yield con
    con.close()


def test_trip_counts_hand_computed(calendar_con):
    got = service.trip_counts(
        calendar_con, [date(2025, 3, d) for d in (3, 4, 8, 9, 11, 14, 25)] + [date(2025, 4, 1)], ["A"]
    )
    # WK runs Mon-Fri in feed A (7 trips named WK over both feeds), TU adds 2 on Tuesdays
    assert got == {
        date(2025, 3, 3): 7,  # Monday: WK
        date(2025, 3, 4): 9,  # Tuesday: WK + TU
        date(2025, 3, 8): 0,  # Saturday: feed B's WK not considered (feed A only)
        date(2025, 3, 9): 1,  # Sunday: XS added
        date(2025, 3, 11): 7,  # Tuesday, TU removed
        date(2025, 3, 14): 0,  # Friday, WK removed
        date(2025, 3, 25): 8,  # Tuesday after TU's end: WK + XS
        date(2025, 4, 1): 0,  # after every calendar
    }
    assert service.trip_counts(calendar_con, [date(2025, 3, 8)], ["A", "B"]) == {date(2025, 3, 8): 7}
    assert service.trip_counts(calendar_con, [], ["A"]) == {}


def test_trip_counts_equal_the_day_by_day_count(calendar_con):
    days = [date(2025, 2, 20) + timedelta(days=i) for i in range(50)]
    for feeds in (["A"], ["B"], ["A", "B"]):
        want = {d: service._trip_count(calendar_con, d, feeds) for d in days}
        assert service.trip_counts(calendar_con, days, feeds) == want


def test_default_service_date_on_the_mirror_feed_equals_the_day_by_day_choice(real_con):
    """On the real feed: the Tuesday chosen from one query is the one the day-by-day counts give."""
    feeds = service.routable_feeds(real_con)
    ids = feeds["feed_id"].tolist()
    start, end = (pd.Timestamp(feeds[c].agg(f)).date() for c, f in (("start_date", "min"), ("end_date", "max")))
    first = start + timedelta(days=(1 - start.weekday()) % 7)
    tuesdays = [first + timedelta(days=7 * k) for k in range((end - first).days // 7 + 1)]
    counts = {t: service._trip_count(real_con, t, ids) for t in tuesdays}
    ok = [t for t in tuesdays if counts[t] >= 0.5 * max(counts.values())]
    assert service.trip_counts(real_con, tuesdays, ids) == counts
    assert service.default_service_date(real_con) == min(ok, key=lambda t: (service._fortnight_distance(t), t))
