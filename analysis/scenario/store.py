"""Saved scenarios: the ``scenarios`` table (never the baseline tables).

Saving and deleting are for administrators, as imports are (:class:`analysis.imports.AdminGate`),
and go through :func:`analysis.db.database_copy` (a copy written, then swapped atomically).
A rebuild carries the saved scenarios over (:func:`carry_over`); their figures are those of the
day they were saved, with the build they were computed on (``built_at``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pandas as pd

from analysis import db
from analysis.db import has_relation
from analysis.scenario.evaluate import ScenarioResult
from analysis.scenario.spec import Scenario, ScenarioError

DDL = """CREATE TABLE IF NOT EXISTS scenarios (
    name VARCHAR PRIMARY KEY,
    spec VARCHAR,
    mode VARCHAR,
    minutes DOUBLE,
    origin_kind VARCHAR,
    pupils_without_offer_before DOUBLE,
    pupils_without_offer_after DOUBLE,
    gain_pupils DOUBLE,
    service_date VARCHAR,
    built_at VARCHAR,
    saved_at TIMESTAMP,
    saved_by VARCHAR
)"""

COLUMNS = (
    "name",
    "spec",
    "mode",
    "minutes",
    "origin_kind",
    "pupils_without_offer_before",
    "pupils_without_offer_after",
    "gain_pupils",
    "service_date",
    "built_at",
    "saved_at",
    "saved_by",
)


def _built_at(con: duckdb.DuckDBPyConnection) -> str | None:
    if not has_relation(con, "build_info"):
        return None
    row = con.execute("SELECT value FROM build_info WHERE key = 'built_at'").fetchone()
    return row[0] if row else None


def save(
    db_path: str | os.PathLike,
    scenario: Scenario,
    result: ScenarioResult,
    *,
    secret: str | None,
    user: str | None = None,
    gate=None,
    gate_key: str = "process",
    secret_from_environment: bool = False,
) -> None:
    """Save (or replace) a scenario under its name, after the administrator secret is checked."""
    from analysis.imports import GATE

    (gate or GATE).check(secret, key=gate_key, environment=secret_from_environment is False)
    with db.database_copy(db_path) as con:
        con.execute(DDL)
        con.execute("DELETE FROM scenarios WHERE name = ?", [scenario.name])
        con.execute(
            f"INSERT INTO scenarios ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [
                scenario.name,
                json.dumps(scenario.raw, ensure_ascii=False),
                result.mode,
                result.minutes,
                result.origin_kind,
                result.without_before,
                result.without_after,
                result.gain_pupils,
                result.service_date,
                _built_at(con),
                dt.datetime.now().replace(microsecond=0),
                user,
            ],
        )


def delete(
    db_path: str | os.PathLike,
    name: str,
    *,
    secret: str | None,
    gate=None,
    gate_key: str = "process",
    secret_from_environment: bool = False,
) -> None:
    """Delete a saved scenario (administrators); ScenarioError when there is none of that name."""
    from analysis.imports import GATE

    (gate or GATE).check(secret, key=gate_key, environment=secret_from_environment is False)
    with db.connect(db_path, read_only=True) as con:
        if name not in saved_names(con):
            raise ScenarioError("name", f"aucun scénario enregistré sous le nom « {name} »")
    with db.database_copy(db_path) as con:
        con.execute("DELETE FROM scenarios WHERE name = ?", [name])


def saved_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    if not has_relation(con, "scenarios"):
        return []
    return [n for (n,) in con.execute("SELECT name FROM scenarios ORDER BY name").fetchall()]


def list_saved(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The saved scenarios, one row each (without their document)."""
    if not has_relation(con, "scenarios"):
        return pd.DataFrame(columns=[c for c in COLUMNS if c != "spec"])
    return con.execute(f"SELECT {', '.join(c for c in COLUMNS if c != 'spec')} FROM scenarios ORDER BY name").df()


def load(con: duckdb.DuckDBPyConnection, name: str) -> dict:
    """A saved scenario's row, with its document decoded (``spec``)."""
    if name not in saved_names(con):
        raise ScenarioError("name", f"aucun scénario enregistré sous le nom « {name} »")
    row = con.execute(f"SELECT {', '.join(COLUMNS)} FROM scenarios WHERE name = ?", [name]).fetchone()
    out = dict(zip(COLUMNS, row, strict=True))
    out["spec"] = json.loads(out["spec"])
    return out


def carry_over(con: duckdb.DuckDBPyConnection, previous_db: str | os.PathLike | None) -> int:
    """Copy the saved scenarios of the database being replaced into the new one (build stage)."""
    con.execute(DDL)
    if previous_db is None or not Path(previous_db).exists():
        return 0
    old = db.connect(previous_db, read_only=True)
    try:
        if not has_relation(old, "scenarios"):
            return 0
        rows = old.execute(f"SELECT {', '.join(COLUMNS)} FROM scenarios").df()
    finally:
        old.close()
    if rows.empty:
        return 0
    con.register("_old_scenarios", rows)
    con.execute(f"INSERT INTO scenarios SELECT {', '.join(COLUMNS)} FROM _old_scenarios")
    con.unregister("_old_scenarios")
    return len(rows)
