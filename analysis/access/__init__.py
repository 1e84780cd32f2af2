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
- :mod:`analysis.access.sql`: SQL generation of the per-origin indicators, one function per
  common table expression, fed the view's :class:`Filters` whole (or a list of them differing
  only by mode and budget);
- :mod:`analysis.access.territory_sql`: their aggregation per territory;
- :mod:`analysis.access.indicators`: :func:`origin_accessibility` and
  :func:`territory_indicators` (precomputed table when fresh, else the query);
- :mod:`analysis.access.transit_supply`: stops and morning departures per commune;
- :mod:`analysis.access.tables`: the build stage :func:`build_tables`;
- :mod:`analysis.access.cli`: ``python -m analysis.access`` and the filter arguments shared with
  ``analysis.report``.

This module re-exports the public API (including the SQL pieces ``analysis.report`` and
``analysis.incremental`` reuse), so callers write ``from analysis import access`` and
``access.territory_indicators(...)``. To replace a function in a test, patch the module where it
is looked up (e.g. ``access.indicators.territory_query``, ``access.sql.MAX_MASK_SECTORS``).

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
    check_inputs,
    max_minutes_of,
    noop_progress,
    require_tables,
    same_population,
    sectors,
    views_of,
)
from analysis.access.indicators import origin_accessibility, territory_indicators
from analysis.access.pairs import (
    build_pairs,
    pairs_source,
    pairs_sql,
    pairs_table_is_fresh,
    tables_fresh,
    travel_times_signature,
)
from analysis.access.sql import (
    MAX_MASK_SECTORS,
    density_class_sql,
    offer_filter,
    origin_columns,
    origin_ctes,
    scenarios_sql,
    sql_literal,
)
from analysis.access.tables import build_tables, check_travel_times, precomputed_views
from analysis.access.territory_sql import territory_query, territory_rows_sql
from analysis.access.transit_supply import service_date_of, transit_supply_sql
from analysis.db import columns_of, has_relation  # read as access.columns_of / has_relation by callers
from analysis.progress import ProgressFn

__all__ = [
    "AccessError",
    "DENSITY_CLASSES",
    "DENSITY_LABELS",
    "Filters",
    "GRADES",
    "LEVELS",
    "MAX_MASK_SECTORS",
    "MODES",
    "MORNING_WINDOW",
    "ORIGIN_KINDS",
    "ProgressFn",
    "add_filter_arguments",
    "build_pairs",
    "build_tables",
    "check_inputs",
    "check_territory_arguments",
    "check_travel_times",
    "checked_filters_from_args",
    "columns_of",
    "density_class_sql",
    "filters_from_args",
    "has_relation",
    "main",
    "max_minutes_of",
    "noop_progress",
    "offer_filter",
    "origin_accessibility",
    "origin_columns",
    "origin_ctes",
    "pairs_source",
    "pairs_sql",
    "pairs_table_is_fresh",
    "precomputed_views",
    "require_tables",
    "same_population",
    "scenarios_sql",
    "sectors",
    "service_date_of",
    "sql_literal",
    "tables_fresh",
    "territory_indicators",
    "territory_query",
    "territory_rows_sql",
    "transit_note",
    "transit_supply_sql",
    "travel_times_signature",
    "views_of",
]
