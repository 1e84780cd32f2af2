"""Benchmark: territory indicators for arbitrary filters on the full region.

Usage::

    .venv/bin/python bench/indicators.py [--db data/observatoire.duckdb] [--repeat 3]

Prints, for several filter combinations, the time of ``analysis.access.territory_indicators``
(DuckDB SQL, the implementation used by the dashboard) and, measured in the same run on the same
data, the time of a straightforward pandas implementation of the same indicators (baseline),
with the ratio. It also checks that both give the same figures.

Data: the built database. When it has no ``travel_times`` table yet, the benchmark copies the
core tables into memory and generates SYNTHETIC travel times (straight line x 1.3 at fixed speeds,
transit = 10 min + 25 km/h, all capped at 90 min) so that the volume is realistic; the output
says so. Target (issue 4): every call < 1 s on the full region.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import access, config, db  # noqa: E402
from analysis.access import Filters  # noqa: E402

#: SYNTHETIC travel-time model used only when the database has no travel_times.
SYNTH_SPEEDS_KMH = {"walk": 4.5, "bike": 15.0, "car": 50.0, "transit": 25.0}
SYNTH_EXTRA_MIN = {"walk": 0.0, "bike": 0.0, "car": 2.0, "transit": 10.0}


CORE_TABLES = (
    "communes",
    "epci",
    "departements",
    "schools",
    "offers",
    "offer_locations",
    "transit_stops",
    "transit_trips",
    "transit_stop_times",
    "transit_calendar",
    "transit_calendar_dates",
    "transit_supply",
    "commune_pupils",
    "travel_times",
    "travel_time_runs",
)


def _memory_copy(db_path: Path, with_travel_times: bool):
    mem = db.connect(None)
    mem.execute(f"ATTACH '{db_path}' AS src (READ_ONLY)")
    for t in CORE_TABLES:
        if t == "travel_times" and not with_travel_times:
            continue
        n = mem.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'src' AND table_name = ?", [t]
        ).fetchone()[0]
        if n:
            cols = [
                r[0]
                for r in mem.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE database_name = 'src' "
                    "AND table_name = ? AND data_type NOT LIKE 'GEOMETRY%' ORDER BY column_index",
                    [t],
                ).fetchall()
            ]
            mem.execute(f"CREATE TABLE {t} AS SELECT {', '.join(cols)} FROM src.{t}")
    mem.execute("DETACH src")
    return mem


def open_data(db_path: Path):
    """Return (connection, connection without access_pairs or None, description).

    Synthetic travel times when the DB has none; the compact pair table ``access_pairs`` is
    built in an in-memory copy when the database does not have a fresh one yet."""
    con = db.connect(db_path, read_only=True)
    if access.has_relation(con, "travel_times") and con.execute("SELECT count(*) FROM travel_times").fetchone()[0] > 0:
        if access.pairs_table_is_fresh(con):
            return con, None, "base réelle (travel_times et access_pairs)"
        mem = _memory_copy(db_path, True)
        access.build_pairs(mem)
        return (
            mem,
            con,
            "base réelle copiée en mémoire, access_pairs construite pour la mesure "
            "(colonne « sans paires » : lecture directe de travel_times dans le fichier)",
        )
    con.close()
    mem = _memory_copy(db_path, False)
    parts = []
    for mode, kmh in SYNTH_SPEEDS_KMH.items():
        parts.append(f"""
            SELECT origin_kind, origin_id, loc_id, '{mode}' AS mode,
                   ({SYNTH_EXTRA_MIN[mode]} + km * 1.3 / {kmh} * 60)::REAL AS minutes,
                   FALSE AS is_estimate
            FROM d WHERE {SYNTH_EXTRA_MIN[mode]} + km * 1.3 / {kmh} * 60 <= 90""")
    mem.execute(f"""
        CREATE TABLE travel_times AS
        WITH o AS (
            SELECT 'commune' AS origin_kind, code AS origin_id, lon, lat FROM communes
            UNION ALL SELECT 'school', uai, lon, lat FROM schools
        ),
        d AS (
            SELECT o.origin_kind, o.origin_id, l.loc_id,
                   6371 * 2 * asin(sqrt(
                       power(sin(radians(l.lat - o.lat) / 2), 2)
                       + cos(radians(o.lat)) * cos(radians(l.lat))
                         * power(sin(radians(l.lon - o.lon) / 2), 2))) AS km
            FROM o CROSS JOIN offer_locations l
        )
        {" UNION ALL ".join(parts)}
    """)
    db.write_stamp(mem, "travel_times")  # as analysis.traveltime does
    access.build_pairs(mem)
    return mem, None, "temps de trajet SYNTHÉTIQUES (ligne droite, travel_times absente de la base)"


# --------------------------------------------------------------------------------------------
# pandas baseline (same definitions as analysis.access, written the obvious way)
# --------------------------------------------------------------------------------------------


def load_frames(con) -> dict[str, pd.DataFrame]:
    """Load the inputs once (not timed)."""
    return {
        "tt": con.execute("SELECT origin_kind, origin_id, loc_id, mode, minutes FROM travel_times").df(),
        "offers": con.execute(
            "SELECT offer_id, loc_id, sector, is_public, for_seconde, for_troisieme, capacity, commune_code FROM offers"
        ).df(),
        "communes": con.execute("SELECT code, epci_siren, dep, population FROM communes").df(),
        "schools": con.execute("SELECT uai, commune_code, seconde_pupils FROM schools").df(),
        "total": float(con.execute("SELECT sum(seconde_pupils) FROM schools").fetchone()[0]),
    }


def pandas_offers(fr: dict, f: Filters) -> pd.DataFrame:
    """The located offers kept by the filters (sectors, grade, host), with their places (1 when unknown)."""
    off = fr["offers"]
    off = off[off["loc_id"].notna()]
    if f.sectors:
        off = off[off["sector"].isin(f.sectors)]
    grade_column = {"seconde": "for_seconde", "3e": "for_troisieme"}.get(f.grade)
    if grade_column:
        off = off[off[grade_column]]
    if f.public is not None:
        off = off[off["is_public"] == f.public]
    return off.assign(places=off["capacity"].fillna(1).astype(float))


def pandas_origins(fr: dict, f: Filters) -> pd.DataFrame:
    """Origins and their pupils: communes (pupils spread by population) or lycées (seconde pupils)."""
    if f.origin_kind == "commune":
        com = fr["communes"]
        pop = com["population"].fillna(0).astype(float)
        return pd.DataFrame(
            {"origin_id": com["code"], "commune_code": com["code"], "pupils": fr["total"] * pop / pop.sum()}
        )
    s = fr["schools"]
    return pd.DataFrame(
        {"origin_id": s["uai"], "commune_code": s["commune_code"], "pupils": s["seconde_pupils"].astype(float)}
    )


def weighted_median(values: np.ndarray, weights: np.ndarray, ids: np.ndarray) -> float:
    """Lower weighted median of ``values`` (ties broken by ``ids``); NaN without weight or when
    the median is the "unreachable" sentinel 1e9."""
    order = np.lexsort((ids, values))
    cum = np.cumsum(weights[order])
    if not len(cum) or cum[-1] <= 0:
        return np.nan
    x = values[order][np.argmax(cum >= cum[-1] / 2.0)]
    return x if x < 1e9 else np.nan


def pandas_territory(fr: dict, level: str, f: Filters) -> pd.DataFrame:
    """Territory indicators with pandas (baseline)."""
    off = pandas_offers(fr, f)
    locs = off.groupby("loc_id").agg(n_offers=("offer_id", "size"), places=("places", "sum"))
    com = fr["communes"]
    origins = pandas_origins(fr, f)
    tt = fr["tt"]
    tt = tt[(tt["origin_kind"] == f.origin_kind) & tt["loc_id"].isin(locs.index)]
    tr = tt[tt["mode"].isin(["transit", "walk"])].groupby(["origin_id", "loc_id"], as_index=False)["minutes"].min()
    tr["mode"] = "transit"
    eff = pd.concat([tt[tt["mode"].isin(["walk", "bike", "car"])][tr.columns], tr])
    eff = eff.join(locs, on="loc_id")
    within = eff[eff["minutes"] <= f.minutes]
    sel = within[within["mode"] == f.mode]
    pup = origins.set_index("origin_id")["pupils"]
    sel = sel.assign(pupils=sel["origin_id"].map(pup))
    demand = sel[sel["pupils"] > 0].groupby("loc_id")["pupils"].sum()
    ratio = locs["places"].reindex(demand.index) / demand
    sel = sel.assign(r=sel["loc_id"].map(ratio).fillna(0))
    per = pd.DataFrame(index=origins["origin_id"])
    per["offers"] = sel.groupby("origin_id")["n_offers"].sum()
    per["a"] = sel.groupby("origin_id")["r"].sum()
    for m in ("car", "transit"):
        per[f"offers_{m}"] = within[within["mode"] == m].groupby("origin_id")["n_offers"].sum()
    for m in access.MODES:
        per[f"nearest_{m}"] = eff[eff["mode"] == m].groupby("origin_id")["minutes"].min()
    per = per.fillna({"offers": 0, "a": 0, "offers_car": 0, "offers_transit": 0}).reset_index()
    per = per.merge(origins, on="origin_id")
    keycol = {"commune": "code", "epci": "epci_siren", "departement": "dep"}.get(level)
    per = per.merge(com, left_on="commune_code", right_on="code", how="left")
    per["tkey"] = per[keycol] if keycol else config.REGION_CODE
    per["w"] = per["pupils"].fillna(0)
    g = per.groupby("tkey")
    out = pd.DataFrame({"pupils": g["w"].sum()})
    wsum = lambda col: (per[col] * per["w"]).groupby(per["tkey"]).sum()  # noqa: E731
    out["offers_reachable_mean"] = wsum("offers") / out["pupils"]
    out["places_per_pupil_2sfca"] = wsum("a") / out["pupils"]
    out["pupils_no_offer_transit"] = (
        per[per["offers_transit"] == 0].groupby("tkey")["w"].sum().reindex(out.index).fillna(0)
    )
    out["car_transit_ratio"] = (wsum("offers_car") / wsum("offers_transit")).replace([np.inf, -np.inf], np.nan)
    for m in access.MODES:
        meds = {
            key: weighted_median(
                grp[f"nearest_{m}"].fillna(1e9).to_numpy(), grp["w"].to_numpy(), grp["origin_id"].to_numpy()
            )
            for key, grp in per.groupby("tkey")
        }
        out[f"median_minutes_{m}"] = pd.Series(meds)
    loc_key = off.merge(com, left_on="commune_code", right_on="code")
    loc_key["tkey"] = loc_key[keycol] if keycol else config.REGION_CODE
    out["offers_located"] = loc_key.groupby("tkey").size().reindex(out.index).fillna(0)
    out["offers_per_100_pupils"] = 100 * out["offers_located"] / out["pupils"]
    return out


COMPARED = (
    "pupils",
    "offers_reachable_mean",
    "places_per_pupil_2sfca",
    "pupils_no_offer_transit",
    "car_transit_ratio",
    "median_minutes_walk",
    "median_minutes_bike",
    "median_minutes_transit",
    "median_minutes_car",
    "offers_per_100_pupils",
)


def max_rel_diff(sql: pd.DataFrame, pdf: pd.DataFrame) -> float:
    s = sql.set_index("code")
    worst = 0.0
    for col in COMPARED:
        a = s[col].astype(float)
        b = pdf[col].reindex(a.index).astype(float)
        both = a.notna() & b.notna() & (a.index.isin(pdf.index))
        if ((a.isna() != b.isna()) & a.index.isin(pdf.index) & (s["pupils"] > 0)).any():
            return float("inf")
        d = ((a[both] - b[both]).abs() / np.maximum(1e-9, b[both].abs())).max()
        worst = max(worst, 0.0 if pd.isna(d) else float(d))
    return worst


#: CPU seconds of the last :func:`timed` call (median), all threads of this process.
LAST_CPU = [0.0]


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time over ``repeat`` runs, and the last result; CPU time in LAST_CPU."""
    times, cpus, result = [], [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    LAST_CPU[0] = statistics.median(cpus)
    return statistics.median(times), result


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, default=config.default_db_path())
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--build", action="store_true", help="mesurer aussi build_tables (copie en mémoire de la base)")
    args = p.parse_args(argv)
    if not args.db.exists():
        print(f"Base introuvable : {args.db} (lancez python -m analysis.build)", file=sys.stderr)
        return 2
    import os

    con, plain, what = open_data(args.db)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Machine : {os.cpu_count()} cœurs, charge moyenne (1 min) {load:.1f} au départ")
    n_tt = con.execute("SELECT count(*) FROM travel_times").fetchone()[0]
    n_o = con.execute("SELECT count(DISTINCT origin_kind || origin_id) FROM travel_times").fetchone()[0]
    print(f"Données : {what} ; {n_tt:,} couples origine-lieu-mode, {n_o:,} origines")
    frames = load_frames(con)
    sectors = access.sectors(con)
    big = sectors[0] if sectors else None
    combos = [
        ("region", Filters()),
        ("commune", Filters()),
        ("epci", Filters(mode="car", minutes=30)),
        ("departement", Filters(mode="bike", minutes=15, grade="seconde")),
        ("epci", Filters(mode="transit", minutes=60, sectors=tuple(sectors[:3]), public=False)),
        ("commune", Filters(mode="walk", minutes=30, public=True, grade="3e")),
        ("epci", Filters(mode="transit", minutes=45, origin_kind="school")),
        ("commune", Filters(mode="car", minutes=60, sectors=(big,) if big else ())),
    ]
    print(
        f"{'niveau':12} {'filtres':58} {'SQL (s)':>8} {'CPU (s)':>8} {'sans paires':>11} "
        f"{'pandas (s)':>10} {'ratio':>6} {'écart max':>9}"
    )
    worst_sql = 0.0
    for level, f in combos:
        t_sql, res = timed(lambda level=level, f=f: access.territory_indicators(con, level, f), args.repeat)
        cpu_sql = LAST_CPU[0]
        t_pd, res_pd = timed(lambda level=level, f=f: pandas_territory(frames, level, f), args.repeat)
        t_plain = (
            timed(lambda level=level, f=f: access.territory_indicators(plain, level, f), args.repeat)[0]
            if plain is not None
            else float("nan")
        )
        desc = (
            f"{f.origin_kind} {f.mode} {f.minutes} min"
            + (f" secteurs={len(f.sectors)}" if f.sectors else "")
            + (f" niveau={f.grade}" if f.grade else "")
            + ("" if f.public is None else (" public" if f.public else " privé"))
        )
        worst_sql = max(worst_sql, t_sql)
        print(
            f"{level:12} {desc:58} {t_sql:8.3f} {cpu_sql:8.3f} {t_plain:11.3f} {t_pd:10.3f} "
            f"{t_pd / t_sql:6.1f} "
            f"{max_rel_diff(res, res_pd):9.1e}"
        )
    t_acc, _ = timed(lambda: access.origin_accessibility(con, Filters()), args.repeat)
    print(f"origin_accessibility (communes, transit 45 min) : {t_acc:.3f} s")
    if hasattr(os, "getloadavg"):
        print(f"Charge moyenne (1 min) à la fin : {os.getloadavg()[0]:.1f}")
    print(f"Pire temps SQL : {worst_sql:.3f} s (objectif < 1 s) -> {'OK' if worst_sql < 1 else 'TROP LENT'}")
    if args.build:
        mem = _memory_copy(args.db, True)
        t0 = time.perf_counter()
        access.build_tables(mem, None, None)
        print(f"build_tables (2 origines x 4 modes x 4 budgets x 4 niveaux) : {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
