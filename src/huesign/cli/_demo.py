"""``huesign demo``: the citizen's journey, as far as huesign goes today.

Today: a development PKI, a certificate for a citizen of Hue, a check of its chain and, when
CMS signing is part of the build, a CAdES signature over a small JSON form and its
verification.  Later steps (search a procedure, submit to the sandbox portal, pay, track,
verify the agency's result) join the same command as they land.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import enum
import hashlib
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import attrs
from fpdf import FPDF

from huesign.cli._output import (
    UsageError,
    certificate_summary,
    chain_summary,
    dump_json,
    identity_summary,
    print_chain,
    print_files,
    print_identity,
)
from huesign.cli._pki import save_issued
from huesign.errors import HuesignError
from huesign.forms import VIETNAM_TZ, Attachment, Submission, builtin_catalogue
from huesign.pki import (
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    HTTPFetcher,
    Identifier,
    IssuedCertificate,
    KeySigner,
    RevocationSource,
    TrustStore,
    sign_cms,
    validate_path,
    verify_cms,
)
from huesign.sandbox import bind_loopback, serve_pki_services

__all__ = ["CITIZEN_CCCD", "CITIZEN_NAME", "register"]

#: The demo citizen: a Vietnamese name with diacritics and a CCCD registered in Hue
#: (046: Thua Thien Hue; 1: female, born in the 1900s; 90: born 1990).
CITIZEN_NAME = "Nguyễn Thị Hoa"
CITIZEN_CCCD = "046190000123"
CITIZEN_PROVINCE = "Thành phố Huế"

#: What the citizen searches the catalogue for, and the procedure it must find.
SEARCH = "dang ky tam tru"
PROCEDURE_CODE = "1.004194"
#: Hue's province code and one of its wards (2025 two-level units).
HUE_PROVINCE_CODE = "46"
WARD_CODE = "46004"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``huesign demo``."""
    demo = subparsers.add_parser(
        "demo",
        help="run the citizen's journey end to end (development PKI, signed form, verdict)",
        description="Create a development PKI, issue a citizen certificate, sign a form and "
        "verify it, printing each step.  Exits 0 only when every step passed.",
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        help="work directory, created if missing, must be empty "
        "(default: a new temporary directory, kept and printed)",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON object instead")
    demo.set_defaults(handler=_run)


_FILE_LABELS = {
    "ca_directory": "Thư mục CA / CA directory",
    "root": "CA gốc / Root CA",
    "intermediate": "CA cấp / Issuing CA",
    "certificate": "Chứng thư / Certificate",
    "key": "Khoá bí mật / Private key",
    "chain": "Chuỗi / Chain",
    "pkcs12": "PKCS#12",
    "form": "Tờ khai / Form",
    "attachment": "Tài liệu kèm theo / Attachment",
    "signature": "Chữ ký / Signature",
    "report": "Báo cáo / Report",
}


class _Status(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


_WORDS = {
    _Status.PASSED: "đạt / ok",
    _Status.FAILED: "LỖI / FAILED",
    _Status.SKIPPED: "bỏ qua / skipped",
}


@attrs.frozen(kw_only=True)
class _Step:
    name: str
    title_vi: str
    title_en: str
    status: _Status
    seconds: float = 0.0
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title_vi": self.title_vi,
            "title_en": self.title_en,
            "status": self.status.value,
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
        }


class _DemoFailure(HuesignError):
    """A demo step found something wrong."""


@attrs.define(kw_only=True)
class _Journey:
    """The demo's state; runs the steps in order and prints progress unless quiet."""

    work: Path
    quiet: bool
    total: int
    steps: list[_Step] = attrs.Factory(list)
    files: dict[str, str] = attrs.Factory(dict)
    resources: contextlib.ExitStack
    ca: DevelopmentCA | None = None
    listener: socket.socket | None = None
    fetcher: HTTPFetcher | None = None
    citizen: IssuedCertificate | None = None
    procedure: dict[str, str] | None = None
    signature: dict[str, object] | None = None

    def run(self, name: str, vi: str, en: str, action: Callable[[], str]) -> None:
        """Run ``action`` (which returns a one-line detail) unless an earlier step failed."""
        if not self.ok:
            self._record(
                _Step(
                    name=name,
                    title_vi=vi,
                    title_en=en,
                    status=_Status.SKIPPED,
                    detail="an earlier step failed",
                )
            )
            return
        self._announce(vi, en)
        started = time.perf_counter()
        try:
            detail = action()
        except (HuesignError, OSError) as exc:
            status, detail = _Status.FAILED, str(exc)
        else:
            status = _Status.PASSED
        seconds = time.perf_counter() - started
        self._record(
            _Step(
                name=name, title_vi=vi, title_en=en, status=status, seconds=seconds, detail=detail
            ),
            announced=True,
        )

    @property
    def ok(self) -> bool:
        """Whether no step has failed so far."""
        return all(s.status is not _Status.FAILED for s in self.steps)

    def _announce(self, vi: str, en: str) -> None:
        if not self.quiet:
            print(f"[{len(self.steps) + 1}/{self.total}] {vi} / {en} ...", end="", flush=True)

    def _record(self, step: _Step, *, announced: bool = False) -> None:
        if not announced:
            self._announce(step.title_vi, step.title_en)
        self.steps.append(step)
        if self.quiet:
            return
        timing = f" ({step.seconds:.2f} s)" if step.status is _Status.PASSED else ""
        print(f" {_WORDS[step.status]}{timing}")
        if step.detail:
            print(f"      {step.detail}")

    # -- the steps ------------------------------------------------------------------------

    def create_ca(self) -> str:
        # The certificates name the CRL, OCSP and TSA addresses, so the port is chosen first.
        self.listener = self.resources.enter_context(bind_loopback())
        port = self.listener.getsockname()[1]
        ca = DevelopmentCA.create(name="Huesign Demo", base_url=f"http://127.0.0.1:{port}/pki")
        ca_dir = self.work / "ca"
        ca.save(ca_dir)
        self.ca = ca
        self.files.update(
            ca_directory=str(ca_dir),
            root=str(ca_dir / "root.pem"),
            intermediate=str(ca_dir / "intermediate.pem"),
        )
        return f"root and issuing CA in {ca_dir}"

    def start_services(self) -> str:
        if self.ca is None or self.listener is None:
            raise _DemoFailure("no development CA")
        try:
            url = self.resources.enter_context(serve_pki_services(self.ca, sock=self.listener))
        except RuntimeError as exc:
            raise _DemoFailure(f"the PKI services did not start: {exc}") from exc
        self.fetcher = self.resources.enter_context(HTTPFetcher(timeout=10.0))
        return f"OCSP, CRL and TSA at {url} (until the demo ends)"

    def issue_citizen(self) -> str:
        if self.ca is None:
            raise _DemoFailure("no development CA")
        identity = CitizenIdentity(
            common_name=CITIZEN_NAME,
            identifiers=(Identifier.cccd(CITIZEN_CCCD),),
            province=CITIZEN_PROVINCE,
            country="VN",
        )
        citizen = self.ca.issue(identity, profile=CertificateProfile.CITIZEN)
        self.ca.save(self.work / "ca")
        citizen_dir = self.work / "citizen"
        citizen_dir.mkdir()
        self.files.update(save_issued(citizen, citizen_dir, stem="citizen", password=None))
        self.citizen = citizen
        return citizen.certificate.identity.display_name()

    def _trust(self) -> TrustStore:
        if self.ca is None:
            raise _DemoFailure("no development CA")
        return TrustStore.from_certificates([self.ca.root], intermediates=[self.ca.intermediate])

    def check_chain(self) -> str:
        if self.citizen is None:
            raise _DemoFailure("no citizen certificate")
        result = validate_path(
            self.citizen.certificate,
            trust=self._trust(),
            revocation=RevocationSource(fetcher=self.fetcher),
        )
        if not result.valid:
            why = result.sub_indication.value if result.sub_indication else result.indication.value
            raise _DemoFailure(f"{why}: " + "; ".join(result.errors))
        sources = sorted({c.source.value for c in result.revocation if c.source is not None})
        revocation = f"not revoked ({', '.join(sources)})" if sources else "revocation not checked"
        return f"{len(result.chain)} certificates to the development root, {revocation}"

    def fill_form(self) -> str:
        if self.citizen is None:
            raise _DemoFailure("no citizen certificate")
        found = builtin_catalogue().search(SEARCH, limit=5)
        procedure = next((p for p in found if p.code == PROCEDURE_CODE), None)
        if procedure is None:
            raise _DemoFailure(f"the catalogue has no procedure {PROCEDURE_CODE} for {SEARCH!r}")
        proof = _sample_pdf("Rental contract (sample) - proof of lawful accommodation")
        proof_file = self.work / "residence-proof.pdf"
        proof_file.write_bytes(proof)
        attachment = Attachment(
            id="residence-proof",
            document_type="residence_proof",
            file_name=proof_file.name,
            media_type="application/pdf",
            size=len(proof),
            sha256=hashlib.sha256(proof).hexdigest(),
        )
        identity = self.citizen.certificate.identity  # the form is pre-filled from it
        address = {
            "province_code": HUE_PROVINCE_CODE,
            "ward_code": WARD_CODE,
            "street": "12 Lê Lợi",
        }
        values: dict[str, object] = {
            "applicant": {
                "full_name": identity.common_name,
                "birth_date": "1990-05-12",
                "cccd": identity.cccd,
                "phone": "0905123456",
                "address": address,
            },
            "channel": "online",
            "residence_address": address,
            "from_date": dt.datetime.now(VIETNAM_TZ).date().isoformat(),
            "months": 12,
            "reason": "Đi làm việc tại Huế",
            "residence_proof": attachment.id,
            "commitment": True,
        }
        submission = Submission.for_procedure(procedure, values, attachments=[attachment])
        valid = submission.validate(procedure)  # raises FormValidationError with every error
        form = self.work / "form.json"
        form.write_bytes(valid.canonical_json())
        self.files.update(form=str(form), attachment=str(proof_file))
        self.procedure = {
            "code": procedure.code,
            "name_vi": procedure.name_vi,
            "name_en": procedure.name_en,
            "sha256": valid.sha256(),
        }
        return f"{procedure.code} {procedure.name_vi} / {procedure.name_en}: valid"

    def sign_form(self) -> str:
        if self.citizen is None or self.ca is None or "form" not in self.files:
            raise _DemoFailure("no form to sign")
        data = Path(self.files["form"]).read_bytes()
        signer = KeySigner(
            key=self.citizen.key, certificate=self.citizen.certificate, chain=self.citizen.chain
        )
        signature = sign_cms(data, signer, timestamp=self.ca.tsa_url)
        target = self.work / "form.json.p7s"
        target.write_bytes(signature)
        self.files["signature"] = str(target)
        return f"detached CAdES with a timestamp, {len(signature)} bytes"

    def verify_form(self) -> str:
        if "signature" not in self.files:
            raise _DemoFailure("no signature")
        report = verify_cms(
            Path(self.files["signature"]).read_bytes(),
            Path(self.files["form"]).read_bytes(),
            trust=self._trust(),
            revocation=RevocationSource(fetcher=self.fetcher),
        )
        saved = self.work / "report.json"
        saved.write_text(report.to_json(), encoding="utf-8")
        self.files["report"] = str(saved)
        self.signature = {
            "indication": report.indication.value,
            "sub_indication": None
            if report.sub_indication is None
            else report.sub_indication.value,
            "level": None if report.level is None else report.level.value,
            "summary_vi": report.summary("vi"),
            "summary_en": report.summary("en"),
        }
        if not report.passed:
            raise _DemoFailure(report.summary("en").replace("\n", " "))
        return report.indication.value

    # -- reporting ------------------------------------------------------------------------

    def as_json(self) -> dict[str, object]:
        citizen = self.citizen
        return {
            "ok": self.ok,
            "work_directory": str(self.work),
            "steps": [s.as_json() for s in self.steps],
            "citizen": None if citizen is None else identity_summary(citizen.certificate.identity),
            "certificate": None if citizen is None else certificate_summary(citizen.certificate),
            "chain": [] if citizen is None else chain_summary(citizen.full_chain),
            "procedure": self.procedure,
            "signature": self.signature,
            "files": self.files,
        }

    def print_summary(self) -> None:
        print()
        if self.citizen is not None:
            print("Công dân / Citizen:")
            print_identity(self.citizen.certificate.identity, indent=2)
            print("Chuỗi chứng thư / Certificate chain:")
            print_chain(self.citizen.full_chain, indent=2)
        if self.procedure is not None:
            print("Thủ tục / Procedure:")
            print(
                f"  {self.procedure['code']} {self.procedure['name_vi']} / "
                f"{self.procedure['name_en']}"
            )
            print(f"  SHA-256 {self.procedure['sha256']}")
        if self.signature is not None:
            print("Chữ ký / Signature:")
            for key in ("summary_vi", "summary_en"):
                for line in str(self.signature[key]).splitlines():
                    print(f"  {line}")
        if self.files:
            print("Tệp / Files:")
            print_files({_FILE_LABELS.get(k, k): v for k, v in self.files.items()}, indent=2)
        passed = sum(s.status is _Status.PASSED for s in self.steps)
        skipped = sum(s.status is _Status.SKIPPED for s in self.steps)
        verdict = "ĐẠT / PASSED" if self.ok else "KHÔNG ĐẠT / FAILED"
        extra = f", {skipped} bỏ qua / skipped" if skipped else ""
        print()
        print(
            f"Kết quả / Result: {verdict} ({passed}/{len(self.steps)} bước đạt / "
            f"steps passed{extra})"
        )
        print(f"Thư mục làm việc / Work directory: {self.work}")


def _sample_pdf(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text=text)
    return bytes(pdf.output())


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
    work = _work_dir(args.out)
    with contextlib.ExitStack() as resources:
        journey = _Journey(work=work, quiet=bool(args.json), total=7, resources=resources)
        if not journey.quiet:
            print("huesign demo: chữ ký số công dân / citizen digital signature")
            print(f"Thư mục làm việc / Work directory: {work}")
        for name, vi, en, action in (
            ("pki", "Tạo hạ tầng khoá thử nghiệm", "Create a development PKI", journey.create_ca),
            (
                "services",
                "Mở dịch vụ OCSP, CRL, dấu thời gian",
                "Start the OCSP, CRL and timestamp services",
                journey.start_services,
            ),
            (
                "certificate",
                "Cấp chứng thư số cho công dân",
                "Issue the citizen's certificate",
                journey.issue_citizen,
            ),
            (
                "chain",
                "Kiểm tra chuỗi và trạng thái thu hồi",
                "Validate the chain and revocation status",
                journey.check_chain,
            ),
            (
                "form",
                "Tìm thủ tục, điền và kiểm tra tờ khai",
                "Find the procedure, fill and validate the form",
                journey.fill_form,
            ),
            (
                "sign",
                "Ký tờ khai (CAdES, có dấu thời gian)",
                "Sign the form (CAdES with a timestamp)",
                journey.sign_form,
            ),
            ("verify", "Xác minh chữ ký", "Verify the signature", journey.verify_form),
        ):
            journey.run(name, vi, en, action)
    if journey.quiet:
        dump_json(journey.as_json())
    else:
        journey.print_summary()
    return 0 if journey.ok else 1
