"""``python -m analysis.report``: run the report command line (:func:`analysis.report.cli.main`)."""

from analysis.report.cli import main

raise SystemExit(main())
