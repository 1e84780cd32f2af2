"""``python -m analysis.imports``: run the import command line (:func:`analysis.imports.cli.main`)."""

from analysis.imports.cli import main

raise SystemExit(main())
