"""``python -m huesign.cli``: run the command line."""

from huesign.cli import main

raise SystemExit(main())
