"""The signing sandbox's state and helpers (see :mod:`huesign.sandbox.signing`)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Literal

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from huesign.client.sp769 import sign_sp769_webhook
from huesign.pki.algorithms import KeyAlgorithm, RSAPadding, SignatureAlgorithm
from huesign.pki.devca import IssuedCertificate
from huesign.pki.keys import PrivateKey

__all__ = [
    "BEHAVIOUR_HEADER",
    "MAX_SIGNING_REQUEST_SIZE",
    "SandboxConfirmation",
    "SandboxCredential",
    "SigningSandboxState",
]

BEHAVIOUR_HEADER = "X-Sandbox-Behaviour"
#: Largest request body accepted.
MAX_SIGNING_REQUEST_SIZE = 1 << 20
MAX_HASHES = 1000
NEVER = float("inf")
STARTUP_TIMEOUT = 10.0


@attrs.frozen(kw_only=True, repr=False)
class SandboxCredential:
    """A citizen's credential held by the sandbox provider.

    Attributes:
        credential_id: the CSC credential id (also the sp769 certificate id).
        user_id: the citizen's login and sp769 ``user_id`` (their CCCD by default).
        issued: the certificate and key, issued by the development CA.
        password: the account password for CSC ``auth/login``.
        pin: the PIN that activates signing.
        scal: 2 binds every authorization to the hashes it may sign.
        auth_mode: ``explicit`` (PIN, and OTP when ``otp``) or ``implicit``.
        otp: whether an online OTP is required too.
        multisign: how many hashes one ``signHash`` may carry.
        sad_lifetime: seconds a SAD lives.
        behaviour: the simulated citizen's default answer (see the module docs).
    """

    credential_id: str
    user_id: str
    issued: IssuedCertificate
    password: str = "password"  # noqa: S105 - a sandbox account
    pin: str = "123456"
    scal: Literal[1, 2] = 2
    auth_mode: Literal["explicit", "implicit"] = "explicit"
    otp: bool = False
    multisign: int = attrs.field(default=20, validator=attrs.validators.in_(range(1, 1001)))
    sad_lifetime: int = 300
    behaviour: str = "approve"

    @classmethod
    def for_citizen(cls, issued: IssuedCertificate, **options: object) -> SandboxCredential:
        """A credential for ``issued``, its user id taken from the certificate's identifier."""
        identity = issued.certificate.identity
        user_id = identity.identifiers[0].value if identity.identifiers else identity.common_name
        fields: dict[str, object] = {
            "credential_id": f"cred-{user_id or issued.certificate.serial_number}",
            "user_id": user_id or str(issued.certificate.serial_number),
        }
        fields.update(options)
        return cls(issued=issued, **fields)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"<SandboxCredential {self.credential_id} user={self.user_id} SCAL{self.scal}>"


@attrs.frozen(kw_only=True)
class SandboxConfirmation:
    """What the simulated phone app showed the citizen, and what they answered.

    Attributes:
        protocol: ``csc`` or ``sp769``.
        user_id: the citizen.
        credential_id: the credential used.
        count: how many hashes the confirmation covered.
        verification_code: the code shown (the same that :func:`verification_code` gives).
        outcome: ``approve``, ``reject`` or ``never``.
    """

    protocol: str
    user_id: str
    credential_id: str
    count: int
    verification_code: str
    outcome: str


@attrs.frozen(kw_only=True)
class Behaviour:
    outcome: str = "approve"
    delay: float = 0.0
    corrupt: str | None = None
    sad_ttl: int | None = None

    @classmethod
    def parse(cls, text: str) -> Behaviour:
        outcome, delay, corrupt, ttl = "approve", 0.0, None, None
        for raw in text.split(",")[:8]:
            token = raw.strip().lower()
            name, _, value = token.partition("=")
            if name in ("approve", "reject", "never"):
                outcome = name
            elif name == "delay" and value.replace(".", "", 1).isdigit():
                delay = min(float(value), 60.0)
            elif name in ("malformed", "wrong-key"):
                corrupt = name
            elif name == "sad-ttl" and value.isdigit():
                ttl = int(value)
        return cls(outcome=outcome, delay=delay, corrupt=corrupt, sad_ttl=ttl)


@attrs.define
class ActiveSAD:
    credential_id: str
    expires_at: float
    remaining: int
    hashes: frozenset[bytes] | None


@attrs.define
class Pending:
    credential_id: str
    ready_at: float
    outcome: str
    signatures: list[tuple[str, bytes]]
    expires_at: float


class SigningSandboxState:
    """The sandbox's live state (tokens, SADs, OTPs, transactions), behind a lock.

    Reach it as ``app.state.signing``; tests read :attr:`confirmations` and :meth:`otp`.
    """

    def __init__(
        self,
        credentials: Iterable[SandboxCredential],
        *,
        sp_id: str,
        sp_password: str,
        client_id: str,
        client_secret: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Hold ``credentials`` and the service accounts."""
        self.credentials = {c.credential_id: c for c in credentials}
        self.sp_id = sp_id
        self.sp_password = sp_password
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, str | None] = {}
        self._sads: dict[str, ActiveSAD] = {}
        self._otps: dict[str, str] = {}
        self._pending: dict[str, Pending] = {}
        self._confirmations: list[SandboxConfirmation] = []

    @property
    def confirmations(self) -> tuple[SandboxConfirmation, ...]:
        """Every confirmation shown so far, oldest first."""
        with self._lock:
            return tuple(self._confirmations)

    def otp(self, credential_id: str) -> str | None:
        """The last OTP sent for ``credential_id`` (sandbox only)."""
        with self._lock:
            return self._otps.get(credential_id)

    def by_user(self, user_id: str) -> list[SandboxCredential]:
        """The credentials of ``user_id``."""
        return [c for c in self.credentials.values() if c.user_id == user_id]

    def add_credential(self, credential: SandboxCredential) -> None:
        """Register ``credential`` with the provider; safe to call from any thread.

        The mapping is replaced, never mutated, so handlers reading :attr:`credentials`
        without the lock always see a complete mapping.  Registering the same credential
        again does nothing.

        Raises:
            ValueError: another credential already has the same ``credential_id``.
        """
        with self._lock:
            known = self.credentials.get(credential.credential_id)
            if known is not None and known != credential:
                raise ValueError(f"credential {credential.credential_id!r} is already registered")
            self.credentials = {**self.credentials, credential.credential_id: credential}

    def sp769_status(self, tran_id: str) -> dict[str, object]:
        """The sp769 status of a transaction (what ``signatures/sign/{tran_id}/status`` says)."""
        return sp769_status_of(self, tran_id)

    def webhook(self, tran_id: str) -> tuple[bytes, dict[str, str]]:
        """The signed webhook the provider sends for ``tran_id``: its body and headers."""
        body = json.dumps(sp769_status_of(self, tran_id), separators=(",", ":")).encode()
        return body, sign_sp769_webhook(body, secret=self.sp_password, timestamp=int(time.time()))

    def _record(self, confirmation: SandboxConfirmation) -> None:
        with self._lock:
            self._confirmations.append(confirmation)
            del self._confirmations[:-1000]


# --- signing -------------------------------------------------------------------------------------


def sign_with(
    credential: SandboxCredential, digest: bytes, algorithm: SignatureAlgorithm, corrupt: str | None
) -> bytes:
    key = credential.issued.key
    if corrupt == "malformed":
        return secrets.token_bytes(64)
    if corrupt == "wrong-key":
        family = algorithm.key_family
        key = PrivateKey.generate(KeyAlgorithm.EC_P256 if family == "ec" else KeyAlgorithm.RSA_2048)
    return key.sign_digest(
        digest,
        hash_algorithm=algorithm.hash_algorithm,
        rsa_padding=algorithm.rsa_padding or RSAPadding.PKCS1V15,
    )


def key_family(credential: SandboxCredential) -> str:
    return credential.issued.certificate.public_key.description.split("-", 1)[0]


def algorithm_oids(credential: SandboxCredential) -> list[str]:
    if key_family(credential) == "ec":
        return [
            "1.2.840.10045.2.1",
            "1.2.840.10045.4.3.2",
            "1.2.840.10045.4.3.3",
            "1.2.840.10045.4.3.4",
        ]
    return [
        "1.2.840.113549.1.1.1",
        "1.2.840.113549.1.1.11",
        "1.2.840.113549.1.1.12",
        "1.2.840.113549.1.1.13",
        "1.2.840.113549.1.1.10",
    ]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --- HTTP helpers ---------------------------------------------------------------------------------


class Refusal(Exception):
    def __init__(self, status: int, body: Mapping[str, object]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def csc_refusal(status: int, code: str, description: str) -> Refusal:
    return Refusal(status, {"error": code, "error_description": description})


async def read_json(request: Request) -> dict[str, object]:
    declared = request.headers.get("content-length")
    if declared is not None and (
        not declared.isdigit() or int(declared) > MAX_SIGNING_REQUEST_SIZE
    ):
        raise csc_refusal(413, "invalid_request", "Request too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_SIGNING_REQUEST_SIZE:
            raise csc_refusal(413, "invalid_request", "Request too large")
    if not body:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise csc_refusal(400, "invalid_request", "The request body is not JSON") from exc
    if not isinstance(value, dict):
        raise csc_refusal(400, "invalid_request", "The request body is not a JSON object")
    return value


def str_param(body: Mapping[str, object], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise csc_refusal(
            400, "invalid_request", f"Missing (or invalid type) string parameter {name}"
        )
    return value


def hashes_param(body: Mapping[str, object], name: str) -> list[bytes]:
    value = body.get(name)
    if not isinstance(value, list) or not value or len(value) > MAX_HASHES:
        raise csc_refusal(
            400, "invalid_request", f"Missing (or invalid type) array parameter {name}"
        )
    try:
        return [base64.b64decode(v, validate=True) for v in value if isinstance(v, str)]
    except (binascii.Error, ValueError) as exc:
        raise csc_refusal(400, "invalid_request", f"Invalid Base64 {name} string") from exc


def behaviour_of(request: Request, credential: SandboxCredential) -> Behaviour:
    return Behaviour.parse(request.headers.get(BEHAVIOUR_HEADER) or credential.behaviour)


async def wait_for_user(request: Request, behaviour: Behaviour) -> None:
    """Play the citizen of a synchronous confirmation: delay, never answer, or reject."""
    if behaviour.outcome == "never":
        for _ in range(600):  # the client gives up (times out) long before
            if await request.is_disconnected():
                break
            await asyncio.sleep(0.05)
        raise csc_refusal(400, "timeout", "The user did not confirm in time")
    if behaviour.delay:
        await asyncio.sleep(behaviour.delay)
    if behaviour.outcome == "reject":
        raise csc_refusal(400, "access_denied", "The user refused the signature")


def endpoint_of(handler: Callable[[Request], object]) -> Callable[[Request], object]:
    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)  # type: ignore[misc]
        except Refusal as refusal:
            return JSONResponse(dict(refusal.body), status_code=refusal.status)
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint


WAITING = "WAITING_FOR_SIGNER_CONFIRM"


def sp_refusal(status: int, message: str) -> Refusal:
    return Refusal(status, {"status_code": status, "message": message, "data": None})


def sp769_status_of(state: SigningSandboxState, tran_id: str) -> dict[str, object]:
    with state._lock:
        pending = state._pending.get(tran_id)
    if pending is None:
        raise sp_refusal(404, "TRANSACTION_NOT_FOUND")
    now = state.clock()
    result: dict[str, object] = {"transaction_id": tran_id, "tran_status": WAITING}
    if now >= pending.expires_at and now < pending.ready_at:
        result["tran_status"] = "EXPIRED"
    elif now >= pending.ready_at:
        if pending.outcome == "reject":
            result["tran_status"] = "REJECTED"
        else:
            result["tran_status"] = "SIGNED"
            result["signatures"] = [
                {"doc_id": doc_id, "signature_value": b64(sig)}
                for doc_id, sig in pending.signatures
            ]
    return result
