"""The reference sandbox as one ASGI app: portal, wallet, PKI services and signing provider.

Paths: ``/portal/v1/...`` (``docs/api/portal.yaml``), ``/wallet/v1/...``
(``docs/api/wallet.yaml``), ``/signing/...`` (the remote-signing provider, when this build
has it), the development CA's CRLs, OCSP and TSA under the path of its ``base_url``, and the
sandbox's own admin endpoints (admin bearer token):

- ``POST /sandbox/advance`` (optional JSON ``{"dossier_id": ...}``): move dossiers one step
  along the agency's schedule (submitted -> received -> processing -> result ready);
- ``POST /sandbox/citizens`` (``{"cccd": ..., "name": ...}``): provision a test citizen
  (:meth:`SandboxParts.add_citizen`): their bearer token, certificate (PEM) and the CSC
  credential id and sp769 user id of their remote-signing account;
- ``GET /sandbox/notifications?payment_id=...``: the signed wallet notifications sent;
- ``GET /sandbox/health``: no credentials, ``{"status": "ok"}``.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from collections.abc import Callable

import attrs
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from huesign.forms.catalogue import Catalogue, builtin_catalogue
from huesign.pki.devca import DevelopmentCA, IssuedCertificate
from huesign.pki.identity import CitizenIdentity, Identifier
from huesign.pki.profiles import CertificateProfile
from huesign.sandbox._common import (
    Credentials,
    Problem,
    RequestIdMiddleware,
    SandboxState,
    authenticate,
    parse_json_object,
    problem_handler,
    read_body,
    remember_token,
    utcnow,
)
from huesign.sandbox.pki_services import create_pki_app
from huesign.sandbox.portal import advance_dossiers, portal_routes
from huesign.sandbox.signing import (
    SandboxCredential,
    SigningSandboxState,
    create_signing_app,
)
from huesign.sandbox.store import SQLiteStore, Store
from huesign.sandbox.wallet import wallet_routes

__all__ = ["SandboxCitizen", "SandboxParts", "create_sandbox_app", "sandbox_parts"]

_HUE = "Thành phố Huế"
_CCCD = re.compile(r"\d{12}")
_MAX_NAME = 100


@attrs.frozen(kw_only=True)
class SandboxCitizen:
    """A test citizen provisioned in a sandbox (see :meth:`SandboxParts.add_citizen`).

    Attributes:
        name: the full name on the certificate.
        cccd: the 12-digit citizen id.
        token: the citizen's bearer token for the portal and the wallet.
        issued: the certificate (and key) issued by the sandbox's development CA.
        credential: the remote-signing account at the sandbox provider: CSC credential id,
            login and password, PIN; its ``user_id`` is the sp769 user id.
    """

    name: str
    cccd: str
    token: str = attrs.field(repr=False)
    issued: IssuedCertificate = attrs.field(repr=False)
    credential: SandboxCredential = attrs.field(repr=False)

    @property
    def subject(self) -> str:
        """The portal's name for the citizen: ``CCCD:<cccd>``."""
        return f"CCCD:{self.cccd}"


@attrs.frozen(kw_only=True)
class SandboxParts:
    """What a sandbox is made of (see :func:`sandbox_parts`).

    Attributes:
        ca: the development CA whose trust the portal uses.
        seal: the agency seal that signs results.
        citizen: the test citizen's certificate and key (CCCD 046190001234).
        officer: the test officer's certificate and key.
        state: the shared live state (store, credentials, clock).
        signing_app: the remote-signing provider's ASGI app (mounted at ``/signing``).
    """

    ca: DevelopmentCA
    seal: IssuedCertificate
    citizen: IssuedCertificate
    officer: IssuedCertificate
    state: SandboxState
    signing_app: Starlette = attrs.field(repr=False, eq=False)
    _citizens: dict[str, SandboxCitizen] = attrs.field(factory=dict, repr=False, eq=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, repr=False, eq=False)

    @property
    def credentials(self) -> Credentials:
        """The test credentials."""
        return self.state.credentials

    @property
    def signing(self) -> SigningSandboxState:
        """The remote-signing provider's live state: the confirmations shown to citizens,
        OTPs sent, and its service accounts (``sp_id``/``sp_password`` for sp769,
        ``client_id``/``client_secret`` for the CSC OAuth2 client)."""
        state: SigningSandboxState = self.signing_app.state.signing
        return state

    @property
    def citizens(self) -> tuple[SandboxCitizen, ...]:
        """The provisioned citizens, the built-in test citizen first."""
        with self._lock:
            return tuple(self._citizens.values())

    def add_citizen(self, *, name: str, cccd: str, province: str = _HUE) -> SandboxCitizen:
        """Provision a test citizen: a certificate from the sandbox CA, a portal and wallet
        bearer token, and a remote-signing account (CSC credential ``cred-<cccd>`` with the
        provider's test password and PIN; sp769 user id ``cccd``).

        Adding a CCCD again keeps its certificate and account and gives a new token.

        Raises:
            ValueError: ``cccd`` is not 12 digits, ``name`` is empty or longer than 100
                characters, or the CCCD was provisioned under another name.
        """
        if not _CCCD.fullmatch(cccd):
            raise ValueError("a CCCD is 12 digits")
        if not name.strip() or len(name) > _MAX_NAME:
            raise ValueError(f"a citizen's name has 1 to {_MAX_NAME} characters")
        with self._lock:
            known = self._citizens.get(cccd)
        if known is not None and known.name != name:
            raise ValueError(f"CCCD {cccd} belongs to another test citizen")
        if known is None:
            issued = self.ca.issue(
                CitizenIdentity(
                    common_name=name,
                    identifiers=(Identifier.cccd(cccd),),
                    province=province,
                    country="VN",
                ),
                profile=CertificateProfile.CITIZEN,
            )
            credential = SandboxCredential.for_citizen(issued)
        else:
            issued, credential = known.issued, known.credential
        return self._register(name, cccd, issued, credential, "cit_" + secrets.token_urlsafe(24))

    def _register(
        self,
        name: str,
        cccd: str,
        issued: IssuedCertificate,
        credential: SandboxCredential,
        token: str,
    ) -> SandboxCitizen:
        citizen = SandboxCitizen(
            name=name, cccd=cccd, token=token, issued=issued, credential=credential
        )
        with self._lock:
            first = self._citizens.setdefault(cccd, citizen)
            if first.credential is not credential:
                raise ValueError(f"CCCD {cccd} belongs to another test citizen")
            self._citizens[cccd] = citizen
            with self.state.store.transaction() as tx:
                remember_token(tx, token, role="citizen", subject=citizen.subject, name=name)
            self.signing.add_credential(credential)
        return citizen


def sandbox_parts(
    ca: DevelopmentCA,
    *,
    store: Store | None = None,
    credentials: Credentials | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    public_url: str = "http://127.0.0.1:8000",
    max_upload_size: int = 20 << 20,
) -> SandboxParts:
    """Issue the sandbox's test certificates from ``ca`` and set up its state."""
    seal = ca.issue(
        CitizenIdentity(
            common_name="UBND phường Thuận Hóa",
            identifiers=(Identifier.tax_code("3001234503"),),
            organization="UBND phường Thuận Hóa",
            province=_HUE,
            country="VN",
        ),
        profile=CertificateProfile.SEAL,
    )
    citizen = ca.issue(
        CitizenIdentity(
            common_name="Nguyễn Thị Hương Giang",
            identifiers=(Identifier.cccd("046190001234"),),
            province=_HUE,
            country="VN",
        ),
        profile=CertificateProfile.CITIZEN,
    )
    officer = ca.issue(
        CitizenIdentity(
            common_name="Trần Văn Minh",
            identifiers=(Identifier.cccd("046085012345"),),
            organization="UBND phường Thuận Hóa",
            province=_HUE,
            country="VN",
        ),
        profile=CertificateProfile.OFFICER,
    )
    state = SandboxState(
        ca=ca,
        seal=seal,
        store=store if store is not None else SQLiteStore(),
        credentials=credentials if credentials is not None else Credentials(),
        clock=clock,
        public_url=public_url.rstrip("/"),
        max_upload_size=max_upload_size,
    )
    parts = SandboxParts(
        ca=ca,
        seal=seal,
        citizen=citizen,
        officer=officer,
        state=state,
        signing_app=create_signing_app(ca, citizens=[citizen]),
    )
    parts._register(
        "Nguyễn Thị Hương Giang",
        "046190001234",
        citizen,
        SandboxCredential.for_citizen(citizen),
        state.credentials.citizen_token,
    )
    return parts


def _admin_routes(parts: SandboxParts, catalogue: Catalogue) -> list[BaseRoute]:
    state = parts.state

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def advance(request: Request) -> Response:
        authenticate(state, request, "admin")
        data = parse_json_object(await read_body(request))
        dossier_id = data.get("dossier_id")
        if dossier_id is not None and not isinstance(dossier_id, str):
            raise Problem(
                422, "Invalid request", "dossier_id must be a string", code="invalid_field"
            )
        moved = advance_dossiers(state, catalogue, dossier_id=dossier_id)
        return JSONResponse({"advanced": moved})

    async def citizens(request: Request) -> Response:
        authenticate(state, request, "admin")
        data = parse_json_object(await read_body(request))
        cccd, name = data.get("cccd"), data.get("name", "Công dân thử nghiệm")
        if not isinstance(cccd, str) or not _CCCD.fullmatch(cccd):
            raise Problem(422, "Invalid request", "cccd must be 12 digits", code="invalid_field")
        if not isinstance(name, str) or not name.strip() or len(name) > _MAX_NAME:
            raise Problem(
                422, "Invalid request", "name must be 1-100 characters", code="invalid_field"
            )
        try:
            citizen = await run_in_threadpool(parts.add_citizen, name=name, cccd=cccd)
        except ValueError as exc:
            raise Problem(409, "Conflict", str(exc), code="citizen_conflict") from exc
        return JSONResponse(
            {
                "token": citizen.token,
                "subject": citizen.subject,
                "credential_id": citizen.credential.credential_id,
                "user_id": citizen.credential.user_id,
                "certificate": citizen.issued.certificate.to_pem().decode("ascii"),
            },
            status_code=201,
        )

    async def notifications(request: Request) -> Response:
        authenticate(state, request, "admin")
        payment_id = request.query_params.get("payment_id", "")
        with state.store.transaction() as tx:
            rows = tx.all(
                "SELECT id, payment_id, event, body, signature, created_at FROM notifications"
                " WHERE payment_id = ? OR ? = '' ORDER BY created_at, id LIMIT 1000",
                (payment_id, payment_id),
            )
        items = [
            {
                "id": r[0],
                "payment_id": r[1],
                "event": r[2],
                "body": bytes(r[3]).decode() if isinstance(r[3], bytes | memoryview) else str(r[3]),
                "signature": r[4],
                "created_at": r[5],
            }
            for r in rows
        ]
        return JSONResponse({"items": items})

    return [
        Route("/health", health, methods=["GET"]),
        Route("/advance", advance, methods=["POST"]),
        Route("/citizens", citizens, methods=["POST"]),
        Route("/notifications", notifications, methods=["GET"]),
    ]


def create_sandbox_app(parts: SandboxParts, *, catalogue: Catalogue | None = None) -> Starlette:
    """The combined sandbox app for ``parts`` (procedures from ``catalogue``, default the
    built-in one)."""
    procedures = catalogue if catalogue is not None else builtin_catalogue()
    routes: list[BaseRoute] = [
        Mount("/portal/v1", routes=portal_routes(parts.state, procedures)),
        Mount("/wallet/v1", routes=wallet_routes(parts.state)),
        Mount("/sandbox", routes=_admin_routes(parts, procedures)),
    ]
    routes.append(Mount("/signing", app=parts.signing_app))
    routes.append(Mount("", app=create_pki_app(parts.ca)))
    app = Starlette(routes=routes, exception_handlers={Problem: problem_handler})
    app.add_middleware(RequestIdMiddleware)
    app.state.sandbox = parts
    return app
