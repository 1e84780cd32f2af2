"""Observatoire des stages — Normandie: UI-free analysis package.

Modules, one per concern (OSMnx style):

- ``config``: where the source data and the database live, default parameters.
- ``db``: DuckDB connections with the spatial extension loaded offline, atomic swaps.
- ``sources``: the registry of source datasets (paths, publisher, licence, vintage, URLs).
- ``text``: name normalisation used for matching towns.
- ``geography``: communes, EPCI, départements loaders.
- ``schools``: lycées and seconde headcounts.
- ``offers``: internship offers, location matching, rejects.
- ``collective``: collective-internship projects (hand-curated from seed 003).
- ``gtfs``: GTFS loading into DuckDB.
- ``build``: the build command that ties everything together.
"""

__version__ = "0.1.0"
