"""``huesign sandbox serve``: run the reference portal, wallet and PKI services locally."""

from __future__ import annotations

import argparse
import sys
import threading

from huesign.cli._options import Subparsers, add_command_group, add_json_option
from huesign.cli._output import UsageError, dump_json
from huesign.sandbox.server import RunningSandbox, serve_sandbox

__all__ = ["register", "sandbox_summary"]


def register(subparsers: Subparsers) -> None:
    """Add ``huesign sandbox`` and its sub-commands."""
    commands = add_command_group(
        subparsers,
        "sandbox",
        help_text="the reference portal and wallet server (for development and tests)",
        description="A local Hue-S portal, wallet, remote-signing provider and development "
        "PKI services (never for real citizens' data).",
    )
    serve = commands.add_parser(
        "serve",
        help="serve the sandbox on 127.0.0.1 until interrupted",
        description="Serve the sandbox on 127.0.0.1; print its URLs and test credentials.",
    )
    serve.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="store: sqlite:///FILE, a file path, or postgresql://... (default: memory)",
    )
    serve.add_argument("--port", type=int, default=8000, help="TCP port (0: any free port)")
    add_json_option(serve, help_text="print the URLs and credentials as JSON")
    serve.set_defaults(handler=_serve)


def sandbox_summary(running: RunningSandbox) -> dict[str, object]:
    """The URLs and test credentials of a running sandbox, as printed by ``serve``."""
    creds = running.credentials
    signing = running.signing
    return {
        "base_url": running.base_url,
        "portal_url": running.portal_url,
        "wallet_url": running.wallet_url,
        "signing_url": running.signing_url,
        "pki_url": running.ca.base_url,
        "credentials": {
            "citizen_token": creds.citizen_token,
            "officer_token": creds.officer_token,
            "merchant_api_key": creds.merchant_api_key,
            "admin_token": creds.admin_token,
            "notification_secret": creds.notification_secret,
        },
        "signing_accounts": {
            "sp769_sp_id": signing.sp_id,
            "sp769_sp_password": signing.sp_password,
            "csc_client_id": signing.client_id,
            "csc_client_secret": signing.client_secret,
        },
    }


def _print(summary: dict[str, object]) -> None:
    print("huesign sandbox (môi trường thử nghiệm / test environment)")
    for key in ("portal_url", "wallet_url", "signing_url", "pki_url"):
        print(f"  {key:<22} {summary[key]}")
    for title, section in (
        ("Test credentials (thông tin đăng nhập thử nghiệm):", "credentials"),
        (
            "Remote-signing service accounts (tài khoản dịch vụ ký số từ xa), "
            f"sp769 at {summary['signing_url']}/sp769, CSC OAuth2 at "
            f"{summary['signing_url']}/oauth2/token:",
            "signing_accounts",
        ),
    ):
        print(title)
        values = summary[section]
        assert isinstance(values, dict)
        for key, value in values.items():
            print(f"  {key:<22} {value}")
    print("Press Ctrl+C to stop.", flush=True)


def _serve(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be from 0 to 65535")
    try:
        context = serve_sandbox(db=args.db, port=args.port)
        running = context.__enter__()
    except (ValueError, RuntimeError) as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot listen on port {args.port}: {exc.strerror or exc}") from exc
    try:
        summary = sandbox_summary(running)
        if args.json:
            dump_json(summary)
            sys.stdout.flush()
        else:
            _print(summary)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        context.__exit__(None, None, None)
    return 0
