"""``huesign demo``: the citizen's whole journey against an embedded sandbox.

The sandbox (portal, wallet, development PKI services and remote-signing provider) runs
in-process on a free loopback port for the duration of the command.  A citizen of Huế is
provisioned in it (certificate, portal account, remote-signing account); she connects to her
signing credential, searches the portal for "dang ky tam tru" (temporary residence
registration, 1.004194), fills and validates the form, signs it (PAdES B-T with a visible
stamp), submits the dossier (the portal reads the fee of the online channel from the signed
data), pays the fee from the wallet, follows the dossier to its result and verifies the
agency's signed result.  The steps themselves live
in :mod:`huesign.cli._journey`; this module parses options and prints.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import attrs

from huesign.cli._journey import CitizenAnswer, Journey, SigningMode
from huesign.cli._output import UsageError, dump_json
from huesign.errors import HuesignError

__all__ = ["register"]

Lang = Literal["vi", "en", "both"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``huesign demo``."""
    demo = subparsers.add_parser(
        "demo",
        help="run the citizen's whole journey against an embedded sandbox",
        description="Start a sandbox portal, wallet, development PKI and remote-signing "
        "provider on 127.0.0.1, then find a procedure, fill, sign, submit, pay, track and "
        "verify the agency's signed result, printing each step.  Exits 0 only when every "
        "step passed.",
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        help="work directory, created if missing, must be empty "
        "(default: a new temporary directory, kept and printed)",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON object instead")
    demo.add_argument(
        "--signing",
        choices=[m.value for m in SigningMode],
        default=SigningMode.CSC.value,
        help="csc: CSC remote signing (SCAL 2); sp769: the NEAC sp769 protocol; "
        "p12: a key file (default: csc)",
    )
    demo.add_argument(
        "--lang", choices=["vi", "en", "both"], default="both", help="language (default: both)"
    )
    demo.add_argument(
        "--citizen-answer",
        choices=[a.value for a in CitizenAnswer],
        default=CitizenAnswer.APPROVE.value,
        help="what the citizen answers in the provider's app (reject: see a failing run)",
    )
    demo.set_defaults(handler=_run)


@attrs.frozen(kw_only=True)
class _Step:
    name: str
    title_vi: str
    title_en: str
    status: Literal["passed", "failed", "skipped"]
    seconds: float = 0.0
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.status == "passed",
            "status": self.status,
            "title_vi": self.title_vi,
            "title_en": self.title_en,
            "duration_ms": round(self.seconds * 1000),
            "detail": self.detail,
        }


_WORDS = {
    "passed": ("đạt", "ok"),
    "failed": ("LỖI", "FAILED"),
    "skipped": ("bỏ qua", "skipped"),
}

_FILE_LABELS = {
    "ca_directory": ("Thư mục CA", "CA directory"),
    "root": ("CA gốc", "Root CA"),
    "intermediate": ("CA cấp", "Issuing CA"),
    "certificate": ("Chứng thư công dân", "Citizen certificate"),
    "pkcs12": ("Tệp khoá PKCS#12", "PKCS#12 key file"),
    "attachment": ("Tài liệu kèm theo", "Attachment"),
    "form_data": ("Dữ liệu tờ khai", "Form data"),
    "signed_form": ("Tờ khai đã ký", "Signed form"),
    "agency_result": ("Kết quả của cơ quan", "Agency's result"),
    "result_report": ("Báo cáo xác minh kết quả", "Result verification report"),
}


@attrs.define(kw_only=True)
class _Printer:
    lang: Lang
    quiet: bool

    def text(self, vi: str, en: str) -> str:
        if self.lang == "vi":
            return vi
        if self.lang == "en":
            return en
        return f"{vi} / {en}"

    def line(self, text: str = "", *, end: str = "\n") -> None:
        if not self.quiet:
            print(text, end=end, flush=True)


_STEPS: tuple[tuple[str, str, str, str], ...] = (
    (
        "sandbox",
        "Khởi động môi trường thử nghiệm",
        "Start the embedded sandbox",
        "start_sandbox",
    ),
    (
        "citizen",
        "Tạo công dân và kết nối chữ ký số",
        "Provision the citizen and connect her signature",
        "connect_citizen",
    ),
    ("procedure", "Tìm thủ tục trên cổng", "Find the procedure on the portal", "find_procedure"),
    ("form", "Điền và kiểm tra tờ khai", "Fill and validate the form", "fill_form"),
    ("sign", "Ký tờ khai (PAdES B-T)", "Sign the form (PAdES B-T)", "sign_form"),
    ("submit", "Nộp hồ sơ lên cổng", "Submit the dossier", "submit"),
    ("payment", "Thanh toán lệ phí qua ví", "Pay the fee from the wallet", "pay"),
    ("tracking", "Theo dõi hồ sơ", "Track the dossier", "track"),
    ("result", "Nhận và xác minh kết quả", "Download and verify the result", "verify_result"),
)


@attrs.define(kw_only=True)
class _Run:
    journey: Journey
    out: _Printer
    steps: list[_Step] = attrs.Factory(list)
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return len(self.steps) == len(_STEPS) and all(s.status == "passed" for s in self.steps)

    def step(self, name: str, vi: str, en: str, action: Callable[[], str]) -> None:
        if self.failure is not None:
            self.steps.append(
                _Step(name=name, title_vi=vi, title_en=en, status="skipped", detail="")
            )
            return
        number = f"[{len(self.steps) + 1}/{len(_STEPS)}]"
        self.out.line(f"{number} {self.out.text(vi, en)} ...", end="")
        started = time.perf_counter()
        try:
            detail = action()
        except (HuesignError, OSError, ValueError) as exc:
            status: Literal["passed", "failed"] = "failed"
            detail = str(exc).replace("\n", " ")
            self.failure = name
        else:
            status = "passed"
        seconds = time.perf_counter() - started
        self.steps.append(
            _Step(
                name=name, title_vi=vi, title_en=en, status=status, seconds=seconds, detail=detail
            )
        )
        vi_word, en_word = _WORDS[status]
        timing = f" ({seconds:.2f} s)" if status == "passed" else ""
        self.out.line(f" {self.out.text(vi_word, en_word)}{timing}")
        self.out.line(f"      {detail}")
        if name == "form" and status == "passed":
            self._draft_errors()

    def _draft_errors(self) -> None:
        head = self.out.text("Bản nháp đầu có lỗi", "The first draft had errors")
        self.out.line(f"      {head}:")
        for error in self.journey.draft_errors:
            message = self.out.text(error["message_vi"], error["message_en"])
            self.out.line(f"        - {error['path']}: {message}")

    # -- reporting ------------------------------------------------------------------------

    def as_json(self) -> dict[str, object]:
        j = self.journey
        return {
            "ok": self.ok,
            "failed_step": self.failure,
            "work_directory": str(j.work),
            "signing": j.signing.value,
            "steps": [s.as_json() for s in self.steps],
            "citizen": j.citizen,
            "draft_errors": j.draft_errors,
            "confirmation": j.confirmation,
            "dossier": j.dossier,
            "verdicts": j.verdicts,
            "files": j.files,
        }

    def print_summary(self) -> None:
        j, out = self.journey, self.out
        out.line()
        dossier = j.dossier
        if dossier:
            out.line(f"{out.text('Hồ sơ', 'Dossier')}: {dossier.get('code')}")
            out.line(f"  {out.text(str(dossier['procedure_vi']), str(dossier['procedure_en']))}")
            fee = int(str(dossier.get("fee", 0)))
            paid = out.text("đã nộp", "paid") if dossier.get("paid") else out.text("chưa", "unpaid")
            out.line(f"  {out.text('Lệ phí', 'Fee')}: {fee:,} VND ({paid})")
            out.line(f"  {out.text('Trạng thái', 'State')}: {dossier.get('state')}")
        code = j.confirmation.get("verification_code")
        if code:
            out.line(f"{out.text('Mã xác nhận trên điện thoại', 'Verification code')}: {code}")
        for key, vi, en in (
            ("form", "Tờ khai của công dân", "The citizen's form"),
            ("result", "Kết quả của cơ quan", "The agency's result"),
        ):
            verdict = j.verdicts.get(key)
            if not isinstance(verdict, dict):
                continue
            out.line(f"{out.text(vi, en)}: {verdict['indication']}")
            langs = ("vi", "en") if out.lang == "both" else (out.lang,)
            for lang in langs:
                for text in str(verdict[f"summary_{lang}"]).splitlines():
                    if text.strip():
                        out.line(f"  {text}")
        if j.files:
            out.line(f"{out.text('Tệp', 'Files')}:")
            for key, path in j.files.items():
                vi, en = _FILE_LABELS.get(key, (key, key))
                out.line(f"  {out.text(vi, en)}: {path}")
        passed = sum(s.status == "passed" for s in self.steps)
        verdict_text = out.text("ĐẠT", "PASSED") if self.ok else out.text("KHÔNG ĐẠT", "FAILED")
        counted = out.text("bước đạt", "steps passed")
        out.line()
        out.line(
            f"{out.text('Kết quả', 'Result')}: {verdict_text} ({passed}/{len(_STEPS)} {counted})"
        )
        out.line(f"{out.text('Thư mục làm việc', 'Work directory')}: {j.work}")


def _work_dir(requested: str | None) -> Path:
    if requested is None:
        return Path(tempfile.mkdtemp(prefix="huesign-demo-"))
    path = Path(requested).absolute()
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path}: not a directory")
    if path.is_dir() and any(path.iterdir()):
        raise UsageError(f"--out {path}: the directory is not empty; choose a new or empty one")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(args: argparse.Namespace) -> int:
    signing = SigningMode(args.signing)
    answer = CitizenAnswer(args.citizen_answer)
    if signing is SigningMode.P12 and answer is not CitizenAnswer.APPROVE:
        raise UsageError("--citizen-answer applies to remote signing (csc, sp769), not p12")
    work = _work_dir(args.out)
    out = _Printer(lang=args.lang, quiet=bool(args.json))
    out.line("huesign demo: " + out.text("hành trình của công dân", "the citizen's journey"))
    out.line(f"{out.text('Thư mục làm việc', 'Work directory')}: {work}")
    with contextlib.ExitStack() as resources:
        journey = Journey(work=work, resources=resources, signing=signing, answer=answer)
        run = _Run(journey=journey, out=out)
        for name, vi, en, method in _STEPS:
            run.step(name, vi, en, getattr(journey, method))
    if args.json:
        dump_json(run.as_json())
    else:
        run.print_summary()
    if run.failure is not None:
        failed = next(s for s in run.steps if s.name == run.failure)
        print(f"error: step {failed.name!r} failed: {failed.detail}", file=sys.stderr)
        return 1
    return 0
