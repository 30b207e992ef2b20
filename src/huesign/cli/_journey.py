"""The steps of ``huesign demo``: one citizen's journey against an embedded sandbox.

Every step uses the public API only (``huesign.sandbox``, ``huesign.client``,
``huesign.forms``, ``huesign.pki``); this module keeps the journey's state between the steps
and returns a one-line detail per step.  Printing belongs to :mod:`huesign.cli._demo`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Sequence
from pathlib import Path

import attrs
import httpx
from fpdf import FPDF

from huesign.client import (
    CSCClient,
    CSCSigner,
    DossierState,
    MemoryReplayGuard,
    PortalClient,
    SP769Client,
    SP769Signer,
    WalletClient,
    verify_notification,
)
from huesign.errors import FormValidationError, HuesignError
from huesign.forms import (
    CITIZEN_SIGNATURE_FIELD,
    VIETNAM_TZ,
    Attachment,
    Procedure,
    Submission,
    sign_dossier,
)
from huesign.pki import (
    Certificate,
    DigestToSign,
    FieldPlacement,
    HTTPFetcher,
    IssuedCertificate,
    KeySigner,
    PAdESLevel,
    PDFValidationReport,
    PKCS12Bundle,
    RevocationSource,
    SignatureAlgorithm,
    Signer,
    StampAppearance,
    StampContent,
    TrustStore,
    validate_path,
    verify_pdf,
)
from huesign.sandbox import BEHAVIOUR_HEADER, RunningSandbox, SandboxCitizen, serve_sandbox

__all__ = [
    "CITIZEN_CCCD",
    "CITIZEN_NAME",
    "SEARCH",
    "CitizenAnswer",
    "DemoFailure",
    "Journey",
    "SigningMode",
    "mask",
    "verdict_of",
]

#: What the citizen types into the portal's search box (no diacritics, as on a phone).
SEARCH = "dang ky tam tru"
#: The demo's citizen, provisioned in the sandbox: born in Huế in 1994 (CCCD 046 1 94 ...).
CITIZEN_NAME = "Hoàng Thị Thu Hà"
CITIZEN_CCCD = "046194008817"
_BIRTH_DATE = "1994-07-15"
#: Submitted online: the online fee applies.
_CHANNEL = "online"
_HUE_PROVINCE = "46"
_HUE_WARD = "46004"
_STEPS_TO_RESULT = 3


class SigningMode(enum.Enum):
    """How the citizen signs."""

    CSC = "csc"
    SP769 = "sp769"
    P12 = "p12"


class CitizenAnswer(enum.Enum):
    """What the simulated citizen answers in the provider's phone app."""

    APPROVE = "approve"
    REJECT = "reject"


class DemoFailure(HuesignError):
    """A demo step found something wrong."""


def mask(secret: str) -> str:
    """A secret as it may be shown: its length in bullets, nothing else."""
    return "•" * min(len(secret), 8)


class _ConfirmingSigner:
    """A signer that remembers the verification code of every digest it is asked to sign."""

    def __init__(self, inner: Signer) -> None:
        self._inner = inner
        self.codes: list[str] = []

    @property
    def certificate(self) -> Certificate:
        return self._inner.certificate

    @property
    def chain(self) -> tuple[Certificate, ...]:
        return self._inner.chain

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        return self._inner.algorithms

    def sign_digest(self, request: DigestToSign) -> bytes:
        self.codes.append(request.verification_code)
        return self._inner.sign_digest(request)

    def sign_digests(self, requests: Sequence[DigestToSign]) -> tuple[bytes, ...]:
        self.codes.extend(r.verification_code for r in requests)
        return self._inner.sign_digests(requests)


def _sample_pdf(lines: Sequence[str]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in lines:
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def verdict_of(report: PDFValidationReport) -> dict[str, object]:
    """The JSON verdict of a PDF report: indication, signer and sentences in both languages."""
    first = report.signatures[0]
    return {
        "passed": report.passed,
        "indication": first.indication.value,
        "sub_indication": None if first.sub_indication is None else first.sub_indication.value,
        "level": None if first.level is None else first.level.value,
        "signer": None if first.signer is None else first.signer.common_name,
        "summary_vi": report.summary("vi"),
        "summary_en": report.summary("en"),
    }


@attrs.define(kw_only=True)
class Journey:
    """The demo's state; each public method is one step and returns its detail line."""

    work: Path
    resources: contextlib.ExitStack
    signing: SigningMode = SigningMode.CSC
    answer: CitizenAnswer = CitizenAnswer.APPROVE
    sandbox: RunningSandbox | None = None
    account: SandboxCitizen | None = None
    fetcher: HTTPFetcher | None = None
    portal: PortalClient | None = None
    signer: _ConfirmingSigner | None = None
    procedure: Procedure | None = None
    submission: Submission | None = None
    proof: bytes = b""
    fee: int = 0
    draft_errors: list[dict[str, str]] = attrs.Factory(list)
    dossier: dict[str, object] = attrs.Factory(dict)
    verdicts: dict[str, object] = attrs.Factory(dict)
    files: dict[str, str] = attrs.Factory(dict)
    citizen: dict[str, object] = attrs.Factory(dict)
    confirmation: dict[str, object] = attrs.Factory(dict)

    # -- helpers ----------------------------------------------------------------------------

    def _running(self) -> RunningSandbox:
        if self.sandbox is None:
            raise DemoFailure("the sandbox is not running")
        return self.sandbox

    def _portal(self) -> PortalClient:
        if self.portal is None:
            raise DemoFailure("no portal session")
        return self.portal

    def _trust(self) -> TrustStore:
        ca = self._running().ca
        return TrustStore.from_certificates([ca.root], intermediates=[ca.intermediate])

    def _revocation(self) -> RevocationSource:
        return RevocationSource(fetcher=self.fetcher)

    def _admin(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, str] | None = None,
    ) -> object:
        """Call one of the sandbox's own endpoints (admin token; never printed)."""
        running = self._running()
        headers = {"Authorization": f"Bearer {running.credentials.admin_token}"}
        try:
            response = httpx.request(
                method,
                running.base_url + path,
                headers=headers,
                params=params,
                json=body,
                timeout=10.0,
            )
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DemoFailure(f"the sandbox's {path} failed: {exc}") from exc

    def _account(self) -> SandboxCitizen:
        if self.account is None:
            raise DemoFailure("no citizen provisioned")
        return self.account

    def _dossier_id(self) -> str:
        value = self.dossier.get("id")
        if not isinstance(value, str):
            raise DemoFailure("no dossier")
        return value

    # -- 1. sandbox -------------------------------------------------------------------------

    def start_sandbox(self) -> str:
        """Serve the portal, wallet, PKI services and signing provider on a loopback port."""
        try:
            self.sandbox = self.resources.enter_context(serve_sandbox())
        except RuntimeError as exc:
            raise DemoFailure(f"the sandbox did not start: {exc}") from exc
        ca_dir = self.work / "ca"
        self.sandbox.ca.save(ca_dir)
        self.files.update(
            ca_directory=str(ca_dir),
            root=str(ca_dir / "root.pem"),
            intermediate=str(ca_dir / "intermediate.pem"),
        )
        self.fetcher = self.resources.enter_context(HTTPFetcher(timeout=10.0))
        return f"{self.sandbox.base_url} (portal, wallet, OCSP/CRL/TSA, remote signing)"

    # -- 2. citizen -------------------------------------------------------------------------

    def connect_citizen(self) -> str:
        """Provision the citizen in the sandbox (certificate, portal account, remote-signing
        account), open her signing credential and validate its certificate over HTTP."""
        running = self._running()
        self.account = running.add_citizen(name=CITIZEN_NAME, cccd=CITIZEN_CCCD)
        self.portal = self.resources.enter_context(
            PortalClient(base_url=running.portal_url, token=self.account.token)
        )
        issued = self.account.issued
        account = self.account.credential
        headers = {BEHAVIOUR_HEADER: self.answer.value}
        signer: Signer
        if self.signing is SigningMode.CSC:
            client = self.resources.enter_context(
                CSCClient(running.signing_url, headers=headers, timeout=15.0)
            )
            client.login(account.user_id, account.password)
            ids = client.list_credentials()
            if account.credential_id not in ids:
                raise DemoFailure("the provider lists no credential for the citizen")
            signer = CSCSigner.connect(client, account.credential_id, pin=account.pin)
            how = f"CSC credential {account.credential_id}, SCAL {account.scal}"
            self.citizen["pin"] = mask(account.pin)
        elif self.signing is SigningMode.SP769:
            sp = self.resources.enter_context(
                SP769Client(
                    running.signing_url + "/sp769",
                    sp_id=running.signing.sp_id,
                    sp_password=running.signing.sp_password,
                    headers=headers,
                    timeout=15.0,
                )
            )
            signer = SP769Signer.connect(sp, account.user_id, poll_interval=0.05, timeout=30.0)
            how = f"sp769 account of user {account.user_id[:3]}…{account.user_id[-4:]}"
            self.citizen["sp_password"] = mask(running.signing.sp_password)
        else:
            signer = self._p12_signer(issued)
            how = f"key file {Path(self.files['pkcs12']).name} (password-protected)"
        result = validate_path(
            signer.certificate, trust=self._trust(), revocation=self._revocation()
        )
        if not result.valid:
            raise DemoFailure("the citizen's certificate is not valid: " + "; ".join(result.errors))
        self.signer = _ConfirmingSigner(signer)
        identity = signer.certificate.identity
        self.citizen.update(
            name=identity.common_name,
            cccd=identity.cccd,
            display=identity.display_name(),
            province=identity.province,
            signing=self.signing.value,
            credential=how,
        )
        certificate = self.work / "citizen.pem"
        certificate.write_bytes(signer.certificate.to_pem())
        self.files["certificate"] = str(certificate)
        return f"{identity.display_name()}: {how}; chain valid, not revoked"

    def _p12_signer(self, issued: IssuedCertificate) -> Signer:
        password = secrets.token_urlsafe(12)
        bundle = PKCS12Bundle(key=issued.key, certificate=issued.certificate, chain=issued.chain)
        target = self.work / "citizen.p12"
        target.write_bytes(bundle.to_bytes(password=password))
        target.chmod(0o600)
        self.files["pkcs12"] = str(target)
        self.citizen["p12_password"] = mask(password)
        loaded = PKCS12Bundle.from_bytes(target.read_bytes(), password=password)
        return KeySigner.from_bundle(loaded)

    # -- 3. procedure -----------------------------------------------------------------------

    def find_procedure(self) -> str:
        """Search the portal's procedures without diacritics and fetch the one found."""
        portal = self._portal()
        found = list(portal.procedures.list(query=SEARCH, page_size=5))
        if not found:
            raise DemoFailure(f"the portal found no procedure for {SEARCH!r}")
        self.procedure = portal.procedures.get(found[0].code)
        p = self.procedure
        return f"{SEARCH!r} -> {p.code} {p.name_vi} / {p.name_en} ({p.agency})"

    # -- 4. form ----------------------------------------------------------------------------

    def _values(self, *, draft: bool) -> dict[str, object]:
        citizen = self.citizen
        home = {"province_code": _HUE_PROVINCE, "ward_code": _HUE_WARD, "street": "12 Lê Lợi"}
        stay = {
            "province_code": _HUE_PROVINCE,
            "ward_code": _HUE_WARD,
            "street": "27 Nguyễn Huệ",
        }
        today = dt.datetime.now(VIETNAM_TZ).date()
        return {
            "applicant": {
                "full_name": citizen["name"],
                "birth_date": _BIRTH_DATE,
                # The first draft mistypes the CCCD and the phone and forgets the commitment.
                "cccd": "04619400881" if draft else citizen["cccd"],
                "phone": "0123 456 789" if draft else "0905 123 456",
                "address": home,
            },
            "channel": _CHANNEL,
            "residence_address": stay,
            "from_date": today.isoformat(),
            "months": 12,
            "reason": "Làm việc tại Huế theo hợp đồng lao động",
            "residence_proof": "residence-proof",
            "commitment": not draft,
        }

    def fill_form(self) -> str:
        """Fill the form from the citizen's data; show the errors of a wrong first draft."""
        if self.procedure is None or not self.citizen:
            raise DemoFailure("no procedure or no citizen")
        self.proof = _sample_pdf(
            [
                "Hop dong thue nha tai 27 Nguyen Hue, Hue (ban sao, mau thu nghiem)",
                "Lease of the home at 27 Nguyen Hue, Hue (copy, test sample)",
            ]
        )
        proof_file = self.work / "residence-proof.pdf"
        proof_file.write_bytes(self.proof)
        self.files["attachment"] = str(proof_file)
        attachment = Attachment(
            id="residence-proof",
            document_type="residence_proof",
            file_name=proof_file.name,
            media_type="application/pdf",
            size=len(self.proof),
            sha256=hashlib.sha256(self.proof).hexdigest(),
        )
        draft = Submission.for_procedure(
            self.procedure, self._values(draft=True), attachments=[attachment]
        )
        try:
            draft.validate(self.procedure)
        except FormValidationError as exc:
            self.draft_errors = [
                {
                    "path": e.path,
                    "code": e.code,
                    "message_vi": e.message_vi,
                    "message_en": e.message_en,
                }
                for e in exc.errors
            ]
        else:
            raise DemoFailure("the wrong first draft was accepted")
        submission = Submission.for_procedure(
            self.procedure, self._values(draft=False), attachments=[attachment]
        )
        valid = submission.validate(self.procedure)  # raises with every error if still wrong
        self.submission = submission
        self.fee = self.procedure.fee_for(valid.values)
        form = self.work / "form.json"
        form.write_bytes(valid.canonical_json())
        self.files["form_data"] = str(form)
        return (
            f"first draft: {len(self.draft_errors)} errors caught; corrected form valid "
            f"(SHA-256 {valid.sha256()[:16]}…); fee {self.fee:,} VND ({_CHANNEL})"
        )

    # -- 5. sign ----------------------------------------------------------------------------

    def sign_form(self) -> str:
        """Render and sign the dossier (PAdES B-T, visible stamp) through the citizen's signer."""
        if self.submission is None or self.procedure is None or self.signer is None:
            raise DemoFailure("no valid form or no signer")
        running = self._running()
        appearance = StampAppearance(
            placement=FieldPlacement(name=CITIZEN_SIGNATURE_FIELD),
            content=StampContent(reason=f"Ký tờ khai {self.procedure.code}", location="Huế"),
        )
        dossier = sign_dossier(
            self.submission,
            self.procedure,
            self.signer,
            attachments={"residence-proof": self.proof},
            level=PAdESLevel.B_T,
            timestamp=running.ca.tsa_url,
            appearance=appearance,
            location="Huế",
        )
        target = self.work / "signed-form.pdf"
        target.write_bytes(dossier.pdf)
        self.files["signed_form"] = str(target)
        code = self.signer.codes[-1] if self.signer.codes else ""
        self.confirmation = {"verification_code": code}
        if self.signing is not SigningMode.P12:
            shown = self._provider_code()
            self.confirmation["shown_by_provider"] = shown
            if shown != code:
                raise DemoFailure(f"the provider showed code {shown}, the app showed {code}")
        report = verify_pdf(dossier.pdf, trust=self._trust(), revocation=self._revocation())
        self.verdicts["form"] = verdict_of(report)
        if not report.passed:
            raise DemoFailure(report.summary("en").replace("\n", " "))
        how = "" if self.signing is SigningMode.P12 else f", confirmed with code {code}"
        return f"PAdES B-T with a visible stamp, {len(dossier.pdf)} bytes{how}"

    def _provider_code(self) -> str:
        shown = self._running().signing.confirmations
        mine = [c for c in shown if c.user_id == self._account().credential.user_id]
        if not mine:
            raise DemoFailure("the provider recorded no confirmation")
        return mine[-1].verification_code

    # -- 6. submit --------------------------------------------------------------------------

    def submit(self) -> str:
        """Create the dossier, upload the attachment and the signed form, and submit it."""
        if self.procedure is None or "signed_form" not in self.files:
            raise DemoFailure("no signed form")
        portal = self._portal()
        draft = portal.dossiers.create(procedure_code=self.procedure.code)
        proof = Path(self.files["attachment"])
        portal.dossiers.upload_attachment(
            draft.id, name=proof.name, content=proof, media_type="application/pdf"
        )
        attached = portal.dossiers.attach_form(
            draft.id, document=Path(self.files["signed_form"]).read_bytes()
        )
        verdict = attached.form
        if verdict is None or not verdict.passed:
            why = "no verdict" if verdict is None else verdict.message_en
            raise DemoFailure(f"the portal refused the signed form: {why}")
        self.verdicts["portal"] = {
            "passed": verdict.passed,
            "indication": verdict.indication,
            "signer": verdict.signer,
            "message_vi": verdict.message_vi,
            "message_en": verdict.message_en,
        }
        if attached.fee != self.fee:
            raise DemoFailure(f"the portal charges {attached.fee} VND, the form says {self.fee}")
        submitted = portal.dossiers.submit(draft.id)
        self.dossier.update(
            id=submitted.id,
            code=submitted.code,
            procedure_code=submitted.procedure_code,
            procedure_vi=self.procedure.name_vi,
            procedure_en=self.procedure.name_en,
            state=submitted.state.value,
            fee=submitted.fee,
            paid=submitted.paid,
        )
        state = submitted.state.value
        return (
            f"dossier {submitted.code}: {state}; portal verdict {verdict.indication}; "
            f"fee {submitted.fee:,} VND"
        )

    # -- 7. payment -------------------------------------------------------------------------

    def pay(self) -> str:
        """Pay the fee from the wallet and verify the signed payment notification."""
        running = self._running()
        dossier_id = self._dossier_id()
        payment = self._portal().dossiers.pay(dossier_id)
        with WalletClient(base_url=running.wallet_url, token=self._account().token) as wallet:
            paid = wallet.payments.confirm(payment.id)
        sent = self._admin("GET", "/sandbox/notifications", params={"payment_id": payment.id})
        items = sent.get("items") if isinstance(sent, dict) else None
        if not isinstance(items, list) or not items or not isinstance(items[-1], dict):
            raise DemoFailure("the wallet sent no notification")
        note = items[-1]
        event = verify_notification(
            str(note["body"]).encode(),
            str(note["signature"]),
            secret=running.credentials.notification_secret.encode(),
            replay_guard=MemoryReplayGuard(),
        )
        if event.payment.id != payment.id or event.payment.amount != self.dossier.get("fee"):
            raise DemoFailure("the notification is about another payment or amount")
        dossier = self._portal().dossiers.get(dossier_id)
        if not dossier.paid:
            raise DemoFailure("the portal does not see the fee as paid")
        self.dossier.update(paid=True, payment_id=payment.id, payment_state=paid.state.value)
        return (
            f"{paid.amount:,} VND paid ({paid.state.value}); "
            f"notification {event.type.value} verified (HMAC-SHA256)"
        )

    # -- 8. tracking ------------------------------------------------------------------------

    def track(self) -> str:
        """Advance the sandbox's schedule until the agency's result is ready."""
        dossier_id = self._dossier_id()
        portal = self._portal()
        seen: list[str] = []
        for _ in range(_STEPS_TO_RESULT):
            self._admin("POST", "/sandbox/advance", body={"dossier_id": dossier_id})
            state = portal.dossiers.get(dossier_id).state
            seen.append(state.value)
            if state is DossierState.RESULT_READY:
                break
        final = portal.dossiers.get(dossier_id)
        history = [c.state.value for c in portal.dossiers.history(dossier_id)]
        self.dossier.update(
            state=final.state.value,
            history=history,
            appointment=None if final.appointment is None else final.appointment.isoformat(),
        )
        if final.state is not DossierState.RESULT_READY:
            raise DemoFailure(f"the dossier stopped at {final.state.value}")
        return " -> ".join(seen)

    # -- 9. result --------------------------------------------------------------------------

    def verify_result(self) -> str:
        """Download the agency's signed result and verify it against the development trust."""
        result = self._portal().dossiers.download_result(self._dossier_id())
        target = self.work / "agency-result.pdf"
        target.write_bytes(result.document)
        self.files["agency_result"] = str(target)
        report = verify_pdf(result.document, trust=self._trust(), revocation=self._revocation())
        self.verdicts["result"] = verdict_of(report)
        saved = self.work / "agency-result-report.json"
        saved.write_text(report.to_json(), encoding="utf-8")
        self.files["result_report"] = str(saved)
        if not report.passed:
            raise DemoFailure(report.summary("en").replace("\n", " "))
        signer = report.signatures[0].signer
        name = signer.common_name if signer is not None and signer.common_name else "?"
        return f"{report.signatures[0].indication.value}, signed by {name}"
