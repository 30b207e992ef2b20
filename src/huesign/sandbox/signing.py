"""A remote-signing provider for tests and demos: CSC v1/v2 and NEAC sp769 over one app.

:func:`create_signing_app` serves, backed by a :class:`~huesign.pki.DevelopmentCA`:

- CSC v1.0.4.0 under ``/csc/v1/`` and v2 under ``/csc/v2/`` (``info``, ``auth/login``,
  ``credentials/list|info|authorize|sendOTP|extendTransaction``, ``signatures/signHash``, v2
  ``signatures/signPolling``) and the OAuth2 client-credentials grant at ``/oauth2/token``;
- the sp769 protocol under ``/sp769/`` (``credentials/get_certificate``,
  ``signatures/sign``, ``signatures/sign/{tran_id}/status``);
- sandbox-only helpers: ``GET /sandbox/otp/{credential_id}`` (the last OTP sent) and
  ``GET /sandbox/confirmations`` (what the simulated phone app showed the citizen).

Every credential's key was issued by the CA; PINs, OTPs, SAD expiry and SCAL 2 hash binding
are checked as a real provider would, with the error bodies each protocol defines.  The
citizen's answer is simulated per request with the ``X-Sandbox-Behaviour`` header (or per
credential): ``approve`` (default), ``reject``, ``never``, ``delay=SECONDS``, plus
``malformed`` and ``wrong-key`` (a broken signature) and ``sad-ttl=SECONDS``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Literal
from urllib.parse import parse_qs

import attrs
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from huesign.client.csc import signature_algorithm_from_oids
from huesign.client.remote import verification_code
from huesign.pki.algorithms import HashAlgorithm, SignatureAlgorithm
from huesign.pki.devca import DevelopmentCA, IssuedCertificate
from huesign.sandbox._signing_common import (
    BEHAVIOUR_HEADER,
    MAX_HASHES,
    MAX_SIGNING_REQUEST_SIZE,
    NEVER,
    STARTUP_TIMEOUT,
    ActiveSAD,
    Pending,
    SandboxConfirmation,
    SandboxCredential,
    SigningSandboxState,
    algorithm_oids,
    b64,
    behaviour_of,
    csc_refusal,
    endpoint_of,
    hashes_param,
    key_family,
    read_json,
    sign_with,
    sp_refusal,
    str_param,
    wait_for_user,
)
from huesign.sandbox.pki_services import bind_loopback

__all__ = [
    "BEHAVIOUR_HEADER",
    "MAX_SIGNING_REQUEST_SIZE",
    "RunningSigningSandbox",
    "SandboxConfirmation",
    "SandboxCredential",
    "SigningSandboxState",
    "create_signing_app",
    "serve_signing_sandbox",
]

# --- CSC --------------------------------------------------------------------------------------


def _csc_routes(state: SigningSandboxState, version: Literal["v1", "v2"]) -> list[Route]:
    v2 = version == "v2"

    def token_user(request: Request) -> tuple[bool, str | None]:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            raise csc_refusal(401, "invalid_token", "Missing bearer token")
        with state._lock:
            if auth[7:] not in state._tokens:
                raise csc_refusal(401, "invalid_token", "The access token is not valid")
            return True, state._tokens[auth[7:]]

    def credential_of(request: Request, body: Mapping[str, object]) -> SandboxCredential:
        _, user = token_user(request)
        credential = state.credentials.get(str_param(body, "credentialID"))
        if credential is None or (user is not None and credential.user_id != user):
            raise csc_refusal(400, "invalid_request", "Invalid parameter credentialID")
        return credential

    async def info(request: Request) -> dict[str, object]:
        methods = [
            "auth/login",
            "credentials/list",
            "credentials/info",
            "credentials/authorize",
            "credentials/sendOTP",
            "credentials/extendTransaction",
            "signatures/signHash",
        ]
        if v2:
            methods.append("signatures/signPolling")
        return {
            "specs": "2.0.0.2" if v2 else "1.0.4.0",
            "name": "huesign sandbox provider",
            "logo": "",
            "region": "VN",
            "lang": "vi-VN",
            "description": "Development remote signing (not a trust service)",
            "authType": ["basic", "oauth2client"],
            "methods": methods,
        }

    async def login(request: Request) -> dict[str, object]:
        auth = request.headers.get("authorization", "")
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        known = state.by_user(user)
        if (
            not auth.startswith("Basic ")
            or not known
            or not any(hmac.compare_digest(c.password.encode(), password.encode()) for c in known)
        ):
            raise csc_refusal(401, "invalid_request", "The user credentials are not valid")
        token = secrets.token_urlsafe(24)
        with state._lock:
            state._tokens[token] = user
        return {"access_token": token, "expires_in": 3600}

    async def credentials_list(request: Request) -> dict[str, object]:
        body = await read_json(request)
        _, user = token_user(request)
        wanted = user or body.get("userID")
        if not isinstance(wanted, str):
            raise csc_refusal(
                400, "invalid_request", "Missing (or invalid type) string parameter userID"
            )
        return {"credentialIDs": [c.credential_id for c in state.by_user(wanted)]}

    async def credentials_info(request: Request) -> dict[str, object]:
        body = await read_json(request)
        credential = credential_of(request, body)
        issued = credential.issued
        certs = [issued.certificate, *issued.chain]
        if body.get("certificates") == "single":
            certs = certs[:1]
        elif body.get("certificates") == "none":
            certs = []
        key = {
            "status": "enabled",
            "algo": algorithm_oids(credential),
            "len": issued.certificate.public_key.key_size,
        }
        answer: dict[str, object] = {
            "description": f"Chữ ký số từ xa của {issued.certificate.identity.common_name}",
            "key": key,
            "cert": {
                "status": "valid",
                "certificates": [b64(c.der) for c in certs],
                "serialNumber": format(issued.certificate.serial_number, "x"),
                "subjectDN": issued.certificate.subject_text,
                "issuerDN": issued.certificate.issuer_text,
            },
            "SCAL": str(credential.scal),
            "multisign": credential.multisign,
            "lang": "vi-VN",
        }
        if v2:
            objects: list[dict[str, str]] = []
            if credential.auth_mode == "explicit":
                objects.append({"type": "Password", "id": "PIN", "format": "N", "label": "PIN"})
                if credential.otp:
                    objects.append(
                        {
                            "type": "Password",
                            "id": "OTP",
                            "format": "N",
                            "generator": "online",
                            "label": "OTP",
                        }
                    )
            answer["auth"] = {"mode": credential.auth_mode, "objects": objects}
        else:
            answer["authMode"] = credential.auth_mode
            if credential.auth_mode == "explicit":
                answer["PIN"] = {
                    "presence": "true",
                    "format": "N",
                    "label": "PIN",
                    "description": "Mã PIN ký số",
                }
                if credential.otp:
                    answer["OTP"] = {
                        "presence": "true",
                        "type": "online",
                        "format": "N",
                        "label": "OTP",
                        "ID": "sandbox-otp",
                        "provider": "huesign sandbox",
                    }
        return answer

    async def send_otp(request: Request) -> Response:
        credential = credential_of(request, await read_json(request))
        with state._lock:
            state._otps[credential.credential_id] = f"{secrets.randbelow(10**6):06d}"
        return Response(status_code=204)

    def check_activation(credential: SandboxCredential, body: Mapping[str, object]) -> None:
        if credential.auth_mode == "implicit":
            return
        pin = body.get("PIN")
        if not isinstance(pin, str) or not hmac.compare_digest(
            pin.encode(), credential.pin.encode()
        ):
            raise csc_refusal(400, "invalid_pin", "The PIN is invalid")
        if credential.otp:
            otp = body.get("OTP")
            with state._lock:
                expected = state._otps.pop(credential.credential_id, None)
            if (
                expected is None
                or not isinstance(otp, str)
                or not hmac.compare_digest(otp.encode(), expected.encode())
            ):
                raise csc_refusal(400, "invalid_otp", "The OTP is invalid")

    async def authorize(request: Request) -> dict[str, object]:
        body = await read_json(request)
        credential = credential_of(request, body)
        count = body.get("numSignatures")
        if not isinstance(count, int) or not 1 <= count <= MAX_HASHES:
            raise csc_refusal(400, "invalid_request", "Invalid parameter numSignatures")
        bound: list[bytes] | None = None
        name = "hashes" if v2 else "hash"
        if name in body or credential.scal == 2:
            bound = hashes_param(body, name)
            if len(bound) != count:
                raise csc_refusal(400, "invalid_request", "Invalid parameter numSignatures")
        check_activation(credential, body)
        behaviour = behaviour_of(request, credential)
        if bound is not None:
            state._record(
                SandboxConfirmation(
                    protocol="csc",
                    user_id=credential.user_id,
                    credential_id=credential.credential_id,
                    count=len(bound),
                    verification_code=verification_code(bound),
                    outcome=behaviour.outcome,
                )
            )
            await wait_for_user(request, behaviour)
        lifetime = credential.sad_lifetime if behaviour.sad_ttl is None else behaviour.sad_ttl
        sad = secrets.token_urlsafe(32)
        with state._lock:
            state._sads[sad] = ActiveSAD(
                credential_id=credential.credential_id,
                expires_at=state.clock() + lifetime,
                remaining=count,
                hashes=frozenset(bound) if bound is not None else None,
            )
        return {"SAD": sad, "expiresIn": lifetime}

    def live_sad(credential: SandboxCredential, body: Mapping[str, object]) -> ActiveSAD:
        with state._lock:
            sad = state._sads.get(str_param(body, "SAD"))
        if sad is None or sad.credential_id != credential.credential_id:
            raise csc_refusal(400, "invalid_request", "Invalid parameter SAD")
        if state.clock() >= sad.expires_at:
            raise csc_refusal(400, "invalid_request", "SAD expired")
        return sad

    async def extend(request: Request) -> dict[str, object]:
        body = await read_json(request)
        credential = credential_of(request, body)
        sad = live_sad(credential, body)
        token = secrets.token_urlsafe(32)
        with state._lock:
            state._sads.pop(str_param(body, "SAD"), None)
            sad.expires_at = state.clock() + credential.sad_lifetime
            state._sads[token] = sad
        return {"SAD": token, "expiresIn": credential.sad_lifetime}

    async def sign_hash(request: Request) -> Response:
        body = await read_json(request)
        credential = credential_of(request, body)
        hashes = hashes_param(body, "hashes" if v2 else "hash")
        hash_oid = body.get("hashAlgorithmOID" if v2 else "hashAlgo")
        try:
            algorithm = signature_algorithm_from_oids(
                str_param(body, "signAlgo"), hash_oid if isinstance(hash_oid, str) else None
            )
        except ValueError as exc:
            raise csc_refusal(400, "invalid_request", "Invalid parameter signAlgo") from exc
        if algorithm.key_family != key_family(credential) or any(
            len(h) != algorithm.hash_algorithm.digest_size for h in hashes
        ):
            raise csc_refusal(400, "invalid_request", "Invalid parameter hash")
        if len(hashes) > credential.multisign:
            raise csc_refusal(400, "invalid_request", "Too many hashes for this credential")
        sad = live_sad(credential, body)
        if sad.hashes is not None and not set(hashes) <= sad.hashes:
            raise csc_refusal(400, "invalid_request", "Hash is not bound to the SAD")
        with state._lock:
            if sad.remaining < len(hashes):
                raise csc_refusal(400, "invalid_request", "Invalid parameter SAD")
            sad.remaining -= len(hashes)
            if sad.remaining == 0:
                state._sads = {k: v for k, v in state._sads.items() if v is not sad}
        behaviour = behaviour_of(request, credential)
        if sad.hashes is None:
            state._record(
                SandboxConfirmation(
                    protocol="csc",
                    user_id=credential.user_id,
                    credential_id=credential.credential_id,
                    count=len(hashes),
                    verification_code=verification_code(hashes),
                    outcome=behaviour.outcome,
                )
            )
            if not (v2 and body.get("operationMode") == "A"):
                await wait_for_user(request, behaviour)
        signatures = [("", sign_with(credential, h, algorithm, behaviour.corrupt)) for h in hashes]
        if v2 and body.get("operationMode") == "A":
            response_id = secrets.token_urlsafe(16)
            period = body.get("validity_period")
            life = float(period) if isinstance(period, int) and 0 < period <= 86400 else 300.0
            now = state.clock()
            ready = NEVER if behaviour.outcome == "never" else now + behaviour.delay
            with state._lock:
                state._pending[response_id] = Pending(
                    credential_id=credential.credential_id,
                    ready_at=ready,
                    outcome=behaviour.outcome,
                    signatures=signatures,
                    expires_at=now + life,
                )
            return JSONResponse({"responseID": response_id}, status_code=202)
        return JSONResponse({"signatures": [b64(s) for _, s in signatures]})

    async def sign_polling(request: Request) -> Response:
        body = await read_json(request)
        token_user(request)
        with state._lock:
            pending = state._pending.get(str_param(body, "responseID"))
        if pending is None or state.clock() >= pending.expires_at:
            raise csc_refusal(400, "invalid_request", "Invalid parameter responseID")
        if state.clock() < pending.ready_at:
            return JSONResponse({"responseID": body["responseID"]}, status_code=202)
        if pending.outcome == "reject":
            raise csc_refusal(400, "access_denied", "The user refused the signature")
        return JSONResponse({"signatures": [b64(s) for _, s in pending.signatures]})

    handlers: dict[str, Callable[[Request], object]] = {
        "info": info,
        "auth/login": login,
        "credentials/list": credentials_list,
        "credentials/info": credentials_info,
        "credentials/sendOTP": send_otp,
        "credentials/authorize": authorize,
        "credentials/extendTransaction": extend,
        "signatures/signHash": sign_hash,
    }
    if v2:
        handlers["signatures/signPolling"] = sign_polling
    return [
        Route(f"/csc/{version}/{name}", endpoint_of(handler), methods=["POST"])
        for name, handler in handlers.items()
    ]


# --- sp769 ------------------------------------------------------------------------------------


def _sp769_routes(state: SigningSandboxState) -> list[Route]:
    def account(body: Mapping[str, object]) -> None:
        sp_id, password = body.get("sp_id"), body.get("sp_password")
        if not (
            isinstance(sp_id, str)
            and isinstance(password, str)
            and hmac.compare_digest(sp_id.encode(), state.sp_id.encode())
            and hmac.compare_digest(password.encode(), state.sp_password.encode())
        ):
            raise sp_refusal(401, "INVALID_SP_CREDENTIALS")

    def user(body: Mapping[str, object]) -> SandboxCredential:
        user_id = body.get("user_id")
        found = state.by_user(user_id) if isinstance(user_id, str) else []
        if not found:
            raise sp_refusal(404, "USER_NOT_FOUND")
        return found[0]

    async def get_certificate(request: Request) -> dict[str, object]:
        body = await read_json(request)
        account(body)
        credential = user(body)
        issued = credential.issued
        chain = {"ca_cert": b64(issued.chain[0].der)} if issued.chain else {}
        if len(issued.chain) > 1:
            chain["root_cert"] = b64(issued.chain[-1].der)
        cert = {
            "cert_id": credential.credential_id,
            "cert_data": b64(issued.certificate.der),
            "chain_data": chain,
            "serial_number": format(issued.certificate.serial_number, "x"),
            "cert_status": "active",
        }
        return {"status_code": 200, "message": "SUCCESS", "data": {"user_certificates": [cert]}}

    async def sign(request: Request) -> dict[str, object]:
        body = await read_json(request)
        account(body)
        credential = user(body)
        files = body.get("sign_files")
        if not isinstance(files, list) or not files or len(files) > MAX_HASHES:
            raise sp_refusal(400, "INVALID_SIGN_FILES")
        todo: list[tuple[str, bytes]] = []
        for item in files:
            if not isinstance(item, dict) or item.get("sign_type") != "hash":
                raise sp_refusal(400, "INVALID_SIGN_FILES")
            doc_id, data = item.get("doc_id"), item.get("data_to_be_signed")
            try:
                digest = bytes.fromhex(data) if isinstance(data, str) else b""
            except ValueError:
                digest = b""
            if not isinstance(doc_id, str) or len(digest) not in (32, 48, 64):
                raise sp_refusal(400, "INVALID_SIGN_FILES")
            todo.append((doc_id, digest))
        behaviour = behaviour_of(request, credential)
        sizes = {32: "sha256", 48: "sha384", 64: "sha512"}
        signatures = [
            (
                doc_id,
                sign_with(
                    credential,
                    digest,
                    SignatureAlgorithm.for_key(
                        key_family(credential), HashAlgorithm(sizes[len(digest)])
                    ),
                    behaviour.corrupt,
                ),
            )
            for doc_id, digest in todo
        ]
        state._record(
            SandboxConfirmation(
                protocol="sp769",
                user_id=credential.user_id,
                credential_id=credential.credential_id,
                count=len(todo),
                verification_code=verification_code([d for _, d in todo]),
                outcome=behaviour.outcome,
            )
        )
        tran_id = secrets.token_hex(12)
        now = state.clock()
        ready = NEVER if behaviour.outcome == "never" else now + behaviour.delay
        with state._lock:
            state._pending[tran_id] = Pending(
                credential_id=credential.credential_id,
                ready_at=ready,
                outcome=behaviour.outcome,
                signatures=signatures,
                expires_at=now + 300,
            )
        data = {"transaction_id": tran_id, "tran_code": verification_code([d for _, d in todo])}
        return {"status_code": 200, "message": "SUCCESS", "data": data}

    async def status(request: Request) -> dict[str, object]:
        body = await read_json(request)
        account(body)
        tran_id = request.path_params["tran_id"]
        return {"status_code": 200, "message": "SUCCESS", "data": state.sp769_status(tran_id)}

    return [
        Route("/sp769/credentials/get_certificate", endpoint_of(get_certificate), methods=["POST"]),
        Route("/sp769/signatures/sign", endpoint_of(sign), methods=["POST"]),
        Route("/sp769/signatures/sign/{tran_id}/status", endpoint_of(status), methods=["POST"]),
    ]


# --- the app ----------------------------------------------------------------------------------


def _service_routes(state: SigningSandboxState) -> list[Route]:
    async def oauth2_token(request: Request) -> Response:
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_SIGNING_REQUEST_SIZE:
                return JSONResponse({"error": "invalid_request"}, status_code=413)
        form = {k: v[0] for k, v in parse_qs(raw.decode("latin-1"), max_num_fields=20).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if not (
            isinstance(client_id, str)
            and isinstance(secret, str)
            and hmac.compare_digest(client_id.encode(), state.client_id.encode())
            and hmac.compare_digest(secret.encode(), state.client_secret.encode())
        ):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(24)
        with state._lock:
            state._tokens[token] = None
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    async def otp(request: Request) -> Response:
        value = state.otp(request.path_params["credential_id"])
        if value is None:
            return JSONResponse({"error": "no_otp"}, status_code=404)
        return JSONResponse({"otp": value})

    async def confirmations(_: Request) -> Response:
        return JSONResponse([attrs.asdict(c) for c in state.confirmations])

    return [
        Route("/oauth2/token", oauth2_token, methods=["POST"]),
        Route("/sandbox/otp/{credential_id}", otp, methods=["GET"]),
        Route("/sandbox/confirmations", confirmations, methods=["GET"]),
    ]


def create_signing_app(
    ca: DevelopmentCA,
    *,
    citizens: Iterable[SandboxCredential | IssuedCertificate],
    sp_id: str = "huesign-sp",
    sp_password: str = "sandbox-sp-secret",  # noqa: S107 - sandbox default
    client_id: str = "huesign-app",
    client_secret: str = "sandbox-client-secret",  # noqa: S107 - sandbox default
    clock: Callable[[], float] = time.monotonic,
) -> Starlette:
    """The sandbox provider's ASGI app; its state is ``app.state.signing``.

    ``citizens`` are :class:`SandboxCredential` objects or certificates issued by ``ca``
    (wrapped with :meth:`SandboxCredential.for_citizen` defaults: PIN ``123456``, SCAL 2).
    ``sp_id``/``sp_password`` are the sp769 service account (the password also keys the
    webhook HMAC); ``client_id``/``client_secret`` the CSC OAuth2 client.
    """
    credentials: list[SandboxCredential] = []
    for item in citizens:
        credential = (
            item if isinstance(item, SandboxCredential) else SandboxCredential.for_citizen(item)
        )
        if not credential.issued.certificate.is_issued_by(ca.intermediate):
            raise ValueError(f"{credential.credential_id} was not issued by this CA")
        credentials.append(credential)
    state = SigningSandboxState(
        credentials,
        sp_id=sp_id,
        sp_password=sp_password,
        client_id=client_id,
        client_secret=client_secret,
        clock=clock,
    )
    routes = [
        *_csc_routes(state, "v1"),
        *_csc_routes(state, "v2"),
        *_sp769_routes(state),
        *_service_routes(state),
    ]
    app = Starlette(routes=routes)
    app.state.signing = state
    return app


@attrs.frozen(kw_only=True)
class RunningSigningSandbox:
    """A sandbox provider being served.

    Attributes:
        base_url: ``http://127.0.0.1:PORT``; CSC is under ``/csc/v1`` and ``/csc/v2``, sp769
            under ``/sp769``.
        state: the live state (confirmations shown, OTPs sent, service accounts).
    """

    base_url: str
    state: SigningSandboxState

    @property
    def sp769_url(self) -> str:
        """The sp769 service's base address."""
        return f"{self.base_url}/sp769"


@contextmanager
def serve_signing_sandbox(app: Starlette, *, port: int = 0) -> Iterator[RunningSigningSandbox]:
    """Serve a :func:`create_signing_app` app on 127.0.0.1 in a background thread.

    The server stops when the block ends.
    """
    listener = bind_loopback(port)
    host, bound = listener.getsockname()[:2]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="huesign-signing", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the signing sandbox did not start")
            time.sleep(0.005)
        yield RunningSigningSandbox(base_url=f"http://{host}:{bound}", state=app.state.signing)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        listener.close()
