"""Observatoire des stages — Normandie: UI-free analysis package.

Packages named after the pipeline's stages (``docs/architecture.md`` draws it):

- ground floor (loose modules): ``config`` (paths, typed settings), ``catalogue`` (the one
  vocabulary: modes with their behaviour, indicators, labels, units), ``db`` (DuckDB connections,
  atomic swaps, write lock), ``errors``, ``text`` (French numbers and names), ``progress``,
  ``sanitize`` (hostile text), ``validate_args`` (command-line and URL arguments);
- ``sources``: the registry of source datasets, checked readers and field rules, communes, EPCI,
  départements, lycées, offers, collective projects, pupils, geocoding;
- ``gtfs``: timetables loaded into DuckDB, morning departures; ``transit``: Connection Scan engine;
- ``network``: road graphs (OSM, PBF, line layers), array shortest paths, the Dijkstra kernel,
  contraction hierarchies, detours, intra-commune trips, the graph cache, the car calibration;
- ``traveltime``: travel-time matrices of every mode, the ``route`` command;
- ``access``: accessibility and coverage-gap indicators (2SFCA);
- ``incremental``: travel times and indicators brought up to date after an import;
- ``outputs``: map data, the dashboard's reads, rankings, territory search, the data dictionary,
  the one CSV/XLSX writer;
- ``report``: CSV / XLSX / PDF reports of a territory or a lycée;
- ``planning``: the collective-internship planner;
- ``imports``: safe imports (limits, bounded check, quarantine);
- ``reach``: the offers each pupil of a class file can reach (in memory, nothing stored);
- ``scenario``: mobility scenarios (new lines, bikes, new hosts) evaluated against the baseline;
- ``build``: the build command that ties everything together.
"""

__version__ = "0.1.0"
