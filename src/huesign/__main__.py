"""Run the huesign command line: ``python -m huesign``."""

from huesign.cli import main

raise SystemExit(main())
