"""``huesign token``: list PKCS#11 tokens and diagnose what is wrong with one.

The PIN is read from ``--pin-file`` or ``$HUESIGN_TOKEN_PIN``, never from the command line
(where other users of the machine could see it), and is never printed.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from huesign.cli._options import Subparsers, add_command_group, add_json_option
from huesign.cli._output import (
    UsageError,
    certificate_summary,
    dump_json,
    labelled_line,
    print_certificate,
    print_identity,
    read_password,
)
from huesign.pki import TokenDiagnosis, TokenEntry, TokenInfo, diagnose_token, list_tokens

__all__ = ["ENV_MODULE", "ENV_PIN", "MODULE_CANDIDATES", "register"]

#: Environment variable holding the token's user PIN.
ENV_PIN = "HUESIGN_TOKEN_PIN"
#: Environment variable naming the PKCS#11 module when ``--module`` is not given.
ENV_MODULE = "HUESIGN_PKCS11_MODULE"
#: Modules ``token list`` looks for when neither ``--module`` nor the variable names one:
#: OpenSC (smart cards and many USB tokens) and SoftHSM2.  Vendor modules of Vietnamese
#: tokens install under names that differ between versions: give them with ``--module``.
MODULE_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
    "/usr/local/lib/opensc-pkcs11.so",
    "/opt/homebrew/lib/opensc-pkcs11.so",
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)
_SIGNING_MECHANISMS = ("RSA_PKCS", "RSA_PKCS_PSS", "ECDSA", "EDDSA")


def register(subparsers: Subparsers) -> None:
    """Add ``huesign token`` and its sub-commands."""
    commands = add_command_group(
        subparsers,
        "token",
        help_text="USB tokens and HSMs (PKCS#11): list, diagnose",
        description="Inspect PKCS#11 tokens (thiết bị ký số USB token).",
        metavar="CMD",
    )

    listing = commands.add_parser("list", help="list slots and tokens of PKCS#11 modules")
    listing.add_argument(
        "--module",
        metavar="PATH",
        help=f"the PKCS#11 module (default: ${ENV_MODULE}, else OpenSC and SoftHSM2 if found)",
    )
    add_json_option(listing)
    listing.set_defaults(handler=_list)

    doctor = commands.add_parser(
        "doctor",
        help="show a token's certificates and keys and say what is wrong",
        description="Pair every certificate with its private key and report problems. "
        f"With a PIN (--pin-file or ${ENV_PIN}) private keys are checked too.",
    )
    doctor.add_argument("--module", metavar="PATH", required=True, help="the PKCS#11 module")
    doctor.add_argument("--token", metavar="LABEL", help="the token label")
    doctor.add_argument("--serial", metavar="SERIAL", help="the token serial number")
    doctor.add_argument("--pin-file", metavar="FILE", help="a file holding the user PIN")
    add_json_option(doctor)
    doctor.set_defaults(handler=_doctor)


# -- list -----------------------------------------------------------------------------------


def _modules(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    named = os.environ.get(ENV_MODULE)
    if named:
        return [named]
    found: list[str] = []
    seen: set[str] = set()
    for candidate in MODULE_CANDIDATES:
        if Path(candidate).is_file() and os.path.realpath(candidate) not in seen:
            seen.add(os.path.realpath(candidate))
            found.append(candidate)
    if not found:
        raise UsageError(f"no PKCS#11 module found: give --module PATH or set ${ENV_MODULE}")
    return found


def _token_json(info: TokenInfo) -> dict[str, object]:
    return {
        "slot_id": info.slot_id,
        "slot_description": info.slot_description,
        "label": info.label,
        "serial": info.serial,
        "manufacturer": info.manufacturer,
        "model": info.model,
        "initialized": info.initialized,
        "pin_status": info.pin_status.value,
        "remaining_tries": info.pin_status.remaining_tries,
        "flags": list(info.flags),
        "mechanisms": list(info.mechanisms),
        "problems": list(info.problems),
    }


def _line(label: str, value: object) -> None:
    print(labelled_line(label, value, indent=2, width=36))


def _print_token(info: TokenInfo) -> None:
    print(f"Khe / Slot {info.slot_id}: {info.slot_description}")
    if not info.initialized:
        print("  chưa khởi tạo / not initialised")
        return
    _line("Nhãn / Label", info.label)
    _line("Số sê-ri / Serial", info.serial)
    _line("Nhà sản xuất / Manufacturer", f"{info.manufacturer} ({info.model})")
    tries = info.pin_status.remaining_tries
    left = "" if tries is None else f", {tries} {'try' if tries == 1 else 'tries'} left"
    pin = info.pin_status.value + left
    _line("Mã PIN / PIN", pin)
    _line("Cờ / Flags", ", ".join(info.flags))
    signing = [m for m in _SIGNING_MECHANISMS if m in info.mechanisms]
    _line("Cơ chế ký / Signing mechanisms", ", ".join(signing) or "none")
    _line("Tổng số cơ chế / All mechanisms", len(info.mechanisms))
    for problem in info.problems:
        print(f"  ✗ {problem}")


def _list(args: argparse.Namespace) -> int:
    report: list[dict[str, object]] = []
    for module in _modules(args.module):
        tokens = list_tokens(module)
        report.append({"module": module, "tokens": [_token_json(t) for t in tokens]})
        if not args.json:
            print(f"Mô-đun / Module: {module}")
            if not tokens:
                print("  không có thẻ / no token present")
            for info in tokens:
                _print_token(info)
            print()
    if args.json:
        dump_json({"modules": report})
    return 0


# -- doctor ---------------------------------------------------------------------------------


def _read_pin(pin_file: str | None) -> str | None:
    if pin_file is not None:
        return read_password(None, pin_file)
    return os.environ.get(ENV_PIN) or None


def _entry_json(entry: TokenEntry) -> dict[str, object]:
    return {
        "certificate": certificate_summary(entry.certificate) if entry.certificate else None,
        "key_id": entry.key_id,
        "key_label": entry.key_label,
        "key_type": entry.key_type,
        "problems": list(entry.problems),
    }


def _print_entry(index: int, entry: TokenEntry, logged_in: bool) -> None:
    cert = entry.certificate
    kind = "khoá riêng / private key" if cert is None else ("CA" if cert.is_ca else "chứng thư số")
    print(f"[{index}] {kind}" + (f" / certificate: {cert.subject_text}" if cert else ""))
    if cert is not None and not cert.is_ca:
        print_identity(cert.identity, indent=4)
    if cert is not None:
        print_certificate(cert, indent=4)
    if entry.key_type is not None:
        key = f"{entry.key_type}, CKA_ID {entry.key_id or '-'}, nhãn / label {entry.key_label!r}"
        print(f"    {'Khoá riêng / Private key:':<26} {key}")
    elif cert is not None and not cert.is_ca and not logged_in:
        print(f"    {'Khoá riêng / Private key:':<26} not checked (no PIN given)")
    for problem in entry.problems:
        print(f"    ✗ {problem}")


def _doctor(args: argparse.Namespace) -> int:
    pin = _read_pin(args.pin_file)
    diagnosis = diagnose_token(
        args.module, token_label=args.token, token_serial=args.serial, pin=pin
    )
    if args.json:
        dump_json(_diagnosis_json(diagnosis))
        return 0 if diagnosis.ok else 1
    _print_token(diagnosis.token)
    if not diagnosis.logged_in:
        print("  (không có PIN: chỉ xem đối tượng công khai / no PIN: public objects only)")
    print()
    for index, entry in enumerate(diagnosis.entries):
        _print_entry(index, entry, diagnosis.logged_in)
    problems = _all_problems(diagnosis)
    if diagnosis.ok:
        print("Không phát hiện vấn đề / No problems found.")
        return 0
    print(f"{len(problems)} vấn đề / problem(s):")
    for problem in problems:
        print(f"  ✗ {problem}")
    return 1


def _all_problems(diagnosis: TokenDiagnosis) -> Sequence[str]:
    found = list(diagnosis.problems)
    for index, entry in enumerate(diagnosis.entries):
        found.extend(f"[{index}] {p}" for p in entry.problems)
    return found


def _diagnosis_json(diagnosis: TokenDiagnosis) -> dict[str, object]:
    return {
        "token": _token_json(diagnosis.token),
        "logged_in": diagnosis.logged_in,
        "entries": [_entry_json(e) for e in diagnosis.entries],
        "problems": list(diagnosis.problems),
        "ok": diagnosis.ok,
    }
