"""Which hosts each pupil can reach: one list per pupil from a class file (issue 22).

A teacher or a CIO adviser gives a class file (one row per pupil: a pseudonym, then
coordinates, an address or a commune); the package answers, for each pupil, every offer
reachable by the chosen mode within the time budget, sorted by minutes, with the first
departure by public transport. Nothing about the pupils is written anywhere (see
``docs/privacy.md``): the file is read in memory, the database is opened read-only.

The package reads like the computation:

- :mod:`analysis.reach.model`: :class:`PupilOrigin`, :class:`PupilReach`, :class:`ReachResult`;
- :mod:`analysis.reach.pupils_file`: the class file (CSV/XLSX bytes) and its template;
- :mod:`analysis.reach.origins`: rows -> points (coordinates, address, commune);
- :mod:`analysis.reach.engine`: points -> reachable offers on the existing engine;
- :mod:`analysis.reach.run`: :func:`reach_from_bytes`, the whole chain;
- :mod:`analysis.reach.output`: JSON, CSV, XLSX and PDF; :mod:`analysis.reach.cli`: the command line.

Command line::

    python -m analysis.reach classe.csv --mode transit --minutes 45 --format xlsx --out classe.xlsx
"""

from __future__ import annotations

from analysis.reach.engine import ReachNetworks, compute, first_departure, load_offers, off_network
from analysis.reach.model import OK, REFUSED, PupilOrigin, PupilReach, ReachRequest, ReachResult
from analysis.reach.output import FORMATS, detail_frame, render, summary_frame
from analysis.reach.pupils_file import read_pupils, template_csv, template_xlsx
from analysis.reach.run import reach_from_bytes

__all__ = [
    "FORMATS",
    "OK",
    "REFUSED",
    "PupilOrigin",
    "PupilReach",
    "ReachNetworks",
    "ReachRequest",
    "ReachResult",
    "compute",
    "detail_frame",
    "first_departure",
    "load_offers",
    "off_network",
    "reach_from_bytes",
    "read_pupils",
    "render",
    "summary_frame",
    "template_csv",
    "template_xlsx",
]
