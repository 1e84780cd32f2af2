"""``python -m analysis.access``: run the indicator command line (:func:`analysis.access.cli.main`)."""

from analysis.access.cli import main

raise SystemExit(main())
