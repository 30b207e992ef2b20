"""What the sandbox's portal and wallet share: state, credentials, problems, idempotency."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Literal

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from huesign.pki.devca import DevelopmentCA, IssuedCertificate
from huesign.sandbox.store import SQLiteStore, Store, Transaction

Role = Literal["citizen", "officer", "merchant", "admin"]

#: Largest JSON request body accepted.
MAX_JSON_SIZE = 1 << 20
REQUEST_ID = "x-request-id"
IDEMPOTENCY = "idempotency-key"
_MAX_KEY = 255


def utcnow() -> dt.datetime:
    """The current UTC time, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(value: dt.datetime) -> str:
    """ISO 8601 with the offset."""
    return value.isoformat()


def token_hash(token: str) -> str:
    """How a credential is stored: its SHA-256 (tokens are never stored in clear)."""
    return hashlib.sha256(token.encode()).hexdigest()


@attrs.frozen(kw_only=True)
class Principal:
    """Who made a request."""

    role: Role
    subject: str
    name: str = ""


@attrs.frozen(kw_only=True)
class Credentials:
    """The sandbox's test credentials (printed by ``huesign sandbox serve``; test only).

    Attributes:
        citizen_token: a bearer token of the test citizen.
        officer_token: a bearer token of the test agency officer.
        merchant_api_key: the wallet API key of the portal (the merchant).
        admin_token: the bearer token of the sandbox's own admin endpoints.
        notification_secret: the wallet's HMAC secret for the merchant's notifications.
    """

    citizen_token: str = attrs.field(factory=lambda: "cit_" + secrets.token_urlsafe(24))
    officer_token: str = attrs.field(factory=lambda: "off_" + secrets.token_urlsafe(24))
    merchant_api_key: str = attrs.field(factory=lambda: "mk_" + secrets.token_urlsafe(24))
    admin_token: str = attrs.field(factory=lambda: "adm_" + secrets.token_urlsafe(24))
    notification_secret: str = attrs.field(factory=lambda: "whsec_" + secrets.token_urlsafe(24))

    def __repr__(self) -> str:
        return "Credentials(...)"


@attrs.define(kw_only=True)
class SandboxState:
    """Everything the sandbox's apps share (one per server)."""

    ca: DevelopmentCA
    seal: IssuedCertificate
    store: Store = attrs.field(factory=SQLiteStore)
    credentials: Credentials = attrs.field(factory=Credentials)
    clock: Callable[[], dt.datetime] = utcnow
    public_url: str = "http://127.0.0.1:8000"
    max_upload_size: int = 20 << 20

    def __attrs_post_init__(self) -> None:
        creds = self.credentials
        with self.store.transaction() as tx:
            entries: tuple[tuple[str, Role, str, str], ...] = (
                (creds.citizen_token, "citizen", "CCCD:046190001234", "Nguyễn Thị Hương Giang"),
                (creds.officer_token, "officer", "CCCD:046085012345", "Trần Văn Minh"),
                (creds.admin_token, "admin", "admin", "Sandbox admin"),
            )
            for token, role, subject, name in entries:
                remember_token(tx, token, role=role, subject=subject, name=name)

    def now(self) -> dt.datetime:
        """The sandbox clock, in UTC."""
        return self.clock().astimezone(dt.UTC)


def remember_token(tx: Transaction, token: str, *, role: Role, subject: str, name: str) -> None:
    """Store a bearer token (hashed) for ``role``/``subject``."""
    digest = token_hash(token)
    if tx.one("SELECT role FROM credentials WHERE token_hash = ?", (digest,)) is None:
        tx.execute(
            "INSERT INTO credentials (token_hash, role, subject, name) VALUES (?, ?, ?, ?)",
            (digest, role, subject, name),
        )


class Problem(Exception):
    """An RFC 9457 problem to send back (raised inside handlers)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        code: str = "about:blank",
        extra: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.detail = detail
        self.code = code
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def response(self, request_id: str | None = None) -> Response:
        """The ``application/problem+json`` response."""
        body: dict[str, object] = {
            "type": self.code
            if self.code == "about:blank"
            else f"https://huesign.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if request_id:
            body["instance"] = f"urn:uuid:{request_id}"
        body.update(self.extra)
        return JSONResponse(
            body,
            status_code=self.status,
            media_type="application/problem+json",
            headers=self.headers,
        )


class RequestIdMiddleware:
    """Gives every request an id (``X-Request-ID``) and turns :class:`Problem` into JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Problem as problem:
            if started:
                raise
            await problem.response(request_id)(scope, receive, send_with_id)


def request_id(request: Request) -> str | None:
    """The id the middleware gave ``request``."""
    value = request.scope.get("state", {}).get("request_id")
    return str(value) if value else None


def problem_handler(request: Request, exc: Exception) -> Response:
    """Starlette exception handler for :class:`Problem`."""
    if not isinstance(exc, Problem):
        raise exc
    return exc.response(request_id(request))


def authenticate(state: SandboxState, request: Request, *roles: Role) -> Principal:
    """The caller, from ``Authorization: Bearer`` or ``X-API-Key``; 401/403 otherwise."""
    auth = request.headers.get("authorization", "")
    token = ""
    if auth[:7].lower() == "bearer ":
        token = auth[7:].strip()
    api_key = request.headers.get("x-api-key", "")
    if (
        api_key
        and "merchant" in roles
        and secrets.compare_digest(api_key.encode(), state.credentials.merchant_api_key.encode())
    ):
        return Principal(role="merchant", subject="portal", name="Hue-S portal")
    if not token:
        raise Problem(
            401,
            "Unauthorized",
            "this operation needs credentials",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with state.store.transaction() as tx:
        row = tx.one(
            "SELECT role, subject, name FROM credentials WHERE token_hash = ?",
            (token_hash(token),),
        )
    if row is None:
        raise Problem(
            401,
            "Unauthorized",
            "the token is not valid",
            code="unauthorized",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    role, subject, name = str(row[0]), str(row[1]), str(row[2])
    if role not in roles:
        raise Problem(403, "Forbidden", f"a {role} may not do this", code="forbidden")
    return Principal(role=role, subject=subject, name=name)


async def read_body(request: Request, limit: int = MAX_JSON_SIZE) -> bytes:
    """The request body, refused with 413 beyond ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Problem(413, "Content Too Large", f"at most {limit} bytes", code="too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "Content Too Large", f"at most {limit} bytes", code="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(body: bytes) -> dict[str, object]:
    """A JSON object from ``body``; 400 for anything else."""
    if not body:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "Bad Request", "the body is not JSON", code="bad_json") from exc
    if not isinstance(value, dict):
        raise Problem(400, "Bad Request", "the body must be a JSON object", code="bad_json")
    return value


def idempotency_key(request: Request) -> str | None:
    """The request's ``Idempotency-Key`` (400 if malformed)."""
    key = request.headers.get(IDEMPOTENCY)
    if key is None:
        return None
    if not key or len(key) > _MAX_KEY or not key.isprintable():
        raise Problem(
            400,
            "Bad Request",
            "the Idempotency-Key must be 1-255 printable characters",
            code="bad_idempotency_key",
        )
    return key


Handler = Callable[[Transaction], tuple[int, object]]


def idempotent(
    state: SandboxState,
    request: Request,
    principal: Principal,
    fingerprint_parts: tuple[bytes, ...],
    handler: Handler,
) -> Response:
    """Run a write once per ``Idempotency-Key``.

    The same key with the same request replays the stored response (header
    ``Idempotent-Replayed: true``); the same key with a different request is a 422.  The
    check, the write and the stored response share one transaction.
    """
    key = idempotency_key(request)
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.url.path.encode())
    for part in fingerprint_parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    fingerprint = digest.hexdigest()
    scope = f"{principal.role}:{principal.subject}"
    with state.store.transaction() as tx:
        if key is not None:
            row = tx.one(
                "SELECT fingerprint, status, body FROM idempotency WHERE scope = ? AND key = ?",
                (scope, key),
            )
            if row is not None:
                if row[0] != fingerprint:
                    raise Problem(
                        422,
                        "Idempotency key reused",
                        "this Idempotency-Key was used with a different request",
                        code="idempotency_key_reused",
                    )
                stored = row[2]
                return Response(
                    bytes(stored) if isinstance(stored, bytes | memoryview) else str(stored),
                    status_code=int(str(row[1])),
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
        status, payload = handler(tx)
        body = json.dumps(payload, ensure_ascii=False).encode()
        if key is not None:
            tx.execute(
                "INSERT INTO idempotency (scope, key, fingerprint, status, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (scope, key, fingerprint, status, body, iso(state.now())),
            )
    return Response(body, status_code=status, media_type="application/json")


def page_params(request: Request, *, default: int = 20, maximum: int = 100) -> tuple[int, int]:
    """``(limit, offset)`` from ``limit`` and the opaque ``cursor`` query parameters."""
    raw_limit = request.query_params.get("limit", str(default))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= maximum:
        raise Problem(
            400,
            "Bad Request",
            f"limit must be an integer from 1 to {maximum}",
            code="bad_limit",
        )
    cursor = request.query_params.get("cursor")
    offset = 0
    if cursor is not None:
        if not cursor.startswith("o") or not cursor[1:].isdigit() or len(cursor) > 12:
            raise Problem(400, "Bad Request", "the cursor is not valid", code="bad_cursor")
        offset = int(cursor[1:])
    return int(raw_limit), offset


def page_body(items: list[object], *, limit: int, offset: int, more: bool) -> dict[str, object]:
    """A page object: ``items`` and ``next_cursor``."""
    return {"items": items, "next_cursor": f"o{offset + limit}" if more else None}
