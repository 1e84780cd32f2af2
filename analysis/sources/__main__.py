"""``python -m analysis.sources``: the command line of :mod:`analysis.sources.registry` (kept unchanged by the
move of issue 21)."""

import sys

from analysis.sources.registry import main

if __name__ == "__main__":
    sys.exit(main())
