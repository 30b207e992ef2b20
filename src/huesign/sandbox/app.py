"""The reference sandbox as one ASGI app: portal, wallet, PKI services and signing provider.

Paths: ``/portal/v1/...`` (``docs/api/portal.yaml``), ``/wallet/v1/...``
(``docs/api/wallet.yaml``), ``/signing/...`` (the remote-signing provider, when this build
has it), the development CA's CRLs, OCSP and TSA under the path of its ``base_url``, and the
sandbox's own admin endpoints (admin bearer token):

- ``POST /sandbox/advance`` (optional JSON ``{"dossier_id": ...}``): move dossiers one step
  along the agency's schedule (submitted -> received -> processing -> result ready);
- ``POST /sandbox/citizens`` (``{"cccd": ..., "name": ...}``): a bearer token for a new test
  citizen;
- ``GET /sandbox/notifications?payment_id=...``: the signed wallet notifications sent;
- ``GET /sandbox/health``: no credentials, ``{"status": "ok"}``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import re
import secrets
from collections.abc import Callable

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

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
from huesign.sandbox.store import SQLiteStore, Store
from huesign.sandbox.wallet import wallet_routes

__all__ = ["SandboxParts", "create_sandbox_app", "sandbox_parts"]

_HUE = "Thành phố Huế"
_SIGNING_MODULE = "huesign.sandbox.signing"
_CCCD = re.compile(r"\d{12}")


@attrs.frozen(kw_only=True)
class SandboxParts:
    """What a sandbox is made of (see :func:`sandbox_parts`).

    Attributes:
        ca: the development CA whose trust the portal uses.
        seal: the agency seal that signs results.
        citizen: the test citizen's certificate and key (CCCD 046190001234).
        officer: the test officer's certificate and key.
        state: the shared live state (store, credentials, clock).
    """

    ca: DevelopmentCA
    seal: IssuedCertificate
    citizen: IssuedCertificate
    officer: IssuedCertificate
    state: SandboxState

    @property
    def credentials(self) -> Credentials:
        """The test credentials."""
        return self.state.credentials


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
    return SandboxParts(ca=ca, seal=seal, citizen=citizen, officer=officer, state=state)


def _signing_app(parts: SandboxParts) -> ASGIApp | None:
    # The remote-signing provider ships in the same package but is optional in a build.
    if importlib.util.find_spec(_SIGNING_MODULE) is None:
        return None
    try:
        module = importlib.import_module(_SIGNING_MODULE)
    except ImportError:
        return None
    factory = getattr(module, "create_signing_app", None)
    if factory is None:
        return None
    app: ASGIApp = factory(parts.ca, citizens=[parts.citizen])
    return app


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
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            raise Problem(
                422, "Invalid request", "name must be 1-100 characters", code="invalid_field"
            )
        token = "cit_" + secrets.token_urlsafe(24)
        with state.store.transaction() as tx:
            remember_token(tx, token, role="citizen", subject=f"CCCD:{cccd}", name=name)
        return JSONResponse({"token": token, "subject": f"CCCD:{cccd}"}, status_code=201)

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
    signing = _signing_app(parts)
    if signing is not None:
        routes.append(Mount("/signing", app=signing))
    routes.append(Mount("", app=create_pki_app(parts.ca)))
    app = Starlette(routes=routes, exception_handlers={Problem: problem_handler})
    app.add_middleware(RequestIdMiddleware)
    app.state.sandbox = parts
    return app
