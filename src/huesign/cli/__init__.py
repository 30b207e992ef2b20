"""The ``huesign`` command: a thin shell over the public API.

Each command group lives in its own module with a ``register(subparsers)`` function that adds
its sub-commands.  A sub-command stores its handler with ``parser.set_defaults(handler=fn)``;
the handler takes the parsed :class:`argparse.Namespace` and returns the exit code.

Exit codes: 0 success, 1 failure (a :class:`~huesign.errors.HuesignError`, an unreadable file
or a failed step), 2 wrong usage, 130 interrupted.  Expected errors print ``error: <message>``
on stderr, never a traceback, and never a password.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Protocol, cast

from huesign import __version__
from huesign.cli import _cms, _demo, _forms, _pdf, _pki, _sandbox, _token
from huesign.cli._options import Subparsers
from huesign.cli._output import UsageError
from huesign.errors import HuesignError

__all__ = ["build_parser", "main"]


class _CommandGroup(Protocol):
    def register(self, subparsers: Subparsers) -> None:
        """Add the group's commands."""


#: The command groups, in the order ``huesign --help`` lists them.
_GROUPS: tuple[_CommandGroup, ...] = (_pki, _demo, _cms, _token, _pdf, _forms, _sandbox)


def build_parser() -> argparse.ArgumentParser:
    """The ``huesign`` argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="huesign",
        description="Digital signatures for Vietnamese public-service forms "
        "(Chữ ký số cho thủ tục hành chính công).",
    )
    parser.add_argument("--version", action="version", version=f"huesign {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    subparsers.required = True
    for group in _GROUPS:
        group.register(subparsers)
    return parser


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``huesign`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits for --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler = cast("Callable[[argparse.Namespace], int] | None", getattr(args, "handler", None))
    if handler is None:  # groups require a sub-command, so this is a programming slip
        parser.print_usage(sys.stderr)
        return 2
    try:
        return handler(args)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except HuesignError as exc:
        return _fail(str(exc), 1)
    except BrokenPipeError:  # the reader went away (``huesign ... | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return _fail(f"{exc.filename}: {reason}" if exc.filename else reason, 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
