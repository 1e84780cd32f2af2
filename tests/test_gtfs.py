"""Tests of the GTFS loader (analysis.gtfs) on the SYNTHETIC line feed and on the real mirror feeds."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest

from analysis import config, db, gtfs
from analysis.gtfs import GTFSError

FIXTURE = Path(__file__).parent / "fixtures" / "gtfs" / "synthetic_line"
_SRC = config.default_source_dir()
TER = None if _SRC is None else _SRC / "gtfs" / "sncf_ter_france_2025-01-22" / "export-ter-gtfs-last.zip"
ASTUCE = None if _SRC is None else _SRC / "gtfs" / "astuce_rouen_2023-24_partial"
needs_mirror = pytest.mark.skipif(TER is None or not TER.exists(), reason="mirror data absent")


def copy_feed(tmp_path: Path, edits: dict[str, str | None] | None = None) -> Path:
    """Copy the synthetic feed; ``edits`` maps a file name to new content (None deletes it)."""
    dst = tmp_path / "feed"
    shutil.copytree(FIXTURE, dst)
    for name, text in (edits or {}).items():
        if text is None:
            (dst / name).unlink()
        else:
            (dst / name).write_text(text, encoding="utf-8")
    return dst


def replace_line(name: str, old: str, new: str) -> str:
    text = (FIXTURE / name).read_text()
    assert old in text
    return text.replace(old, new, 1)


# ---------------------------------------------------------------------------------------------
# synthetic feed
# ---------------------------------------------------------------------------------------------


def test_load_counts_and_columns():
    con = db.connect()
    counts = gtfs.load_into(con, FIXTURE, feed_id="syn")
    assert counts == {
        "transit_stops": 6,
        "transit_routes": 5,
        "transit_trips": 10,
        "transit_stop_times": 22,
        "transit_calendar": 3,
        "transit_calendar_dates": 2,
        "transit_feeds": 1,
    }
    row = con.execute(
        "SELECT stop_id, gtfs_stop_id, name, lon, lat, commune_code, "
        "ST_X(geom) FROM transit_stops WHERE gtfs_stop_id = 'B2'"
    ).fetchone()
    assert row == ("syn:B2", "B2", "Synthetic B2", -0.327198, 49.10, None, -0.327198)
    # times past 24:00 are kept as seconds of the service day
    t10 = con.execute(
        "SELECT arrival_s FROM transit_stop_times WHERE trip_id = 'syn:T10' ORDER BY stop_sequence"
    ).fetchall()
    assert [r[0] for r in t10] == [24 * 3600 + 1800, 25 * 3600]
    feed = con.execute("SELECT start_date, end_date, has_stop_times FROM transit_feeds").fetchone()
    assert feed == (date(2025, 1, 1), date(2025, 12, 31), True)
    pick = con.execute(
        "SELECT drop_off_type FROM transit_stop_times WHERE trip_id = 'syn:T8' AND stop_id = 'syn:B'"
    ).fetchone()[0]
    assert pick == 1


def test_zip_equals_folder(tmp_path):
    z = tmp_path / "feed.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in FIXTURE.glob("*.txt"):
            zf.write(f, arcname=f"gtfs/{f.name}")  # files in a sub-folder are accepted
    con = db.connect()
    a = gtfs.load_into(con, FIXTURE, feed_id="folder")
    b = gtfs.load_into(con, z)
    assert a == b
    assert gtfs.default_feed_id(z) == "feed"
    assert con.execute("SELECT count(DISTINCT feed_id) FROM transit_stops").fetchone()[0] == 2


def test_reload_replaces_same_feed_only():
    con = db.connect()
    gtfs.load_into(con, FIXTURE, feed_id="one")
    gtfs.load_into(con, FIXTURE, feed_id="two")
    gtfs.load_into(con, FIXTURE, feed_id="one")
    n = dict(con.execute("SELECT feed_id, count(*) FROM transit_stop_times GROUP BY ALL").fetchall())
    assert n == {"one": 22, "two": 22}


def test_bbox_restriction():
    con = db.connect()
    # only A, B and B2 (lon <= -0.32)
    counts = gtfs.load_into(con, FIXTURE, feed_id="w", bbox=(-0.5, 49.0, -0.32, 49.2))
    assert counts["transit_stops"] == 3
    kept = {r[0] for r in con.execute("SELECT DISTINCT stop_id FROM transit_stop_times").fetchall()}
    assert kept == {"w:A", "w:B", "w:B2"}
    # T3 (C -> D) and T6 (C -> E) have no stop left
    trips = {r[0] for r in con.execute("SELECT gtfs_trip_id FROM transit_trips").fetchall()}
    assert trips == {"T1", "T2", "T4", "T5", "T7", "T8", "T9", "T10"}
    with pytest.raises(GTFSError, match="aucun arrêt"):
        gtfs.load_into(con, FIXTURE, feed_id="x", bbox=(5, 45, 6, 46))


def test_commune_join():
    con = db.connect()
    con.execute("""CREATE TABLE communes AS SELECT '14999' AS code,
                   ST_GeomFromText('POLYGON((-0.45 49.05, -0.30 49.05, -0.30 49.15, -0.45 49.15, -0.45 49.05))') AS geom""")
    gtfs.load_into(con, FIXTURE, feed_id="syn")
    got = dict(con.execute("SELECT gtfs_stop_id, commune_code FROM transit_stops").fetchall())
    assert got == {"A": "14999", "B": "14999", "B2": "14999", "C": None, "D": None, "E": None}


def test_interpolated_times(tmp_path):
    st = replace_line("stop_times.txt", "T1,07:20:00,07:20:00,B,2", "T1,,,B,2")
    con = db.connect()
    gtfs.load_into(con, copy_feed(tmp_path, {"stop_times.txt": st}), feed_id="i")
    row = con.execute(
        "SELECT arrival_s, departure_s, interpolated FROM transit_stop_times "
        "WHERE trip_id = 'i:T1' AND stop_sequence = 2"
    ).fetchone()
    # halfway (by stop order) between 07:10 and 07:35
    assert row == (7 * 3600 + 22 * 60 + 30, 7 * 3600 + 22 * 60 + 30, True)


def test_bom_and_calendar_dates_only(tmp_path):
    feed = copy_feed(tmp_path, {"calendar.txt": None})
    text = (feed / "stops.txt").read_text()
    (feed / "stops.txt").write_text("\ufeff" + text, encoding="utf-8")
    con = db.connect()
    counts = gtfs.load_into(con, feed, feed_id="b")
    assert counts["transit_stops"] == 6 and counts["transit_calendar"] == 0


# ---------------------------------------------------------------------------------------------
# bad feeds: GTFSError naming file, row and field
# ---------------------------------------------------------------------------------------------


def _error(path) -> GTFSError:
    with pytest.raises(GTFSError) as exc:
        gtfs.read_feed(path)
    return exc.value


def test_missing_path(tmp_path):
    e = _error(tmp_path / "nope.zip")
    assert e.path.endswith("nope.zip")


def test_missing_required_file(tmp_path):
    e = _error(copy_feed(tmp_path, {"trips.txt": None}))
    assert e.path.endswith("trips.txt") and "absent" in e.message


def test_missing_calendar_files(tmp_path):
    e = _error(copy_feed(tmp_path, {"calendar.txt": None, "calendar_dates.txt": None}))
    assert e.path.endswith("calendar.txt") and "calendar_dates" in e.message


def test_unknown_stop_in_stop_times(tmp_path):
    st = replace_line("stop_times.txt", "T2,07:50:00,07:50:00,D,2", "T2,07:50:00,07:50:00,ZZ,2")
    e = _error(copy_feed(tmp_path, {"stop_times.txt": st}))
    assert e.path.endswith("stop_times.txt")
    assert (e.row, e.field) == (5, "stop_id") and "ZZ" in e.message
    assert "ligne 5" in str(e) and "stop_id" in str(e)


def test_unknown_trip_in_stop_times(tmp_path):
    st = (FIXTURE / "stop_times.txt").read_text() + "T99,09:00:00,09:00:00,A,1,0,0\n"
    e = _error(copy_feed(tmp_path, {"stop_times.txt": st}))
    assert (e.row, e.field) == (23, "trip_id")


def test_bad_time(tmp_path):
    st = replace_line("stop_times.txt", "T3,07:40:00,07:40:00", "T3,7h40,07:40:00")
    e = _error(copy_feed(tmp_path, {"stop_times.txt": st}))
    assert (e.row, e.field) == (6, "arrival_time") and "7h40" in e.message


def test_time_going_backwards(tmp_path):
    st = replace_line("stop_times.txt", "T3,08:05:00,08:05:00", "T3,07:05:00,07:05:00")
    con = db.connect()
    with pytest.raises(GTFSError) as exc:
        gtfs.load_into(con, copy_feed(tmp_path, {"stop_times.txt": st}), feed_id="x")
    assert (exc.value.row, exc.value.field) == (7, "arrival_time")
    assert (
        con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'transit_stops'").fetchone()[0]
        == 0
    )


def test_missing_column(tmp_path):
    stops = (FIXTURE / "stops.txt").read_text().replace("stop_lat", "latitude")
    e = _error(copy_feed(tmp_path, {"stops.txt": stops}))
    assert e.path.endswith("stops.txt") and e.field == "stop_lat"


def test_bad_coordinate_and_duplicate(tmp_path):
    stops = replace_line("stops.txt", "C,Synthetic C,49.10", "C,Synthetic C,149.10")
    e = _error(copy_feed(tmp_path, {"stops.txt": stops}))
    assert (e.row, e.field) == (4, "stop_lat")
    stops = (FIXTURE / "stops.txt").read_text() + "A,again,49.1,-0.4,0,\n"
    e = _error(copy_feed(tmp_path / "2", {"stops.txt": stops}))
    assert (e.row, e.field) == (7, "stop_id")


def test_bad_calendar_values(tmp_path):
    cd = replace_line("calendar_dates.txt", "EXTRA,20250617,1", "EXTRA,2025-06-17,1")
    e = _error(copy_feed(tmp_path, {"calendar_dates.txt": cd}))
    assert (e.row, e.field) == (1, "date")
    cal = replace_line("calendar.txt", "WEEK,1,1,1,1,1,0,0", "WEEK,1,1,yes,1,1,0,0")
    e = _error(copy_feed(tmp_path / "2", {"calendar.txt": cal}))
    assert (e.row, e.field) == (1, "wednesday")


def test_rules_report_the_first_broken_file_in_a_fixed_order(tmp_path):
    """Validation runs one rule per file in a fixed order (stops, routes/trips, calendars,
    stop_times): a SYNTHETIC feed broken in four files reports the stops error; repairing the
    files one by one reveals the next error, each naming its file, row and field."""
    broken = {
        "stops.txt": replace_line("stops.txt", "C,Synthetic C,49.10", "C,Synthetic C,149.10"),
        "trips.txt": replace_line("trips.txt", "R2,WEEK,T2,D", "R9,WEEK,T2,D"),
        "calendar.txt": replace_line("calendar.txt", "WEEK,1,1,1,1,1,0,0", "WEEK,1,1,yes,1,1,0,0"),
        "stop_times.txt": replace_line("stop_times.txt", "T3,07:40:00,07:40:00", "T3,7h40,07:40:00"),
    }
    expected = [
        ("stops.txt", 4, "stop_lat", "149.10"),
        ("trips.txt", 2, "route_id", "R9"),
        ("calendar.txt", 1, "wednesday", "yes"),
        ("stop_times.txt", 6, "arrival_time", "7h40"),
    ]
    for i, (name, row, field, value) in enumerate(expected):
        e = _error(copy_feed(tmp_path / str(i), broken))
        assert e.path.endswith(f"feed/{name}") and (e.row, e.field) == (row, field) and value in e.message
        del broken[name]
    gtfs.read_feed(copy_feed(tmp_path / "ok", broken))  # all repaired: no error


def test_missing_stop_times_warning_points_at_the_caller(tmp_path):
    """The GTFSWarning of a feed without stop_times.txt is attributed to the code that called
    read_feed (here, this test), not to a line inside analysis.gtfs."""
    with pytest.warns(gtfs.GTFSWarning, match="stop_times.txt") as record:
        feed = gtfs.read_feed(copy_feed(tmp_path, {"stop_times.txt": None}))
    assert not feed.has_stop_times
    assert [Path(w.filename).name for w in record] == [Path(__file__).name]


def test_truncated_zip(tmp_path):
    z = tmp_path / "feed.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in FIXTURE.glob("*.txt"):
            zf.write(f, arcname=f.name)
    data = z.read_bytes()
    bad = tmp_path / "bad.zip"
    bad.write_bytes(data[: len(data) // 2])
    e = _error(bad)
    assert e.path.endswith("bad.zip")


# ---------------------------------------------------------------------------------------------
# real mirror feeds
# ---------------------------------------------------------------------------------------------


@needs_mirror
def test_ter_normandie():
    con = db.connect()
    counts = gtfs.load_into(con, TER, feed_id="ter")
    lon0, lat0, lon1, lat1 = config.NORMANDIE_BBOX
    n = con.execute(
        "SELECT count(*) FROM transit_stops WHERE lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?", [lon0, lon1, lat0, lat1]
    ).fetchone()[0]
    assert n == 368  # SOURCE.md: 368 stops (154 StopAreas) in the Normandie bbox
    assert n >= 300
    assert counts["transit_calendar"] == 0 and counts["transit_calendar_dates"] > 0
    assert con.execute("SELECT start_date, end_date FROM transit_feeds").fetchone() == (
        date(2025, 1, 22),
        date(2025, 4, 22),
    )
    # every stop kept lies in the bbox + margin (parents aside)
    m = config.BBOX_MARGIN_DEG
    out = con.execute(
        "SELECT count(*) FROM transit_stops WHERE location_type = 0 AND NOT "
        "(lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?)",
        [lon0 - m, lon1 + m, lat0 - m, lat1 + m],
    ).fetchone()[0]
    assert out == 0
    caen = con.execute("SELECT name FROM transit_stops WHERE gtfs_stop_id = 'StopArea:OCE87444000'").fetchone()
    assert caen == ("Caen",)


@needs_mirror
def test_astuce_without_stop_times_warns():
    con = db.connect()
    with pytest.warns(gtfs.GTFSWarning, match="stop_times.txt"):
        counts = gtfs.load_into(con, ASTUCE, feed_id="astuce")
    assert counts["transit_stops"] == 3365 and counts["transit_stop_times"] == 0
    row = con.execute("SELECT has_stop_times, note FROM transit_feeds").fetchone()
    assert row[0] is False and "stop_times.txt" in row[1]


def test_frequencies_expanded(tmp_path):
    # T9 (D 08:10 -> A 08:50) becomes a bus every 20 min from 07:00 to before 08:00
    feed = copy_feed(
        tmp_path, {"frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT9,07:00:00,08:00:00,1200\n"}
    )
    con = db.connect()
    counts = gtfs.load_into(con, feed, feed_id="f")
    assert counts["transit_trips"] == 10 - 1 + 3
    rows = con.execute(
        "SELECT trip_id, stop_id, departure_s FROM transit_stop_times "
        "WHERE trip_id LIKE 'f:T9%' ORDER BY trip_id, stop_sequence"
    ).fetchall()
    assert rows == [
        ("f:T9@07:00:00", "f:D", 7 * 3600),
        ("f:T9@07:00:00", "f:A", 7 * 3600 + 2400),
        ("f:T9@07:20:00", "f:D", 7 * 3600 + 1200),
        ("f:T9@07:20:00", "f:A", 8 * 3600),
        ("f:T9@07:40:00", "f:D", 7 * 3600 + 2400),
        ("f:T9@07:40:00", "f:A", 8 * 3600 + 1200),
    ]
    from analysis import transit

    net = transit.TransitNetwork.from_duckdb(con, date(2025, 6, 17))
    d = (-0.125275, 49.10)
    a = (-0.40, 49.10)
    r = transit.transit_route(net, d, a, depart="07:05")
    assert r["arrive"] == "08:00"


def test_bad_frequency(tmp_path):
    feed = copy_feed(
        tmp_path, {"frequencies.txt": "trip_id,start_time,end_time,headway_secs\nT9,07:00:00,08:00:00,0\n"}
    )
    e = _error(feed)
    assert e.path.endswith("frequencies.txt") and (e.row, e.field) == (1, "headway_secs")
