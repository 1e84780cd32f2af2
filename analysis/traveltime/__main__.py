"""``python -m analysis.traveltime``: run the command line (:func:`analysis.traveltime.cli.main`)."""

import sys

from analysis.traveltime.cli import main

sys.exit(main())
