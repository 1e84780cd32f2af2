"""Tests of analysis.access and analysis.sources.pupils.

The hand-computed cases run on a SYNTHETIC database (``synthetic_db`` below: three communes,
four offers at three locations, asymmetric travel times, a tiny synthetic GTFS timetable).
Every expected figure is worked out by hand in the comments. Mirror-data tests at the end use
the real built database.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pytest

from analysis import access, db
from analysis.access import Filters
from analysis.sources import pupils

# ----------------------------------------------------------------------------------------------
# SYNTHETIC fixture
# ----------------------------------------------------------------------------------------------
# communes: A=14001 (pop 1000, 1 km², dep 14, EPCI E1), B=14002 (pop 500, 10 km², dep 14, E1),
#           C=50001 (pop 100, 10 km², dep 50, E2).
# schools: X in A (120 seconde pupils), Z in B (40), Y in C (NULL) -> regional total 160, so the
#          commune estimate is A 100, B 50, C 10.
# offers: o1 @L1 (A) S1 public  seconde    capacity 2
#         o2 @L2 (B) S2 private seconde+3e capacity NULL (-> 1 place, flagged)
#         o3 @L2 (B) S1 public  3e         capacity NULL
#         o4 @L3 (C) S3 private seconde    capacity NULL
A, B, C = "14001", "14002", "50001"
E1, E2 = "200000001", "200000002"

# (origin_kind, origin_id, loc_id, mode, minutes)
TIMES = [
    # car, communes
    ("commune", A, 1, "car", 5),
    ("commune", A, 2, "car", 20),
    ("commune", A, 3, "car", 40),
    ("commune", B, 1, "car", 25),
    ("commune", B, 2, "car", 10),
    ("commune", C, 1, "car", 50),
    ("commune", C, 2, "car", 28),
    ("commune", C, 3, "car", 35),
    # walk
    ("commune", A, 1, "walk", 12),
    ("commune", A, 2, "walk", 60),
    ("commune", B, 2, "walk", 20),
    # transit (public transport only; walking is merged in by the indicators)
    ("commune", A, 2, "transit", 15),
    ("commune", A, 3, "transit", 70),
    ("commune", B, 1, "transit", 33),
    ("commune", B, 2, "transit", 40),
    # bike (B->L1 exactly 30: inclusive budget)
    ("commune", A, 1, "bike", 8),
    ("commune", A, 2, "bike", 22),
    ("commune", B, 1, "bike", 30),
    ("commune", B, 2, "bike", 12),
    ("commune", C, 2, "bike", 80),
    # car, lycées
    ("school", "X", 1, "car", 30),
    ("school", "X", 2, "car", 45),
    ("school", "Z", 1, "car", 10),
    ("school", "Y", 3, "car", 5),
]


def make_synthetic_db(with_transit: bool = True):
    """Build the SYNTHETIC test database in memory (labelled synthetic: not real data)."""
    con = duckdb.connect(":memory:")
    con.execute("""CREATE TABLE communes AS SELECT * FROM (VALUES
        ('14001', 'Synthé-A', '14', '200000001', 1000, 1.0, 1000.0, 0.0, 0.0),
        ('14002', 'Synthé-B', '14', '200000001', 500, 10.0, 50.0, 0.1, 0.0),
        ('50001', 'Synthé-C', '50', '200000002', 100, 10.0, 10.0, 0.2, 0.0))
        t(code, name, dep, epci_siren, population, area_km2, density_per_km2, lon, lat)""")
    con.execute("""CREATE TABLE epci AS SELECT * FROM (VALUES
        ('200000001', 'CC Synthé 1'), ('200000002', 'CC Synthé 2')) t(siren, name)""")
    con.execute("""CREATE TABLE departements AS SELECT * FROM (VALUES
        ('14', 'Calvados'), ('50', 'Manche')) t(code, name)""")
    con.execute("""CREATE TABLE schools AS SELECT * FROM (VALUES
        ('X', 'Lycée X', '14001', 120), ('Z', 'Lycée Z', '14002', 40),
        ('Y', 'Lycée Y', '50001', NULL)) t(uai, name, commune_code, seconde_pupils)""")
    con.execute("ALTER TABLE schools ALTER seconde_pupils TYPE INTEGER")
    con.execute("""CREATE TABLE offers AS SELECT * FROM (VALUES
        ('o1', 'S1', TRUE,  '14001', 1, TRUE,  FALSE, 2),
        ('o2', 'S2', FALSE, '14002', 2, TRUE,  TRUE,  NULL),
        ('o3', 'S1', TRUE,  '14002', 2, FALSE, TRUE,  NULL),
        ('o4', 'S3', FALSE, '50001', 3, TRUE,  FALSE, NULL))
        t(offer_id, sector, is_public, commune_code, loc_id, for_seconde, for_troisieme, capacity)""")
    con.execute("ALTER TABLE offers ALTER capacity TYPE INTEGER")
    con.execute("""CREATE TABLE travel_times (origin_kind VARCHAR, origin_id VARCHAR,
        loc_id INTEGER, mode VARCHAR, minutes REAL, is_estimate BOOLEAN)""")
    con.executemany("INSERT INTO travel_times VALUES (?, ?, ?, ?, ?, ?)", [(*t, t[3] == "bike") for t in TIMES])
    db.write_stamp(con, "travel_times")  # as analysis.traveltime does after writing the table
    if with_transit:
        _synthetic_gtfs(con)
    return con


def _synthetic_gtfs(con) -> None:
    """SYNTHETIC timetable. Service date Tuesday 2025-04-22. Departures 07:00-08:30 counted:
    t1 (WK) s1 07:10 yes, s3 07:40 yes, s2 08:45 no (and terminus); t2 (SAT) no; t3 (EXTRA,
    added on the date) s2 08:30:00 yes (bound included), s3 08:50 no; t4 (WK2, removed on the
    date) no; t5 (WK) s1 06:59 no, s3 25:10 no; t6 (WK) s3 07:30 no (pickup_type 1), s1 07:50
    no (terminus); t6 s9 07:05 (stop outside the region, no commune) not attributed.
    -> A (s1, s2): 2 stops, 2 departures; B (s3): 1 stop, 1 departure.

    The tables have the schema of analysis.gtfs (feed_id, departure_s INTEGER, BOOLEAN
    weekdays, DATE dates): the only one the database ever holds.
    """
    con.execute("""CREATE TABLE transit_stops AS SELECT * FROM (VALUES
        ('f:s1', 'Arrêt 1', 0.0, 0.0, 0, '14001'), ('f:s2', 'Arrêt 2', 0.0, 0.0, 0, '14001'),
        ('f:s3', 'Arrêt 3', 0.1, 0.0, 0, '14002'), ('f:p3', 'Gare 3', 0.1, 0.0, 1, '14002'),
        ('f:s9', 'Hors région', 2.0, 49.0, 0, NULL))
        t(stop_id, name, lon, lat, location_type, commune_code)""")
    con.execute("""CREATE TABLE transit_trips AS SELECT * FROM (VALUES
        ('t1', 'r', 'WK'), ('t2', 'r', 'SAT'), ('t3', 'r', 'EXTRA'), ('t4', 'r', 'WK2'),
        ('t5', 'r', 'WK'), ('t6', 'r', 'WK')) t(trip_id, route_id, service_id)""")
    rows = [
        ("t1", "f:s1", 1, "07:10:00", 0),
        ("t1", "f:s3", 2, "07:40:00", 0),
        ("t1", "f:s2", 3, "08:45:00", 0),
        ("t2", "f:s1", 1, "07:15:00", 0),
        ("t2", "f:s3", 2, "07:35:00", 0),
        ("t3", "f:s2", 1, "08:30:00", 0),
        ("t3", "f:s3", 2, "08:50:00", 0),
        ("t4", "f:s1", 1, "07:20:00", 0),
        ("t4", "f:s2", 2, "07:25:00", 0),
        ("t5", "f:s1", 1, "06:59:00", 0),
        ("t5", "f:s3", 2, "25:10:00", 0),
        ("t5", "f:s2", 3, "25:20:00", 0),
        ("t6", "f:s3", 1, "07:30:00", 1),
        ("t6", "f:s1", 2, "07:50:00", 0),
        ("t6", "f:s9", 0, "07:05:00", 0),
    ]
    con.execute("""CREATE TABLE transit_stop_times (feed_id VARCHAR, trip_id VARCHAR,
        stop_sequence INTEGER, stop_id VARCHAR, arrival_s INTEGER, departure_s INTEGER,
        pickup_type INTEGER)""")
    rows = [("f", a, c, b, sec, sec, p) for a, b, c, t, p in rows for sec in [int(t[:2]) * 3600 + int(t[3:5]) * 60]]
    con.executemany("INSERT INTO transit_stop_times VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    for t in ("transit_stops", "transit_trips"):
        con.execute(f"ALTER TABLE {t} ADD COLUMN feed_id VARCHAR DEFAULT 'f'")
    con.execute("""CREATE TABLE transit_calendar AS SELECT 'f' AS feed_id, * FROM (VALUES
        ('WK', true, true, true, true, true, false, false, DATE '2025-01-01', DATE '2025-12-31'),
        ('WK2', true, true, true, true, true, false, false, DATE '2025-01-01', DATE '2025-12-31'),
        ('SAT', false, false, false, false, false, true, false, DATE '2025-01-01',
         DATE '2025-12-31'))
        t(service_id, monday, tuesday, wednesday, thursday, friday, saturday, sunday,
          start_date, end_date)""")
    con.execute("""CREATE TABLE transit_calendar_dates AS SELECT 'f' AS feed_id, * FROM (VALUES
        ('EXTRA', DATE '2025-04-22', 1), ('WK2', DATE '2025-04-22', 2),
        ('SAT', DATE '2025-04-22', 2)) t(service_id, date, exception_type)""")


@pytest.fixture()
def con():
    c = make_synthetic_db()
    yield c
    c.close()


def by_id(df: pd.DataFrame, col: str = "origin_id") -> dict:
    return {r[col]: r for r in df.to_dict("records")}


# ----------------------------------------------------------------------------------------------
# pupils
# ----------------------------------------------------------------------------------------------


def test_commune_pupils_spread_population(con):
    assert pupils.regional_total(con) == 160
    assert pupils.build_commune_pupils(con) == 160
    got = dict(con.execute("SELECT code, pupils FROM commune_pupils").fetchall())
    assert got == pytest.approx({A: 100.0, B: 50.0, C: 10.0})
    assert con.execute("SELECT bool_and(is_estimate), min(method) FROM commune_pupils").fetchone() == (
        True,
        "population_share",
    )
    # the total is a parameter
    pupils.build_commune_pupils(con, total=25_000)
    got = dict(con.execute("SELECT code, pupils FROM commune_pupils").fetchall())
    assert got == pytest.approx({A: 25_000 * 1000 / 1600, B: 25_000 * 500 / 1600, C: 25_000 * 100 / 1600})
    # origin_accessibility then uses the table, or an explicit total
    df = by_id(access.origin_accessibility(con, Filters(mode="car", minutes=30)))
    assert df[A]["pupils"] == pytest.approx(15_625)
    df = by_id(access.origin_accessibility(con, Filters(mode="car", minutes=30), total_pupils=16))
    assert df[A]["pupils"] == pytest.approx(10)


def test_regional_total_without_headcounts_fails(con):
    con.execute("UPDATE schools SET seconde_pupils = NULL")
    with pytest.raises(ValueError, match="effectif"):
        pupils.regional_total(con)


# ----------------------------------------------------------------------------------------------
# per origin
# ----------------------------------------------------------------------------------------------


def test_cumulative_opportunities_car_30(con):
    df = by_id(access.origin_accessibility(con, Filters(mode="car", minutes=30)))
    # A reaches L1 (5) and L2 (20): o1, o2, o3 -> places 2 + 1 + 1; sectors S1, S2
    assert df[A]["offers_reachable"] == 3 and df[A]["places_reachable"] == 4
    assert df[A]["sectors_reachable"] == 2 and df[A]["places_default_capacity"] == 2
    assert df[A]["minutes_nearest"] == 5
    assert df[B]["offers_reachable"] == 3 and df[B]["minutes_nearest"] == 10
    # C reaches only L2 (28); L1 at 50 and L3 at 35 are beyond the budget
    assert df[C]["offers_reachable"] == 2 and df[C]["places_reachable"] == 2
    assert df[C]["sectors_reachable"] == 2 and df[C]["minutes_nearest"] == 28
    assert df[A]["pupils"] == pytest.approx(100) and bool(df[A]["pupils_is_estimate"])


def test_2sfca_hand_computed_and_unreachable_offer_excluded(con):
    df = by_id(access.origin_accessibility(con, Filters(mode="car", minutes=30)))
    # demand: L1 <- A, B = 150 pupils; L2 <- A, B, C = 160; L3 reachable from nobody at 30 min
    r1, r2 = 2 / 150, 2 / 160
    assert df[A]["places_per_pupil_2sfca"] == pytest.approx(r1 + r2)
    assert df[B]["places_per_pupil_2sfca"] == pytest.approx(r1 + r2)
    assert df[C]["places_per_pupil_2sfca"] == pytest.approx(r2)
    # conservation: sum pupils x A = places of offers reachable from >= 1 origin = 4 (not 5: o4
    # at L3 is reachable from no origin within 30 min and is excluded)
    total = sum(r["pupils"] * r["places_per_pupil_2sfca"] for r in df.values())
    assert total == pytest.approx(4.0)


@pytest.mark.parametrize("minutes,expected", [(4, 0.0), (30, 4.0), (45, 5.0), (90, 5.0)])
@pytest.mark.parametrize("mode", ["car"])
def test_2sfca_conservation_by_budget(con, mode, minutes, expected):
    df = access.origin_accessibility(con, Filters(mode=mode, minutes=minutes))
    assert (df["pupils"] * df["places_per_pupil_2sfca"]).sum() == pytest.approx(expected)


def test_2sfca_conservation_other_modes(con):
    for mode in access.MODES:
        for minutes in (10, 15, 20, 30, 45, 60):
            df = access.origin_accessibility(con, Filters(mode=mode, minutes=minutes))
            # places of the locations reachable from at least one origin (all have pupils > 0)
            eff = con.execute(
                """SELECT DISTINCT loc_id FROM travel_times WHERE origin_kind = 'commune'
                   AND minutes <= ? AND (mode = ? OR (? = 'transit' AND mode = 'walk'))""",
                [minutes, mode, mode],
            ).fetchall()
            places = {1: 2, 2: 2, 3: 1}
            expected = sum(places[loc] for (loc,) in eff)
            assert (df["pupils"] * df["places_per_pupil_2sfca"]).sum() == pytest.approx(expected)


def test_transit_includes_walking(con):
    df = by_id(access.origin_accessibility(con, Filters(mode="transit", minutes=30)))
    # A: L1 by walking 12, L2 by transit 15 -> 3 offers; B: L2 walking 20 (transit 40) -> 2
    assert df[A]["offers_reachable"] == 3 and df[A]["minutes_nearest"] == 12
    assert df[B]["offers_reachable"] == 2 and df[B]["minutes_nearest"] == 20
    assert df[C]["offers_reachable"] == 0 and pd.isna(df[C]["minutes_nearest"])
    assert df[C]["places_per_pupil_2sfca"] == 0


def test_budget_is_inclusive_and_estimates_flagged(con):
    df = by_id(access.origin_accessibility(con, Filters(mode="bike", minutes=30)))
    assert df[B]["offers_reachable"] == 3  # L1 at exactly 30 min counts
    assert bool(df[B]["reach_uses_estimates"]) and bool(df[B]["nearest_is_estimate"])
    df = by_id(access.origin_accessibility(con, Filters(mode="car", minutes=30)))
    assert not bool(df[A]["reach_uses_estimates"])


@pytest.mark.parametrize(
    "filters,expected",
    [
        (Filters(mode="car", minutes=30, grade="3e"), {A: 2, B: 2, C: 2}),  # o2, o3 at L2
        (Filters(mode="car", minutes=30, grade="seconde"), {A: 2, B: 2, C: 1}),  # o1, o2 (o4 out)
        (Filters(mode="car", minutes=30, sectors=("S1",)), {A: 2, B: 2, C: 1}),  # o1, o3
        (Filters(mode="car", minutes=30, public=True), {A: 2, B: 2, C: 1}),  # o1, o3
        (Filters(mode="car", minutes=30, public=False), {A: 1, B: 1, C: 1}),  # o2 (o4 out)
        (Filters(mode="car", minutes=45, public=False), {A: 2, B: 1, C: 2}),  # o2, o4
        (Filters(mode="car", minutes=30, sectors=("S3",)), {A: 0, B: 0, C: 0}),
        (Filters(mode="car", minutes=30, sectors=("S2", "S3")), {A: 1, B: 1, C: 1}),
    ],
)
def test_offer_filters(con, filters, expected):
    df = by_id(access.origin_accessibility(con, filters))
    assert {k: df[k]["offers_reachable"] for k in expected} == expected


def test_sector_filter_nearest_beyond_budget(con):
    df = by_id(access.origin_accessibility(con, Filters(mode="car", minutes=30, sectors=("S3",))))
    # only o4 (L3): nearest is reported even beyond the budget (A 40, C 35), B never reaches it
    assert df[A]["minutes_nearest"] == 40 and df[C]["minutes_nearest"] == 35
    assert pd.isna(df[B]["minutes_nearest"])
    assert (pd.Series([r["places_per_pupil_2sfca"] for r in df.values()]) == 0).all()


def test_school_origins_real_headcounts(con):
    df = by_id(access.origin_accessibility(con, Filters(mode="car", minutes=30, origin_kind="school")))
    assert set(df) == {"X", "Y", "Z"}
    assert df["X"]["pupils"] == 120 and not bool(df["X"]["pupils_is_estimate"])
    assert pd.isna(df["Y"]["pupils"])
    # L1 <- X (30), Z (10): demand 160, R = 2/160. Y reaches L3 but has no headcount: L3 has no
    # demand, so it carries no 2SFCA supply (Y's A = 0) although Y reaches 1 offer.
    assert df["X"]["places_per_pupil_2sfca"] == pytest.approx(2 / 160)
    assert df["Y"]["offers_reachable"] == 1 and df["Y"]["places_per_pupil_2sfca"] == 0


def test_filters_validation():
    with pytest.raises(access.AccessError):
        Filters(mode="plane")
    with pytest.raises(access.AccessError):
        Filters(grade="terminale")
    with pytest.raises(access.AccessError):
        Filters(origin_kind="home")
    with pytest.raises(access.AccessError):
        Filters(minutes=-5)
    assert Filters(sectors="S1").sectors == ("S1",)


def test_budget_beyond_travel_time_horizon_is_refused(con):
    with pytest.raises(access.AccessError, match="horizon"):
        access.origin_accessibility(con, Filters(mode="car", minutes=120))
    con.execute("CREATE TABLE travel_time_runs (mode VARCHAR, params VARCHAR)")
    con.execute("""INSERT INTO travel_time_runs VALUES ('car', '{"max_minutes": 150}'),
                   ('walk', '{"max_minutes": 130}')""")
    assert access.max_minutes_of(con) == 130
    assert len(access.origin_accessibility(con, Filters(mode="car", minutes=120))) == 3


def test_several_views_at_once_equal_each_view_alone(con):
    """A list of Filters differing by mode and budget gives, in its order, the rows each view
    gives alone; views with another offer filter or origin kind are refused."""
    f = Filters(mode="car", minutes=30, sectors=("S1",))
    views = [f.with_budget("bike", 20), f, f.with_budget("car", 10)]
    both = access.origin_accessibility(con, f, scenarios=views)
    assert list(both.drop_duplicates(["mode", "budget_min"])[["mode", "budget_min"]].itertuples(index=False)) == [
        ("bike", 20.0),
        ("car", 10.0),
        ("car", 30.0),
    ]  # rows ordered by mode, budget, origin
    for view in views:
        alone = access.origin_accessibility(con, view, precomputed=False)
        part = both[(both["mode"] == view.mode) & (both["budget_min"] == view.minutes)].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, alone, check_dtype=False)
    terr = access.territory_query(con, ["commune"], f, None, views)
    assert list(terr.drop_duplicates(["mode", "budget_min"])["mode"]) == ["bike", "car", "car"]
    for other in (
        Filters(mode="bike", minutes=20),
        Filters(mode="car", minutes=30, sectors=("S1",), origin_kind="school"),
    ):
        with pytest.raises(access.AccessError, match="ne diffèrent que"):
            access.origin_accessibility(con, f, scenarios=[other])
    with pytest.raises(access.AccessError, match="Aucun couple"):
        access.origin_accessibility(con, f, scenarios=[])


def test_missing_travel_times_is_clear():
    c = duckdb.connect()
    c.execute("CREATE TABLE communes (code VARCHAR)")
    c.execute("CREATE TABLE offers (offer_id VARCHAR)")
    with pytest.raises(access.AccessError, match="travel_times"):
        access.origin_accessibility(c, Filters())


# ----------------------------------------------------------------------------------------------
# territories
# ----------------------------------------------------------------------------------------------


def test_territory_car_30(con):
    f = Filters(mode="car", minutes=30)
    epci = by_id(access.territory_indicators(con, "epci", f), "code")
    e1, e2 = epci[E1], epci[E2]
    assert e1["pupils"] == pytest.approx(150) and e1["offers_located"] == 3
    assert e1["offers_per_100_pupils"] == pytest.approx(2.0)
    assert e1["offers_reachable_mean"] == pytest.approx(3.0)
    assert e1["places_per_pupil_2sfca"] == pytest.approx(2 / 150 + 2 / 160)
    assert e1["pupils_no_offer"] == 0 and e1["pupils_no_offer_transit"] == 0
    # pupil-weighted medians of the nearest offer: A (100 pupils) dominates
    assert (
        e1["median_minutes_walk"],
        e1["median_minutes_bike"],
        e1["median_minutes_transit"],
        e1["median_minutes_car"],
    ) == (12, 8, 12, 5)
    # car / transit: car 3 offers for everyone, transit (100*3 + 50*2) / 150
    assert e1["offers_reachable_transit_mean"] == pytest.approx(400 / 150)
    assert e1["car_transit_ratio"] == pytest.approx(3 / (400 / 150))
    assert e2["pupils"] == pytest.approx(10) and e2["offers_located"] == 1
    assert e2["offers_per_100_pupils"] == pytest.approx(10.0)
    assert e2["pupils_no_offer"] == 0
    assert e2["pupils_no_offer_transit"] == pytest.approx(10) and e2["share_no_offer_transit"] == 1
    assert pd.isna(e2["median_minutes_transit"]) and e2["median_minutes_bike"] == 80
    assert pd.isna(e2["car_transit_ratio"])  # no offer by transit: ratio undefined
    region = access.territory_indicators(con, "region", f).iloc[0]
    assert region["code"] == "28" and region["pupils"] == pytest.approx(160)
    assert region["offers_located"] == 4 and region["offers_per_100_pupils"] == pytest.approx(2.5)
    # conservation at region level: pupil-weighted 2SFCA = 4 places / 160 pupils
    assert region["places_per_pupil_2sfca"] == pytest.approx(4 / 160)
    assert region["share_no_offer_transit"] == pytest.approx(10 / 160)


def test_territory_weighted_median_lycees(con):
    f = Filters(mode="car", minutes=30, origin_kind="school")
    region = access.territory_indicators(con, "region", f).iloc[0]
    # nearest car: Y 5 (no headcount, weight 0), Z 10 (40), X 30 (120): half of 160 is reached
    # at X -> 30 (the unweighted median would be 10)
    assert region["median_minutes_car"] == 30
    assert region["pupils"] == 160 and not bool(region["pupils_is_estimate"])
    assert region["n_origins"] == 3 and region["n_origins_with_pupils"] == 2


def test_territory_levels_consistent(con):
    f = Filters(mode="transit", minutes=45)
    levels = {lv: access.territory_indicators(con, lv, f) for lv in access.LEVELS}
    assert len(levels["commune"]) == 3 and len(levels["epci"]) == 2
    assert len(levels["departement"]) == 2 and len(levels["region"]) == 1
    for lv, df in levels.items():
        assert df["pupils"].sum() == pytest.approx(160), lv
        assert df["offers_located"].sum() == 4, lv
        assert df["pupils_no_offer_transit"].sum() == pytest.approx(
            levels["region"]["pupils_no_offer_transit"].iloc[0]
        ), lv


def test_density_class_proxy(con):
    com = by_id(access.territory_indicators(con, "commune", Filters()), "code")
    assert com[A]["density_class"] == "intermediaire"  # 1000 / km²
    assert com[B]["density_class"] == "peu_dense"  # 50 / km²
    assert com[C]["density_class"] == "tres_peu_dense"  # 10 / km²
    e1 = by_id(access.territory_indicators(con, "epci", Filters()), "code")[E1]
    assert e1["density_per_km2"] == pytest.approx(1500 / 11)
    assert e1["pupils_low_density_share"] == pytest.approx(50 / 150)


def test_code_and_within(con):
    f = Filters(mode="car", minutes=30)
    one = access.territory_indicators(con, "commune", f, code=B)
    assert list(one["code"]) == [B]
    inside = access.territory_indicators(con, "commune", f, within="14")
    assert list(inside["code"]) == [A, B]
    inside = access.territory_indicators(con, "epci", f, within="50")
    assert list(inside["code"]) == [E2]
    with pytest.raises(access.AccessError):
        access.territory_indicators(con, "canton", f)


# ----------------------------------------------------------------------------------------------
# transport supply and build stage
# ----------------------------------------------------------------------------------------------


def test_transit_supply_morning_departures():
    c = make_synthetic_db()
    sql, note = access.transit_supply_sql(c, dt.date(2025, 4, 22))
    got = {r[0]: r[1:] for r in c.execute(sql).fetchall()}
    assert got == {A: (2, 2), B: (1, 1)}
    assert "07:00" in note and "2025-04-22" in note
    assert sorted(c.execute(access.transit_supply_sql(c, "2025-04-22")[0]).fetchall()) == sorted(
        c.execute(sql).fetchall()
    )
    # another day: Saturday 2025-04-26 runs t2 (SAT) s1 07:15, s3 07:35 (terminus) -> A 1, B 0
    sql, _ = access.transit_supply_sql(c, dt.date(2025, 4, 26))
    assert {r[0]: r[1:] for r in c.execute(sql).fetchall()} == {A: (2, 1), B: (1, 0)}


def test_transit_supply_without_timetable():
    c = make_synthetic_db()
    c.execute("DROP TABLE transit_stop_times")
    sql, note = access.transit_supply_sql(c, dt.date(2025, 4, 22))
    got = {r[0]: r[1:] for r in c.execute(sql).fetchall()}
    assert got == {A: (2, None), B: (1, None)}
    assert "non calculés" in note
    c2 = make_synthetic_db(with_transit=False)
    assert access.transit_supply_sql(c2)[0] is None


def test_build_tables_and_precomputed_equal_on_the_fly():
    c = make_synthetic_db()
    messages = []
    access.build_tables(
        c, {"service_date": dt.date(2025, 4, 22), "budgets": (30, 45)}, lambda m, f=None: messages.append((m, f))
    )
    assert messages and messages[-1][1] == 1.0
    n_acc = c.execute("SELECT count(*) FROM accessibility").fetchone()[0]
    # communes: 3 origins x 4 modes x 2 budgets; lycées: 3 x 4 x 2
    assert n_acc == 3 * 4 * 2 * 2
    n_terr = c.execute("SELECT count(*) FROM territory_indicators").fetchone()[0]
    assert n_terr == (3 + 2 + 2 + 1) * 4 * 2 * 2
    # the precomputed tables (all scenarios and levels in one query) equal the on-the-fly ones
    for kind in access.ORIGIN_KINDS:
        for mode, minutes in (("car", 30), ("transit", 45), ("bike", 30)):
            f = Filters(mode=mode, minutes=minutes, origin_kind=kind)
            for level in access.LEVELS:
                stored = c.execute(
                    """SELECT * FROM territory_indicators WHERE level = ?
                    AND mode = ? AND budget_min = ? AND origin_kind = ? ORDER BY code""",
                    [level, mode, minutes, kind],
                ).df()
                live = access.territory_indicators(c, level, f, precomputed=False)
                pd.testing.assert_frame_equal(stored, live, check_dtype=False)
                # the default call reads the stored table: same frame
                pd.testing.assert_frame_equal(access.territory_indicators(c, level, f), live, check_dtype=False)
            stored = c.execute(
                """SELECT * FROM accessibility WHERE mode = ? AND budget_min = ?
                AND origin_kind = ? ORDER BY origin_id""",
                [mode, minutes, kind],
            ).df()
            live = access.origin_accessibility(c, f, precomputed=False)
            pd.testing.assert_frame_equal(stored, live, check_dtype=False)
            pd.testing.assert_frame_equal(access.origin_accessibility(c, f), live, check_dtype=False)
    supply = by_id(access.territory_indicators(c, "commune", Filters()), "code")
    assert (supply[A]["n_stops"], supply[A]["morning_departures"]) == (2, 2)
    assert (supply[C]["n_stops"], supply[C]["morning_departures"]) == (0, 0)


def test_build_tables_rejects_duplicate_times():
    c = make_synthetic_db()
    c.execute("INSERT INTO travel_times VALUES ('commune', '14001', 1, 'car', 7, FALSE)")
    with pytest.raises(access.AccessError, match="double"):
        access.build_tables(c, {"service_date": dt.date(2025, 4, 22)})


def test_cli_json(tmp_path, capsys):
    path = tmp_path / "synthetic.duckdb"
    c = duckdb.connect(str(path))
    src = make_synthetic_db()
    for (t,) in src.execute("SHOW TABLES").fetchall():
        c.register("_df", src.execute(f"SELECT * FROM {t}").df())
        c.execute(f"CREATE TABLE {t} AS SELECT * FROM _df")
        c.unregister("_df")
    c.close()
    rc = access.main(
        ["--level", "epci", "--mode", "car", "--minutes", "30", "--sector", "S1", "--format", "json", "--db", str(path)]
    )
    assert rc == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["code"] for r in rows] == [E1, E2]
    assert rows[0]["offers_located"] == 2  # o1 (A) and o3 (B) are S1
    rc = access.main(["--level", "region", "--db", str(tmp_path / "absent.duckdb")])
    assert rc == 2
    assert "introuvable" in capsys.readouterr().err
    # per origin, CSV, lycées, private hosts only
    rc = access.main(
        ["--per-origin", "--origin", "school", "--mode", "car", "--minutes", "30", "--private", "--db", str(path)]
    )
    assert rc == 0
    import io

    df = pd.read_csv(io.StringIO(capsys.readouterr().out)).set_index("origin_id")
    assert sorted(df.index) == ["X", "Y", "Z"]
    # private offers: o2 (L2), o4 (L3). Within 30 min by car X and Z reach only L1 (o1,
    # public); Y reaches L3 (5 min) -> o4
    assert df["offers_reachable"].to_dict() == {"X": 0, "Y": 1, "Z": 0}
    assert df.loc["Y", "minutes_nearest"] == 5 and df.loc["X", "minutes_nearest"] == 45


# ----------------------------------------------------------------------------------------------
# mirror data (real built database)
# ----------------------------------------------------------------------------------------------

TT_DDL = """(origin_kind VARCHAR, origin_id VARCHAR, loc_id INTEGER, mode VARCHAR, minutes REAL,
             is_estimate BOOLEAN)"""


@pytest.fixture(scope="module")
def real(source_dir):
    """Read-only connection on the real database built from the mirror (built if absent).

    When the database has no ``travel_times`` yet, an EMPTY temporary one is created so that the
    indicators not depending on travel times can be checked."""
    from analysis import build, db

    path = build.ensure_database()
    c = db.connect(path, read_only=True)
    if not access.has_relation(c, "travel_times"):
        c.execute(f"CREATE TEMP TABLE travel_times {TT_DDL}")
    yield c
    c.close()


def test_real_commune_pupils_sum_to_regional_total(real):
    total = pupils.regional_total(real)
    assert 30_000 < total < 40_000  # Σ declared seconde class sizes ≈ 36,780 (SOURCE.md)
    est = real.execute(
        f"SELECT sum(pupils), count(*), bool_and(is_estimate) FROM ({pupils.commune_pupils_sql(total)})"
    ).fetchone()
    assert est[0] == pytest.approx(total, rel=0.01)
    assert est[1] == real.execute("SELECT count(*) FROM communes").fetchone()[0] and est[2]
    df = access.territory_indicators(real, "region", Filters())
    assert df["pupils"].iloc[0] == pytest.approx(total, rel=0.01)
    if access.has_relation(real, "commune_pupils"):  # the table written by the build
        s = real.execute("SELECT sum(pupils) FROM commune_pupils").fetchone()[0]
        assert s == pytest.approx(
            real.execute("SELECT max(regional_total) FROM commune_pupils").fetchone()[0], rel=0.01
        )


@pytest.mark.parametrize(
    "f", [Filters(), Filters(grade="3e", public=True), Filters(sectors=("Enseignement", "Fonction publique"))]
)
def test_real_epci_offer_counts_sum_to_located_offers(real, f):
    where, params = access.offer_filter(f)
    located = real.execute(
        f"SELECT count(*) FROM offers o JOIN communes c ON c.code = o.commune_code WHERE {where}", params
    ).fetchone()[0]
    assert located > 0
    for level in ("commune", "epci", "departement", "region"):
        df = access.territory_indicators(real, level, f)
        assert df["offers_located"].sum() == located, level


@pytest.mark.parametrize("kind", access.ORIGIN_KINDS)
def test_real_every_epci_has_a_row_at_every_level(real, kind):
    f = Filters(mode="car", minutes=30, origin_kind=kind)
    levels = {lv: access.territory_indicators(real, lv, f) for lv in access.LEVELS}
    epcis = {r[0] for r in real.execute("SELECT siren FROM epci").fetchall()}
    assert len(epcis) == 71 and set(levels["epci"]["code"]) == epcis
    assert set(levels["departement"]["code"]) == {"14", "27", "50", "61", "76"}
    assert list(levels["region"]["code"]) == ["28"]
    communes = {r[0] for r in real.execute("SELECT code FROM communes").fetchall()}
    assert set(levels["commune"]["code"]) == communes
    # each EPCI's communes and départements all have rows
    member = real.execute("SELECT epci_siren, code, dep FROM communes").fetchall()
    assert {e for e, _, _ in member} <= epcis
    assert {d for _, _, d in member} <= set(levels["departement"]["code"])
    # pupils add up the same way at every level
    tot = levels["region"]["pupils"].iloc[0]
    for lv, df in levels.items():
        assert df["pupils"].sum() == pytest.approx(tot, rel=1e-9), lv


def test_real_2sfca_conservation(real):
    if real.execute("SELECT count(*) FROM travel_times").fetchone()[0] == 0:
        pytest.skip("travel_times pas encore calculée dans la base")
    modes = {m for (m,) in real.execute("SELECT DISTINCT mode FROM travel_times").fetchall()}
    for mode in sorted(modes & set(access.MODES)):
        for minutes in (15, 45):
            f = Filters(mode=mode, minutes=minutes)
            df = access.origin_accessibility(real, f)
            lhs = float((df["pupils"].fillna(0) * df["places_per_pupil_2sfca"]).sum())
            rhs = (
                real.execute(
                    """SELECT coalesce(sum(coalesce(o.capacity, 1)), 0) FROM offers o WHERE o.loc_id IN (
                     SELECT t.loc_id FROM travel_times t JOIN commune_pupils p ON p.code = t.origin_id
                     WHERE t.origin_kind = 'commune' AND t.minutes <= ? AND p.pupils > 0
                       AND (t.mode = ? OR (? = 'transit' AND t.mode = 'walk')))""",
                    [minutes, mode, mode],
                ).fetchone()[0]
                if access.has_relation(real, "commune_pupils")
                else None
            )
            if rhs is not None:
                assert lhs == pytest.approx(float(rhs), rel=1e-9), (mode, minutes)


def test_real_morning_departures_match_raw_timetable(real):
    """Morning departures of Caen and Rouen recounted with pandas from the raw TER zip."""
    import zipfile

    from analysis import config

    zpath = config.default_source_dir() / "gtfs/sncf_ter_france_2025-01-22/export-ter-gtfs-last.zip"
    if not access.has_relation(real, "transit_stops") or not zpath.exists():
        pytest.skip("horaires TER absents de la base ou du miroir")
    day = dt.date(2025, 4, 22)
    sql, note = access.transit_supply_sql(real, day)
    got = {r[0]: r[2] for r in real.execute(sql).fetchall()}
    with zipfile.ZipFile(zpath) as z:
        st = pd.read_csv(
            z.open("stop_times.txt"),
            dtype=str,
            usecols=["trip_id", "departure_time", "stop_id", "stop_sequence", "pickup_type"],
        )
        trips = pd.read_csv(z.open("trips.txt"), dtype=str, usecols=["trip_id", "service_id"])
        cd = pd.read_csv(z.open("calendar_dates.txt"), dtype=str)
    active = set(cd[(cd["date"] == day.strftime("%Y%m%d")) & (cd["exception_type"] == "1")]["service_id"])
    trips = set(trips[trips["service_id"].isin(active)]["trip_id"])
    st = st[st["trip_id"].isin(trips)].copy()
    st["seq"] = st["stop_sequence"].astype(int)
    st = st[st["seq"] < st.groupby("trip_id")["seq"].transform("max")]
    hms = st["departure_time"].str.split(":", expand=True).astype(int)
    secs = hms[0] * 3600 + hms[1] * 60 + hms[2]
    st = st[(secs >= 7 * 3600) & (secs <= 8.5 * 3600) & (st["pickup_type"].fillna("0") != "1")]
    checked = 0
    for commune in ("14118", "76540"):  # Caen, Rouen
        ids = {
            r[0]
            for r in real.execute(
                "SELECT gtfs_stop_id FROM transit_stops WHERE commune_code = ? AND coalesce(location_type, 0) = 0",
                [commune],
            ).fetchall()
        }
        if not ids:
            continue
        expected = int(st["stop_id"].isin(ids).sum())
        assert expected > 0, commune
        assert got.get(commune) == expected, commune
        checked += 1
    assert checked == 2


def test_service_date_from_travel_time_runs():
    c = make_synthetic_db()
    assert access.service_date_of(c) is None or isinstance(access.service_date_of(c), dt.date)
    c.execute("CREATE TABLE travel_time_runs (mode VARCHAR, params VARCHAR, computed_at TIMESTAMP)")
    c.execute("""INSERT INTO travel_time_runs VALUES
        ('car', '{"max_minutes": 90}', TIMESTAMP '2026-01-01 10:00'),
        ('transit', '{"service_date": "2025-04-22", "max_minutes": 90}', TIMESTAMP '2026-01-01 10:00')""")
    assert access.service_date_of(c) == dt.date(2025, 4, 22)
    access.build_tables(c, {"budgets": (30,)})
    assert dict(c.execute("SELECT commune_code, morning_departures FROM transit_supply").fetchall()) == {A: 2, B: 1}


# ----------------------------------------------------------------------------------------------
# property: 2SFCA against a brute-force Python oracle on random SYNTHETIC instances
# ----------------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def random_instance(draw):
    n_o = draw(st.integers(1, 5))
    n_l = draw(st.integers(1, 5))
    pops = draw(st.lists(st.integers(0, 1000), min_size=n_o, max_size=n_o))
    caps = draw(st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=n_l, max_size=n_l))
    times = {}
    for i in range(n_o):
        for j in range(n_l):
            t = draw(st.one_of(st.none(), st.integers(0, 90)))
            if t is not None:
                times[(i, j)] = t
    budget = draw(st.integers(0, 90))
    return pops, caps, times, budget


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_instance())
def test_2sfca_matches_bruteforce(inst):
    pops, caps, times, budget = inst
    c = duckdb.connect()
    c.execute(
        "CREATE TABLE communes (code VARCHAR, name VARCHAR, dep VARCHAR, epci_siren VARCHAR, "
        "population INTEGER, area_km2 DOUBLE)"
    )
    c.executemany(
        "INSERT INTO communes VALUES (?, ?, '14', 'E', ?, 1.0)", [(f"c{i}", f"c{i}", p) for i, p in enumerate(pops)]
    )
    c.execute(
        "CREATE TABLE offers (offer_id VARCHAR, sector VARCHAR, is_public BOOLEAN, "
        "commune_code VARCHAR, loc_id INTEGER, for_seconde BOOLEAN, for_troisieme BOOLEAN, "
        "capacity INTEGER)"
    )
    c.executemany(
        "INSERT INTO offers VALUES (?, 'S', TRUE, 'c0', ?, TRUE, TRUE, ?)",
        [(f"o{j}", j, cap) for j, cap in enumerate(caps)],
    )
    c.execute(f"CREATE TABLE travel_times {TT_DDL}")
    if times:
        c.executemany(
            "INSERT INTO travel_times VALUES ('commune', ?, ?, 'car', ?, FALSE)",
            [(f"c{i}", j, t) for (i, j), t in times.items()],
        )
    total = 100.0
    df = access.origin_accessibility(c, Filters(mode="car", minutes=budget), total_pupils=total)
    got = dict(zip(df["origin_id"], df["places_per_pupil_2sfca"]))
    # brute force
    popsum = sum(pops)
    pupil = [total * p / popsum if popsum else 0.0 for p in pops]
    places = [1.0 if cap is None else float(cap) for cap in caps]
    near = {(i, j) for (i, j), t in times.items() if t <= budget}
    demand = {j: sum(pupil[i] for i in range(len(pops)) if (i, j) in near) for j in range(len(caps))}
    expect = {
        f"c{i}": sum(places[j] / demand[j] for j in range(len(caps)) if (i, j) in near and demand[j] > 0)
        for i in range(len(pops))
    }
    assert got == pytest.approx(expect)
    conserved = sum(places[j] for j in range(len(caps)) if demand[j] > 0)
    assert sum(pupil[i] * got[f"c{i}"] for i in range(len(pops))) == pytest.approx(conserved)
    c.close()


@pytest.mark.parametrize(
    "drop,expected",
    [
        ((), {A: (2, 2), C: (0, 0)}),  # full timetable
        (("transit_stop_times",), {A: (2, None), C: (0, None)}),  # stops, no timetable
        (("transit_stop_times", "transit_stops"), {A: (None, None), C: (None, None)}),  # nothing
    ],
)
def test_territory_supply_unknown_is_null_not_zero(drop, expected):
    c = make_synthetic_db()
    for t in drop:
        c.execute(f"DROP TABLE {t}")
    access.build_tables(c, {"service_date": dt.date(2025, 4, 22), "budgets": (30,)})
    com = by_id(access.territory_indicators(c, "commune", Filters(mode="car", minutes=30)), "code")
    got = {
        k: tuple(None if pd.isna(com[k][col]) else int(com[k][col]) for col in ("n_stops", "morning_departures"))
        for k in expected
    }
    assert got == expected


FILTER_CASES = [
    Filters(mode="car", minutes=30),
    Filters(mode="transit", minutes=45),
    Filters(mode="bike", minutes=30, grade="3e"),
    Filters(mode="walk", minutes=15, public=True),
    Filters(mode="car", minutes=45, sectors=("S1", "S3"), origin_kind="school"),
]


def test_pairs_table_gives_the_same_results_and_goes_stale():
    c = make_synthetic_db()
    before = [(access.origin_accessibility(c, f), access.territory_indicators(c, "epci", f)) for f in FILTER_CASES]
    assert not access.pairs_table_is_fresh(c)
    # every non-transit row, plus one transit-or-walk pair per (origin, location)
    n = access.build_pairs(c)
    n_tt = c.execute("""SELECT count(*) FROM travel_times WHERE mode <> 'transit'""").fetchone()[0]
    n_tr = c.execute("""SELECT count(DISTINCT (origin_kind, origin_id, loc_id)) FROM travel_times
                        WHERE mode IN ('transit', 'walk')""").fetchone()[0]
    assert n == n_tt + n_tr
    assert access.pairs_table_is_fresh(c)
    for f, (acc, terr) in zip(FILTER_CASES, before):
        pd.testing.assert_frame_equal(acc, access.origin_accessibility(c, f), check_dtype=False)
        pd.testing.assert_frame_equal(terr, access.territory_indicators(c, "epci", f), check_dtype=False)
    # travel_times recomputed after the pairs were built (a new stamp in build_meta): the stale
    # pairs are not used
    c.execute("INSERT INTO travel_times VALUES ('commune', '50001', 1, 'car', 3, FALSE)")
    db.write_stamp(c, "travel_times")
    assert not access.pairs_table_is_fresh(c)
    c.execute("DELETE FROM travel_times WHERE origin_id = '50001' AND loc_id = 1 AND minutes = 50")
    df = by_id(access.origin_accessibility(c, Filters(mode="car", minutes=30)))
    assert df[C]["minutes_nearest"] == 3 and df[C]["offers_reachable"] == 3


def test_freshness_is_read_from_the_build_stamp_not_from_travel_times():
    """Without a stamp (travel_times of unknown origin) nothing precomputed is trusted; with one,
    the check reads build_meta only (the old check hashed the 1.1 million rows at every call)."""
    c = make_synthetic_db()
    access.build_tables(c, {"service_date": dt.date(2025, 4, 22), "budgets": (30,)})
    f = Filters(mode="car", minutes=30)
    assert access.pairs_table_is_fresh(c) and access.tables_fresh(c, f)
    c.execute("DELETE FROM build_meta")
    assert not access.pairs_table_is_fresh(c) and not access.tables_fresh(c, f)
    # and the answer is still right, computed from travel_times
    live = access.origin_accessibility(c, f, precomputed=False)
    pd.testing.assert_frame_equal(access.origin_accessibility(c, f), live, check_dtype=False)


def test_sector_count_without_bit_mask_is_the_same(monkeypatch):
    c = make_synthetic_db()
    with_mask = [access.origin_accessibility(c, f) for f in FILTER_CASES]
    monkeypatch.setattr(access.sql, "MAX_MASK_SECTORS", 1)  # 3 sectors > 1: COUNT(DISTINCT) path
    for f, want in zip(FILTER_CASES, with_mask):
        pd.testing.assert_frame_equal(want, access.origin_accessibility(c, f), check_dtype=False)
    assert with_mask[0]["sectors_reachable"].tolist() == [2, 2, 2]


def test_precomputed_tables_are_used_only_when_valid(monkeypatch):
    c = make_synthetic_db()
    access.build_tables(c, {"service_date": dt.date(2025, 4, 22), "budgets": (30,)})
    computed = access.territory_indicators(
        c, "commune", Filters(mode="car", minutes=30), within="14", precomputed=False
    )
    calls = []
    real_query = access.indicators.territory_query  # looked up there by territory_indicators
    monkeypatch.setattr(access.indicators, "territory_query", lambda *a, **k: calls.append(1) or real_query(*a, **k))
    # default filters, precomputed budget: read from the table (with code / within)
    got = access.territory_indicators(c, "commune", Filters(mode="car", minutes=30), within="14")
    pd.testing.assert_frame_equal(got, computed, check_dtype=False)
    assert list(access.territory_indicators(c, "epci", Filters(mode="car", minutes=30), code=E2)["code"]) == [E2]
    assert calls == []
    # an offer filter, a budget not precomputed, or an explicit total: computed
    access.territory_indicators(c, "commune", Filters(mode="car", minutes=30, grade="3e"))
    access.territory_indicators(c, "commune", Filters(mode="car", minutes=45))
    access.territory_indicators(c, "commune", Filters(mode="car", minutes=30), total_pupils=10)
    assert len(calls) == 3
    # travel times recomputed since the build (new stamp): computed, and the new time is seen
    c.execute("UPDATE travel_times SET minutes = 3 WHERE origin_id = '50001' AND loc_id = 2 AND mode = 'car'")
    db.write_stamp(c, "travel_times")
    df = by_id(access.territory_indicators(c, "commune", Filters(mode="car", minutes=30)), "code")
    assert len(calls) == 4 and df[C]["median_minutes_car"] == 3
    acc = by_id(access.origin_accessibility(c, Filters(mode="car", minutes=30)))
    assert acc[C]["minutes_nearest"] == 3
