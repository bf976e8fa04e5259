from tenuki.cli import main

raise SystemExit(main())
