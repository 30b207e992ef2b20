"""One way for tests to find and run the independent judges (openssl, poppler, qpdf, NSS).

A test that needs an outside program calls ``require_program(name)``: it gets the program's
path, or the test is skipped when the program is missing, except under
``HUESIGN_REQUIRE_JUDGES=1`` (as in CI), where a missing judge fails the test instead.
The fixtures built on these helpers live in ``conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

# The Debian package that ships each judge, for the skip message.
PACKAGES = {
    "certutil": "libnss3-tools",
    "pdffonts": "poppler-utils",
    "pdfsig": "poppler-utils",
    "pdftoppm": "poppler-utils",
    "pdftotext": "poppler-utils",
    "pkcs11-tool": "opensc",
    "softhsm2-util": "softhsm2",
}

Run = Callable[..., subprocess.CompletedProcess[str]]


def judges_required() -> bool:
    """Whether a missing judge is a failure (``HUESIGN_REQUIRE_JUDGES=1``), not a skip."""
    return os.environ.get("HUESIGN_REQUIRE_JUDGES") == "1"


def missing(what: str, package: str) -> NoReturn:
    """Skip the running test because ``what`` is not installed (fail when judges are required)."""
    if judges_required():
        pytest.fail(f"{what} is required (HUESIGN_REQUIRE_JUDGES=1) but not installed")
    pytest.skip(f"{what}, an independent judge, is not installed (apt-get install {package})")


def optional_program(name: str) -> str | None:
    """The path of ``name``, or ``None`` when missing (a failure when judges are required)."""
    path = shutil.which(name)
    if path is None and judges_required():
        pytest.fail(f"{name} is required (HUESIGN_REQUIRE_JUDGES=1) but not installed")
    return path


def require_program(name: str) -> str:
    """The path of ``name``; skips the running test when it is missing (see the module doc)."""
    path = shutil.which(name)
    if path is None:
        missing(name, PACKAGES.get(name, name))
    return path


def program_runner(name: str, *, timeout: float = 60) -> Run:
    """A function running ``name`` with its arguments (text output captured, never raising).

    ``run(*args, cwd=None)`` returns the ``CompletedProcess``; the test asserts on it.
    """
    path = require_program(name)

    def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [path, *map(str, args)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


def run_openssl(*args: str | Path, stdin: bytes | None = None) -> bytes:
    """Run ``openssl`` with ``args``, assert that it succeeded and return its standard output."""
    done = subprocess.run(
        [require_program("openssl"), *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def nss_db(folder: Path, root_pem: bytes, *, nickname: str = "test-root") -> str:
    """Make an NSS database in ``folder`` that trusts ``root_pem``; returns ``sql:FOLDER``.

    This is how ``pdfsig -nssdir`` is told to trust a test root (JUDGES.md).
    """
    certutil = require_program("certutil")
    database = f"sql:{folder}"
    root = folder / f"{nickname}.pem"
    root.write_bytes(root_pem)
    subprocess.run(
        [certutil, "-N", "-d", database, "--empty-password"], check=True, capture_output=True
    )
    subprocess.run(
        [certutil, "-A", "-d", database, "-n", nickname, "-t", "CT,C,C", "-i", str(root)],
        check=True,
        capture_output=True,
    )
    return database


@dataclass(frozen=True)
class PdfsigResult:
    """What ``pdfsig`` printed about one file."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Everything pdfsig printed, standard output first."""
        return self.stdout + self.stderr

    @property
    def signatures(self) -> tuple[str, ...]:
        """The text pdfsig printed for each signature, in the file's order."""
        return tuple(self.stdout.split("Signature #")[1:])


def pdfsig(path: Path, nssdir: str | None = None) -> PdfsigResult:
    """Run poppler's ``pdfsig`` on ``path``, trusting the NSS database ``nssdir`` if given."""
    trust = ["-nssdir", nssdir] if nssdir is not None else []
    done = subprocess.run(
        [require_program("pdfsig"), *trust, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return PdfsigResult(returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)


def qpdf_check(path: Path) -> None:
    """Assert that ``qpdf --check`` finds no syntax or stream encoding error in ``path``."""
    done = subprocess.run(
        [require_program("qpdf"), "--check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No syntax or stream encoding errors" in done.stdout
