"""``huesign sandbox serve`` prints working URLs and credentials, and stops on Ctrl+C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from huesign.cli import main


def _start(*args: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "huesign", "sandbox", "serve", "--port", "0", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        lines.append(line)
        if line.rstrip() == "}":
            return process, json.loads("".join(lines))


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=20)


def test_serve_prints_working_credentials_and_keeps_data_in_sqlite(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    process, summary = _start("--db", f"sqlite:///{db}")
    try:
        credentials = summary["credentials"]
        assert isinstance(credentials, dict)
        listing = httpx.get(
            f"{summary['portal_url']}/procedures",
            headers={"Authorization": f"Bearer {credentials['citizen_token']}"},
        )
        assert listing.json()["items"]
        response = httpx.post(
            f"{summary['portal_url']}/dossiers",
            json={"procedure_code": "1.001193"},
            headers={"Authorization": f"Bearer {credentials['citizen_token']}"},
        )
        assert response.status_code == 201
    finally:
        assert _stop(process) == 0
    assert db.stat().st_size > 0


def test_a_bad_port_is_a_usage_error() -> None:
    assert main(["sandbox", "serve", "--port", "70000"]) == 2


def test_an_unknown_store_url_is_a_usage_error() -> None:
    assert main(["sandbox", "serve", "--port", "0", "--db", "mysql://x"]) == 2


def test_serve_prints_remote_signing_accounts_the_provider_accepts() -> None:
    process, summary = _start()
    try:
        accounts = summary["signing_accounts"]
        assert isinstance(accounts, dict)
        signing = str(summary["signing_url"])
        token = httpx.post(
            f"{signing}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": accounts["csc_client_id"],
                "client_secret": accounts["csc_client_secret"],
            },
        )
        # The account is accepted: the user is unknown (404), not the service (401).
        lookup = httpx.post(
            f"{signing}/sp769/credentials/get_certificate",
            json={
                "sp_id": accounts["sp769_sp_id"],
                "sp_password": accounts["sp769_sp_password"],
                "user_id": "000000000000",
            },
        )
    finally:
        assert _stop(process) == 0
    assert token.status_code == 200
    assert token.json()["token_type"] == "Bearer"
    assert lookup.status_code == 404


def test_serve_prints_the_signing_accounts_in_its_text_output() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "huesign", "sandbox", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        while not lines or not lines[-1].startswith("Press Ctrl+C"):
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "no output"
            lines.append(line)
    finally:
        assert _stop(process) == 0
    keys = {line.split()[0] for line in lines if line.startswith("  ")}
    assert {"sp769_sp_id", "sp769_sp_password", "csc_client_id", "csc_client_secret"} <= keys
