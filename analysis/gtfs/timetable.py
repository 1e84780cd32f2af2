"""Stop times as a timetable: sorted, interpolated, frequency-based trips expanded.

Owns the sorted stop-times frame of a validated feed (seconds, missing intermediate times
interpolated by stop order, duplicated sequences and times going backwards refused) and the
expansion of ``frequencies.txt`` into one trip per departure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.gtfs.feed import Feed, GTFSError
from analysis.gtfs.validation import first_bad, parse_gtfs_time


def stop_times_frame(feed: Feed, where: str) -> pd.DataFrame:
    """Stop times sorted by trip and sequence, with interpolated missing times (seconds)."""
    st = feed.tables["stop_times.txt"]
    df = pd.DataFrame(
        {
            "trip_id": st["trip_id"].to_numpy(),
            "stop_sequence": st["_seq"].to_numpy(dtype=np.int64),
            "stop_id": st["stop_id"].to_numpy(),
            "arrival_s": st["_arr"].to_numpy(dtype=float),
            "departure_s": st["_dep"].to_numpy(dtype=float),
            "pickup_type": st["_pickup_type"].to_numpy(dtype=np.int64),
            "drop_off_type": st["_drop_off_type"].to_numpy(dtype=np.int64),
            "_row": st["_row"].to_numpy(),
        }
    )
    df = df.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    dup = df.duplicated(["trip_id", "stop_sequence"]).to_numpy()
    row = first_bad(dup)
    if row is not None:
        raise GTFSError(
            where,
            f"stop_sequence en double dans le trajet « {df['trip_id'].iat[row]} »",
            row=int(df["_row"].iat[row]),
            field="stop_sequence",
        )
    missing = np.isnan(df["arrival_s"].to_numpy())
    df["interpolated"] = missing
    if missing.any():
        first = ~df["trip_id"].duplicated(keep="first").to_numpy()
        last = ~df["trip_id"].duplicated(keep="last").to_numpy()
        row = first_bad(missing & (first | last))
        if row is not None:
            raise GTFSError(
                where,
                "heure absente au premier ou au dernier arrêt du trajet "
                f"« {df['trip_id'].iat[row]} » (obligatoire en GTFS)",
                row=int(df["_row"].iat[row]),
                field="arrival_time",
            )
        # first and last stops of every trip have times, so a linear interpolation along the
        # sorted rows never crosses a trip boundary (by stop order, not by distance)
        for col in ("arrival_s", "departure_s"):
            df[col] = df[col].interpolate(method="index", limit_area="inside").round()
    prev_trip = df["trip_id"].shift(1)
    back = (df["trip_id"] == prev_trip) & (df["arrival_s"] < df["departure_s"].shift(1))
    row = first_bad(back.to_numpy())
    if row is not None:
        raise GTFSError(
            where,
            f"heure d'arrivée antérieure au départ de l'arrêt précédent du trajet « {df['trip_id'].iat[row]} »",
            row=int(df["_row"].iat[row]),
            field="arrival_time",
        )
    return df


def expand_frequencies(freq: pd.DataFrame, st: pd.DataFrame, trips: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace frequency-based trips by one trip per departure.

    Each ``frequencies.txt`` row ``(trip_id, start_time, end_time, headway_secs)`` gives
    departures at ``start_time + k x headway_secs`` while ``< end_time``; the template trip's
    stop times give the times relative to its first departure. New trips are named
    ``<trip_id>@<HH:MM:SS>``; the template trip is dropped (GTFS: its absolute times are not
    used).

    Returns
    -------
    (stop_times, trips) : pandas.DataFrame
    """
    start = parse_gtfs_time(freq["start_time"])
    end = parse_gtfs_time(freq["end_time"])
    head = pd.to_numeric(freq["headway_secs"].str.strip()).to_numpy(dtype=float)
    counts = np.maximum(0, np.ceil((end - start) / head)).astype(np.int64)
    rep = np.repeat(np.arange(len(freq)), counts)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    dep = start[rep] + k * head[rep]
    inst = pd.DataFrame({"trip_id": freq["trip_id"].to_numpy()[rep], "_start": dep})
    inst["new_id"] = (
        inst["trip_id"] + "@" + [f"{int(x) // 3600:02d}:{int(x) % 3600 // 60:02d}:{int(x) % 60:02d}" for x in dep]
    )
    templates = set(freq["trip_id"])
    tpl = st[st["trip_id"].isin(templates)].copy()
    first = tpl.groupby("trip_id", sort=False)["departure_s"].transform("first")
    tpl["_off_a"] = tpl["arrival_s"] - first
    tpl["_off_d"] = tpl["departure_s"] - first
    gen = tpl.merge(inst, on="trip_id", how="inner")
    gen["arrival_s"] = gen["_start"] + gen["_off_a"]
    gen["departure_s"] = gen["_start"] + gen["_off_d"]
    gen["trip_id"] = gen["new_id"]
    gen = gen[st.columns]
    st = pd.concat([st[~st["trip_id"].isin(templates)], gen], ignore_index=True)
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    new_trips = trips.merge(inst[["trip_id", "new_id"]], on="trip_id", how="inner")
    new_trips["trip_id"] = new_trips["new_id"]
    new_trips = new_trips.drop(columns="new_id")
    trips = pd.concat([trips[~trips["trip_id"].isin(templates)], new_trips], ignore_index=True)
    return st, trips
