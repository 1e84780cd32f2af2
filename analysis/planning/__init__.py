"""Collective-internship planner (issue 14), UI-free.

- :mod:`~analysis.planning.sitetimes`: build stage ``site_travel_times`` (origins -> candidate sites).
- :mod:`~analysis.planning.demand`: unserved pupils / 2SFCA shortfall per origin, coverage pairs.
- :mod:`~analysis.planning.sites`: maximal covering location (CP-SAT exact + greedy), existing projects.
- :mod:`~analysis.planning.programme`: subgroups × days × structures rotation (CP-SAT), with
  :mod:`~analysis.planning.programme_types`, :mod:`~analysis.planning.programme_inputs`,
  :mod:`~analysis.planning.programme_checks` and :mod:`~analysis.planning.programme_model`.
- :mod:`~analysis.planning.export`: XLSX / PDF.
- ``python -m analysis.planning sites|programme``: command line.
"""
