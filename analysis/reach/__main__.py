from analysis.reach.cli import main

raise SystemExit(main())
