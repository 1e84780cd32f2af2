"""Exact French messages of the GTFS column checks (analysis.gtfs.validation), one per rule, on
the SYNTHETIC line feed with one hand-made fault each: the text, the 1-based data row and the
field are written here by hand, so factoring the checks cannot change what a user reads."""

from __future__ import annotations

import pytest

from analysis import gtfs
from analysis.gtfs import GTFSError
from tests.test_gtfs import copy_feed, replace_line

#: file | a line of the fixture | that line broken | 1-based data row | field | message
_TABLE = """
stop_times.txt | T3,07:40:00,07:40:00 | T3,7h40,07:40:00 | 6 | arrival_time | heure invalide « 7h40 » (format HH:MM:SS attendu)
stop_times.txt | T1,07:20:00,07:20:00 | T1,07:20:00,07:19:00 | 2 | departure_time | départ 07:19:00 avant l'arrivée 07:20:00
stop_times.txt | T1,07:20:00,07:20:00,B,2,0,0 | T1,07:20:00,07:20:00,B,2,7,0 | 2 | pickup_type | valeur invalide « 7 » (une des valeurs (0, 1, 2, 3) attendu)
stop_times.txt | T1,07:20:00,07:20:00,B,2,0,0 | T1,07:20:00,07:20:00,B,deux,0,0 | 2 | stop_sequence | valeur invalide « deux » (un entier attendu)
stop_times.txt | T1,07:20:00,07:20:00,B,2 | T1,07:20:00,07:20:00,ZZ,2 | 2 | stop_id | « ZZ » absent de stops.txt (stop_id)
stops.txt | C,Synthetic C,49.10,-0.235165 | C,Synthetic C,49.10,-190.5 | 4 | stop_lon | coordonnée invalide « -190.5 » (nombre entre -180 et 180 attendu)
stops.txt | B2,Synthetic B2, | A,Synthetic B2, | 3 | stop_id | identifiant en double « A »
calendar.txt | WEEK,1,1,1,1,1,0,0,20250101 | WEEK,1,1,1,1,1,0,0,2025-01-01 | 1 | start_date | date invalide « 2025-01-01 » (format AAAAMMJJ attendu)
"""
CASES = [line.split(" | ") for line in _TABLE.strip().splitlines()]


@pytest.mark.parametrize("name, old, new, row, field, message", CASES, ids=[f"{c[4]}-{i}" for i, c in enumerate(CASES)])
def test_check_message_row_and_field(tmp_path, name, old, new, row, field, message):
    with pytest.raises(GTFSError) as exc:
        gtfs.read_feed(copy_feed(tmp_path, {name: replace_line(name, old, new)}))
    e = exc.value
    assert (e.row, e.field, e.message) == (int(row), field, message)
    assert e.path.endswith(f"feed/{name}")


def test_headway_message(tmp_path):
    freq = "trip_id,start_time,end_time,headway_secs\nT1,07:00:00,08:00:00,600\nT2,07:00:00,08:00:00,-5\n"
    with pytest.raises(GTFSError) as exc:
        gtfs.read_feed(copy_feed(tmp_path, {"frequencies.txt": freq}))
    assert (exc.value.row, exc.value.field, exc.value.message) == (2, "headway_secs", "intervalle nul ou négatif")
