from ptal.cli import main

raise SystemExit(main())
