"""Options that several ``huesign`` commands share, and what their values turn into.

Each ``add_*`` function adds one kind of option to a parser, always with the same name,
metavar and meaning; the function next to it reads the parsed value: a PKCS#12 signer, a
trust store, a validation policy and time, an output file that ``--force`` may overwrite.
Mistakes on the command line raise :class:`~huesign.cli._output.UsageError` (exit 2).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TypeAlias

from huesign.cli._output import ENV_PASSWORD, UsageError, read_password
from huesign.errors import CertificateError
from huesign.pki.certificates import Certificate, load_certificates_file
from huesign.pki.fetch import HTTPFetcher
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.revocation import RevocationSource
from huesign.pki.signers import KeySigner
from huesign.pki.trust import TrustStore

__all__ = [
    "REVOCATION_MODES",
    "Subparsers",
    "add_at_option",
    "add_command_group",
    "add_force_option",
    "add_json_option",
    "add_password_options",
    "add_pkcs12_options",
    "add_report_options",
    "add_revocation_option",
    "add_trust_option",
    "extra_trust",
    "given_password",
    "input_file",
    "online_revocation",
    "pkcs12_signer",
    "read_bounded",
    "trust_store",
    "validation_policy",
    "validation_time",
    "writable",
    "write_new_file",
]

#: The ``--revocation`` choices and the modes they select.
REVOCATION_MODES = MappingProxyType(
    {
        "hard": RevocationMode.HARD_FAIL,
        "soft": RevocationMode.SOFT_FAIL,
        "offline": RevocationMode.OFFLINE,
    }
)

#: What ``ArgumentParser.add_subparsers`` returns: the place where commands are added.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command_group(
    subparsers: Subparsers,
    name: str,
    *,
    help_text: str,
    description: str | None = None,
    metavar: str = "COMMAND",
) -> Subparsers:
    """Add the command group ``huesign NAME`` and return the action for its sub-commands.

    A sub-command is required: ``huesign NAME`` alone is a usage error.
    """
    group = subparsers.add_parser(name, help=help_text, description=description)
    commands = group.add_subparsers(
        title=f"{name} commands", dest=f"{name}_command", metavar=metavar
    )
    commands.required = True
    return commands


# -- secrets and signers ----------------------------------------------------------------------


def add_password_options(
    parser: argparse.ArgumentParser, *, what: str = "the PKCS#12 password"
) -> None:
    """Add ``--password P`` and ``--password-file FILE`` (mutually exclusive).

    ``what`` says what the password is for; read the value with
    :func:`~huesign.cli._output.read_password`.
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--password", metavar="P", help=f"{what}; also ${ENV_PASSWORD}")
    group.add_argument(
        "--password-file",
        metavar="FILE",
        help="read the password from FILE (safer: --password shows in the process list)",
    )


def add_pkcs12_options(parser: argparse.ArgumentParser, *, holder: str = "the signer's") -> None:
    """Add ``--p12 P12`` (required) and the password options; read them with
    :func:`pkcs12_signer`."""
    parser.add_argument("--p12", required=True, metavar="P12", help=f"{holder} PKCS#12 file")
    add_password_options(parser)


def given_password(args: argparse.Namespace) -> str | None:
    """The password that the options of :func:`add_password_options` give, if any."""
    return read_password(args.password, args.password_file)


def pkcs12_signer(args: argparse.Namespace) -> KeySigner:
    """The signer in the ``--p12`` file, opened with the password the options give."""
    return KeySigner.load_pkcs12(args.p12, given_password(args))


# -- trust and validation ---------------------------------------------------------------------


def add_trust_option(
    parser: argparse.ArgumentParser,
    *,
    help_text: str = "trust anchors (default: the Vietnam National Root CA)",
) -> None:
    """Add the repeatable ``--trust PEM`` option."""
    parser.add_argument(
        "--trust", action="append", default=[], metavar="PEM", help=help_text + " (repeatable)"
    )


def _certificates(paths: Sequence[str]) -> list[Certificate]:
    found: list[Certificate] = []
    for name in paths:
        try:
            found.extend(load_certificates_file(name))
        except CertificateError as exc:
            reason = str(exc)
            raise UsageError(reason if name in reason else f"{name}: {reason}") from exc
    if paths and not found:
        raise UsageError("no certificate found in the --trust files")
    return found


def trust_store(paths: Sequence[str]) -> TrustStore:
    """The anchors in the ``--trust`` files, or the Vietnam National Root CA without any."""
    given = extra_trust(paths)
    return given if given is not None else TrustStore.vietnam()


def extra_trust(paths: Sequence[str]) -> TrustStore | None:
    """The certificates in the ``--trust`` files as a store, or ``None`` without any file.

    Signing commands take it to complete a signer's chain (B-LT) beyond the bundled roots.
    """
    found = _certificates(paths)
    return TrustStore.from_certificates(found) if found else None


def add_revocation_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--revocation {hard,offline,soft}`` (default ``hard``)."""
    parser.add_argument(
        "--revocation",
        choices=sorted(REVOCATION_MODES),
        default="hard",
        help="hard: status must be known; soft: missing status is a warning; offline: no network",
    )


def validation_policy(revocation: str) -> ValidationPolicy:
    """The validation policy for a ``--revocation`` choice."""
    return ValidationPolicy(revocation_mode=REVOCATION_MODES[revocation])


@contextlib.contextmanager
def online_revocation() -> Iterator[RevocationSource]:
    """A revocation source that fetches CRLs and OCSP responses over HTTP while open."""
    with HTTPFetcher() as fetcher:
        yield RevocationSource(fetcher=fetcher)


def add_at_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--at TIME``: the validation time."""
    parser.add_argument(
        "--at", metavar="TIME", help="validation time, ISO 8601 with offset (default: now)"
    )


def validation_time(text: str | None) -> dt.datetime | None:
    """The ``--at`` time (``None`` for now); it must carry a UTC offset."""
    if not text:
        return None
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise UsageError(f"--at {text!r} is not an ISO 8601 time") from exc
    if at.tzinfo is None:
        raise UsageError("--at needs a UTC offset, e.g. 2026-01-31T08:00:00+07:00")
    return at


# -- output -------------------------------------------------------------------------------------


def add_json_option(
    parser: argparse.ArgumentParser,
    *,
    help_text: str = "print JSON",
) -> None:
    """Add ``--json``."""
    parser.add_argument("--json", action="store_true", help=help_text)


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--json`` and ``--lang {vi,en}`` for commands that print a validation report."""
    add_json_option(parser, help_text="print the report as JSON")
    parser.add_argument(
        "--lang", choices=("vi", "en"), default=None, help="summary language (default: both)"
    )


def add_force_option(
    parser: argparse.ArgumentParser,
    *,
    help_text: str = "overwrite an existing file",
) -> None:
    """Add ``--force``: let the command overwrite files that already exist."""
    parser.add_argument("--force", action="store_true", help=help_text)


def _exists(path: Path) -> UsageError:
    return UsageError(f"{path} already exists; use --force to overwrite it")


def writable(path: str | os.PathLike[str], *, force: bool) -> Path:
    """``path``, unless it already exists and ``force`` is false (a usage error).

    Commands call it before any slow work, so that a refusal comes at once.
    """
    out = Path(path)
    if out.exists() and not force:
        raise _exists(out)
    return out


def write_new_file(path: Path, data: bytes, *, force: bool, secret: bool = False) -> str:
    """Write ``data`` to ``path``, refusing an existing file unless ``force``; return the path.

    The file is created exclusively (no race with another writer) and is owner-only when
    ``secret``.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600 if secret else 0o644)
    except FileExistsError as exc:
        raise _exists(path) from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return str(path)


# -- input ----------------------------------------------------------------------------------------


def input_file(name: str) -> Path:
    """``name`` as a path, which must be an existing file."""
    path = Path(name)
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    return path


def read_bounded(path: Path, limit: int, *, error: type[Exception] = UsageError) -> bytes:
    """The bytes of ``path``, at most ``limit`` of them; a larger file raises ``error``."""
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise error(f"{path} is larger than {limit} bytes")
    return data
