"""``python -m tenuki``: the ``tenuki`` command."""

from tenuki.commands.main import main

raise SystemExit(main())
