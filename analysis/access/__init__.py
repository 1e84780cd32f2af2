"""Accessibility and coverage-gap indicators (issue 4).

Everything is computed by DuckDB SQL over ``travel_times`` (origin -> offer location, minutes,
only pairs <= 90 min) and ``offers``, with the filters passed as parameters, so any indicator
table for the whole region takes well under a second (see ``bench/indicators.py``).

Main objects
------------
- :class:`Filters`: mode, time budget, sectors, target grade, public/private host, origin kind.
- :func:`origin_accessibility`: one row per origin (commune of residence or lycée):
  cumulative opportunities, minutes to the nearest offer, 2SFCA places per pupil.
- :func:`territory_indicators`: one row per commune, EPCI, département or the region.
- :func:`build_tables`: build stage writing ``commune_pupils``, ``transit_supply``,
  ``access_pairs`` (+ ``access_origins``, ``access_meta``: the travel times in a compact,
  integer-keyed form used by every query), ``accessibility`` and ``territory_indicators`` for the
  default parameters.

The package reads like the way an indicator is made:

- :mod:`analysis.access.filters`: the vocabulary (modes, origin kinds, levels, grades, density
  classes), :class:`Filters`, :class:`AccessError` and the checks against the database;
- :mod:`analysis.access.pairs`: the compact pair tables and the freshness of every
  precomputed table;
- :mod:`analysis.access.sql`: SQL generation of the per-origin and per-territory indicators;
- :mod:`analysis.access.indicators`: :func:`origin_accessibility` and
  :func:`territory_indicators` (precomputed table when fresh, else the query);
- :mod:`analysis.access.transit_supply`: stops and morning departures per commune;
- :mod:`analysis.access.tables`: the build stage :func:`build_tables`;
- :mod:`analysis.access.cli`: ``python -m analysis.access`` and the filter arguments shared with
  ``analysis.report``.

This module re-exports the public API (and the few private helpers ``analysis.report`` reuses),
so callers write ``from analysis import access`` and ``access.territory_indicators(...)``. To
replace a function in a test, patch the module where it is looked up (e.g.
``access.indicators._territory_query``, ``access.sql.MAX_MASK_SECTORS``).

Definitions (see ``docs/indicators.md`` for the full text in French and English)
-------------------------------------------------------------------------------
- Mode ``transit`` means public transport *or walking*: the time of a pair is the smaller of
  the ``transit`` and ``walk`` rows of ``travel_times``.
- Places of an offer: ``offers.capacity`` where known, else 1 (flagged: the count of offers
  with the default capacity is given next to every places figure).
- 2SFCA with the same travel-time relation (mode, budget) in both steps::

      R_j = places_j / sum(pupils_i : t_ij <= budget)      (locations j with demand > 0)
      A_i = sum(R_j : t_ij <= budget)

  so that ``sum_i pupils_i * A_i`` equals the places of the offers reachable from at least one
  origin with pupils.
"""

from __future__ import annotations

from analysis.access.cli import (
    add_filter_arguments,
    check_territory_arguments,
    checked_filters_from_args,
    filters_from_args,
    main,
    transit_note,
)
from analysis.access.filters import (
    DENSITY_CLASSES,
    DENSITY_LABELS,
    GRADES,
    LEVELS,
    MODES,
    MORNING_WINDOW,
    ORIGIN_KINDS,
    AccessError,
    Filters,
    ProgressFn,
    _check_inputs,
    _noop_progress,
    _require,
    max_minutes_of,
    sectors,
)
from analysis.access.indicators import origin_accessibility, territory_indicators
from analysis.access.pairs import _tables_fresh, build_pairs, pairs_sql, pairs_table_is_fresh
from analysis.access.sql import (
    MAX_MASK_SECTORS,
    Scenario,
    _offer_filter,
    _sql_literal,
    _territory_query,
    density_class_sql,
    origin_columns,
)
from analysis.access.tables import build_tables, check_travel_times
from analysis.access.transit_supply import service_date_of, transit_supply_sql
from analysis.db import columns_of, has_relation  # read as access.columns_of / has_relation by callers

__all__ = [
    "DENSITY_CLASSES",
    "DENSITY_LABELS",
    "GRADES",
    "LEVELS",
    "MAX_MASK_SECTORS",
    "MODES",
    "MORNING_WINDOW",
    "ORIGIN_KINDS",
    "AccessError",
    "Filters",
    "ProgressFn",
    "Scenario",
    "add_filter_arguments",
    "build_pairs",
    "build_tables",
    "check_territory_arguments",
    "check_travel_times",
    "checked_filters_from_args",
    "columns_of",
    "density_class_sql",
    "filters_from_args",
    "has_relation",
    "main",
    "max_minutes_of",
    "origin_accessibility",
    "origin_columns",
    "pairs_sql",
    "pairs_table_is_fresh",
    "sectors",
    "service_date_of",
    "territory_indicators",
    "transit_note",
    "transit_supply_sql",
    # private helpers reused by analysis.report and the tests
    "_check_inputs",
    "_noop_progress",
    "_offer_filter",
    "_require",
    "_sql_literal",
    "_tables_fresh",
    "_territory_query",
]
