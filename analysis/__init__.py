"""Observatoire des stages — Normandie: UI-free analysis package.

Modules, one per concern (OSMnx style):

- ``config``: where the source data and the database live, default parameters, the typed
  settings of the build (``BuildSettings``, ``IndicatorSettings``).
- ``db``: DuckDB connections with the spatial extension loaded offline, atomic swaps, the
  write lock and database copy, readers, ``has_relation`` and the ``build_meta`` stamps.
- ``errors``, ``readers``: input errors naming file/row/field, checked file readers.
- ``sources``: the registry of source datasets (``data/sources.csv``), provenance, fetch.
- ``text``: the French number formatter, name normalisation used for matching towns.
- ``geography``: communes, EPCI, départements (COG 2025).
- ``schools``: lycées and seconde headcounts.
- ``offers``: internship offers, location matching, rejects.
- ``collective``: collective-internship projects (hand-curated from seed 003).
- ``gtfs``: GTFS loading into DuckDB; ``transit``: Connection Scan travel times.
- ``geodesy``: distances on the sphere.
- ``roads``: OSMnx road graphs; ``paths``: array shortest paths; ``dijkstra``: the bounded
  many-source Dijkstra kernel (numba) they run on;
  ``traveltime``: travel-time matrices for every mode and the ``route`` command.
- ``supply``: morning departures per stop (the one definition).
- ``pupils``, ``access``: pupils, accessibility and coverage-gap indicators (2SFCA).
- ``maps``: map data (GeoJSON, classes, palettes) for the pages, UI-free.
- ``dashboard``: every other read the pages show (``ui.data`` caches them).
- ``report`` (package: columns, data, tables, mapimage, pdf, render, cli): CSV / XLSX / PDF gap reports.
- ``validation``, ``geocode``, ``imports`` (package: schema, auth, reading, templates, checks, write,
  transaction, cli): safe imports of new offers and local data.
- ``planning``: the collective-internship planner (covering sites, programme design, exports).
- ``build``: the build command that ties everything together.
"""

__version__ = "0.1.0"
