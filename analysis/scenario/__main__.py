import sys

from analysis.scenario.cli import main

sys.exit(main())
