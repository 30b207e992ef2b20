"""pytest plugin: fixtures that give a throwaway Vietnamese PKI and signed documents.

Registered through the ``pytest11`` entry point, so installing huesign is enough.
"""

from __future__ import annotations

import pytest

__all__ = ["pytest_addoption"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add huesign's command-line options."""
    group = parser.getgroup("huesign")
    group.addoption(
        "--huesign-keep-artifacts",
        metavar="DIR",
        default=None,
        help="keep the development CA and signed documents made by huesign fixtures in DIR",
    )
