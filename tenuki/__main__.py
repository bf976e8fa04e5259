from tenuki.commands.main import main

raise SystemExit(main())
