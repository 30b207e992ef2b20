"""Typed clients of the Hue-S public-service portal (``docs/api/portal.yaml``).

:class:`PortalClient` and :class:`AsyncPortalClient` have the same resources and method names;
the requests and the parsing of the answers are built once, by the ``_*_call`` functions
below, and performed by :class:`~huesign.client._http.SyncHTTP` or
:class:`~huesign.client._http.AsyncHTTP`.

>>> with PortalClient(base_url=url, token=token) as portal:  # doctest: +SKIP
...     dossier = portal.dossiers.create(procedure_code="1.004873")
...     portal.dossiers.attach_form(dossier.id, document=pdf)
...     portal.dossiers.submit(dossier.id)
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Self

import attrs
import httpx

from huesign.client._http import (
    DEFAULT_TIMEOUT,
    APIRequest,
    APIResponse,
    AsyncHTTP,
    BearerToken,
    Call,
    Page,
    SyncHTTP,
)
from huesign.client._shell import (
    HTTPT,
    UNSET,
    AsyncClientShell,
    ClientShell,
    Resource,
    SyncClientShell,
    TransportT,
    changed_options,
    check_page_size,
    model_call,
    page_call,
    path_segment,
)
from huesign.client.models import (
    AttachmentInfo,
    Dossier,
    DossierResult,
    DossierState,
    Payment,
    ProcedureSummary,
    StatusChange,
    from_json_dict,
)
from huesign.errors import NotFoundError, ServerError
from huesign.forms.procedure import Procedure

__all__ = [
    "AgencyDossiers",
    "AsyncAgencyDossiers",
    "AsyncDossiers",
    "AsyncPortalClient",
    "AsyncProcedures",
    "Dossiers",
    "PortalClient",
    "Procedures",
]


# --- the protocol, once ------------------------------------------------------------------------


def _procedure(response: APIResponse) -> Procedure:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("definition"), dict):
        raise ServerError("the server sent a malformed procedure", status_code=200)
    try:
        return Procedure.from_dict(body["definition"])
    except (ValueError, TypeError) as exc:
        raise ServerError("the server sent a malformed procedure", status_code=200) from exc


def _history(response: APIResponse) -> tuple[StatusChange, ...]:
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ServerError("the server sent a malformed history", status_code=200)
    return tuple(from_json_dict(StatusChange, item) for item in body["items"])


def _procedures_call(query: str | None, limit: int) -> Call[Page[ProcedureSummary]]:
    params: dict[str, str | int | None] = {"q": query, "limit": check_page_size(limit)}
    return page_call(ProcedureSummary, "/procedures", params)


def _procedure_call(code: str) -> Call[Procedure]:
    return Call(APIRequest(method="GET", path=f"/procedures/{path_segment(code)}"), _procedure)


def _dossiers_call(
    prefix: str, state: DossierState | None, procedure_code: str | None, limit: int
) -> Call[Page[Dossier]]:
    limit = check_page_size(limit)
    params: dict[str, str | int | None] = {
        "state": None if state is None else DossierState(state).value,
        "procedure_code": procedure_code,
        "limit": limit,
    }
    return page_call(Dossier, prefix + "/dossiers", params)


def _create_call(procedure_code: str, key: str | None) -> Call[Dossier]:
    request = APIRequest.write(
        "POST", "/dossiers", json={"procedure_code": procedure_code}, idempotency_key=key
    )
    return model_call(Dossier, request)


def _get_call(dossier_id: str) -> Call[Dossier]:
    return model_call(
        Dossier, APIRequest(method="GET", path=f"/dossiers/{path_segment(dossier_id)}")
    )


def _history_call(dossier_id: str) -> Call[tuple[StatusChange, ...]]:
    request = APIRequest(method="GET", path=f"/dossiers/{path_segment(dossier_id)}/history")
    return Call(request, _history)


def _upload_call(
    dossier_id: str, name: str, content: bytes | Path, media_type: str, key: str | None
) -> Call[AttachmentInfo]:
    if isinstance(content, Path) and not content.is_file():
        raise ValueError(f"{content} is not a file")
    request = APIRequest.write(
        "PUT",
        f"/dossiers/{path_segment(dossier_id)}/attachments/{path_segment(name)}",
        content=content,
        headers={"Content-Type": media_type},
        idempotency_key=key,
    )
    return model_call(AttachmentInfo, request)


def _form_call(
    dossier_id: str, document: bytes, signature: bytes | None, key: str | None
) -> Call[Dossier]:
    body: dict[str, object] = {"document": base64.b64encode(document).decode()}
    if signature is not None:
        body["signature"] = base64.b64encode(signature).decode()
    request = APIRequest.write(
        "PUT", f"/dossiers/{path_segment(dossier_id)}/form", json=body, idempotency_key=key
    )
    return model_call(Dossier, request)


def _action_call(path: str, body: dict[str, object] | None, key: str | None) -> Call[Dossier]:
    return model_call(Dossier, APIRequest.write("POST", path, json=body or {}, idempotency_key=key))


def _pay_call(dossier_id: str, key: str | None) -> Call[Payment]:
    request = APIRequest.write(
        "POST", f"/dossiers/{path_segment(dossier_id)}/payment", json={}, idempotency_key=key
    )
    return model_call(Payment, request)


def _result_call(dossier_id: str) -> Call[bytes]:
    request = APIRequest(method="GET", path=f"/dossiers/{path_segment(dossier_id)}/result")
    return Call(request, lambda response: response.content)


def _signature_call(dossier_id: str) -> Call[bytes]:
    request = APIRequest(
        method="GET", path=f"/dossiers/{path_segment(dossier_id)}/result/signature"
    )
    return Call(request, lambda response: response.content)


def _note(note: str | None) -> dict[str, object]:
    return {} if note is None else {"note": note}


# --- sync resources --------------------------------------------------------------------------


class Procedures(Resource[SyncHTTP]):
    """The procedure catalogue: ``portal.procedures``."""

    def list(self, *, query: str | None = None, page_size: int = 20) -> Iterator[ProcedureSummary]:
        """Every procedure (matching ``query``), fetched page by page as you iterate."""
        return self._http.paginate(_procedures_call(query, page_size))

    def get(self, code: str) -> Procedure:
        """The full definition of procedure ``code``."""
        return self._http.send(_procedure_call(code))


class Dossiers(Resource[SyncHTTP]):
    """The citizen's dossiers: ``portal.dossiers``."""

    def create(self, *, procedure_code: str, idempotency_key: str | None = None) -> Dossier:
        """Create a draft dossier for ``procedure_code``."""
        return self._http.send(_create_call(procedure_code, idempotency_key))

    def get(self, dossier_id: str) -> Dossier:
        """The dossier ``dossier_id``."""
        return self._http.send(_get_call(dossier_id))

    def list(
        self,
        *,
        state: DossierState | None = None,
        procedure_code: str | None = None,
        page_size: int = 20,
    ) -> Iterator[Dossier]:
        """The caller's dossiers, oldest first, fetched page by page as you iterate."""
        call = _dossiers_call("", state, procedure_code, page_size)
        return self._http.paginate(call)

    def history(self, dossier_id: str) -> tuple[StatusChange, ...]:
        """Every status change of the dossier, oldest first."""
        return self._http.send(_history_call(dossier_id))

    def upload_attachment(
        self,
        dossier_id: str,
        *,
        name: str,
        content: bytes | Path,
        media_type: str = "application/octet-stream",
        idempotency_key: str | None = None,
    ) -> AttachmentInfo:
        """Upload a document; a :class:`~pathlib.Path` is streamed from disk."""
        call = _upload_call(dossier_id, name, content, media_type, idempotency_key)
        return self._http.send(call)

    def attach_form(
        self,
        dossier_id: str,
        *,
        document: bytes,
        signature: bytes | None = None,
        idempotency_key: str | None = None,
    ) -> Dossier:
        """Attach the signed form: a signed PDF, or a document and its detached CMS.

        The portal verifies it; a refusal raises :class:`~huesign.errors.ConflictError`
        whose ``problem["verdict"]`` says why.
        """
        return self._http.send(_form_call(dossier_id, document, signature, idempotency_key))

    def submit(self, dossier_id: str, *, idempotency_key: str | None = None) -> Dossier:
        """Submit the dossier to the agency."""
        path = f"/dossiers/{path_segment(dossier_id)}/submit"
        return self._http.send(_action_call(path, None, idempotency_key))

    def cancel(self, dossier_id: str, *, idempotency_key: str | None = None) -> Dossier:
        """Withdraw the dossier (draft, submitted or waiting for a supplement)."""
        path = f"/dossiers/{path_segment(dossier_id)}/cancel"
        return self._http.send(_action_call(path, None, idempotency_key))

    def pay(self, dossier_id: str, *, idempotency_key: str | None = None) -> Payment:
        """Create the wallet payment of the dossier's fee (confirm it with the wallet)."""
        return self._http.send(_pay_call(dossier_id, idempotency_key))

    def download_result(self, dossier_id: str) -> DossierResult:
        """The agency's signed result (its detached signature too, when there is one)."""
        document = self._http.send(_result_call(dossier_id))
        try:
            signature: bytes | None = self._http.send(_signature_call(dossier_id))
        except NotFoundError:
            signature = None
        return DossierResult(document=document, signature=signature)


class AgencyDossiers(Resource[SyncHTTP]):
    """The agency officer's side: ``portal.agency``."""

    def list(self, *, state: DossierState | None = None, page_size: int = 20) -> Iterator[Dossier]:
        """Every dossier (in ``state``), fetched page by page as you iterate."""
        return self._http.paginate(_dossiers_call("/agency", state, None, page_size))

    def _act(
        self, dossier_id: str, action: str, body: dict[str, object], key: str | None
    ) -> Dossier:
        path = f"/agency/dossiers/{path_segment(dossier_id)}/{action}"
        return self._http.send(_action_call(path, body, key))

    def receive(self, dossier_id: str, *, idempotency_key: str | None = None) -> Dossier:
        """Accept a submitted dossier (its fee must be paid); sets the appointment date."""
        return self._act(dossier_id, "receive", {}, idempotency_key)

    def process(self, dossier_id: str, *, idempotency_key: str | None = None) -> Dossier:
        """Start processing a received dossier."""
        return self._act(dossier_id, "process", {}, idempotency_key)

    def request_supplement(
        self, dossier_id: str, *, note: str, idempotency_key: str | None = None
    ) -> Dossier:
        """Send the dossier back to the citizen, saying what is missing."""
        return self._act(dossier_id, "request-supplement", _note(note), idempotency_key)

    def reject(self, dossier_id: str, *, note: str, idempotency_key: str | None = None) -> Dossier:
        """Refuse the dossier, saying why."""
        return self._act(dossier_id, "reject", _note(note), idempotency_key)

    def issue_result(
        self, dossier_id: str, *, note: str | None = None, idempotency_key: str | None = None
    ) -> Dossier:
        """Issue the agency-signed result of a dossier being processed."""
        return self._act(dossier_id, "result", _note(note), idempotency_key)


# --- async resources -------------------------------------------------------------------------


class AsyncProcedures(Resource[AsyncHTTP]):
    """The procedure catalogue: ``portal.procedures`` (async)."""

    def list(
        self, *, query: str | None = None, page_size: int = 20
    ) -> AsyncIterator[ProcedureSummary]:
        """Every procedure (matching ``query``), fetched page by page as you iterate."""
        return self._http.paginate(_procedures_call(query, page_size))

    async def get(self, code: str) -> Procedure:
        """The full definition of procedure ``code``."""
        return await self._http.send(_procedure_call(code))


class AsyncDossiers(Resource[AsyncHTTP]):
    """The citizen's dossiers: ``portal.dossiers`` (async)."""

    async def create(self, *, procedure_code: str, idempotency_key: str | None = None) -> Dossier:
        """Create a draft dossier for ``procedure_code``."""
        return await self._http.send(_create_call(procedure_code, idempotency_key))

    async def get(self, dossier_id: str) -> Dossier:
        """The dossier ``dossier_id``."""
        return await self._http.send(_get_call(dossier_id))

    def list(
        self,
        *,
        state: DossierState | None = None,
        procedure_code: str | None = None,
        page_size: int = 20,
    ) -> AsyncIterator[Dossier]:
        """The caller's dossiers, oldest first, fetched page by page as you iterate."""
        call = _dossiers_call("", state, procedure_code, page_size)
        return self._http.paginate(call)

    async def history(self, dossier_id: str) -> tuple[StatusChange, ...]:
        """Every status change of the dossier, oldest first."""
        return await self._http.send(_history_call(dossier_id))

    async def upload_attachment(
        self,
        dossier_id: str,
        *,
        name: str,
        content: bytes | Path,
        media_type: str = "application/octet-stream",
        idempotency_key: str | None = None,
    ) -> AttachmentInfo:
        """Upload a document; a :class:`~pathlib.Path` is streamed from disk."""
        call = _upload_call(dossier_id, name, content, media_type, idempotency_key)
        return await self._http.send(call)

    async def attach_form(
        self,
        dossier_id: str,
        *,
        document: bytes,
        signature: bytes | None = None,
        idempotency_key: str | None = None,
    ) -> Dossier:
        """Attach the signed form: a signed PDF, or a document and its detached CMS."""
        return await self._http.send(_form_call(dossier_id, document, signature, idempotency_key))

    async def submit(self, dossier_id: str, *, idempotency_key: str | None = None) -> Dossier:
        """Submit the dossier to the agency."""
        path = f"/dossiers/{path_segment(dossier_id)}/submit"
        return await self._http.send(_action_call(path, None, idempotency_key))

    async def cancel(self, dossier_id: str, *, idempotency_key: str | None = None) -> Dossier:
        """Withdraw the dossier (draft, submitted or waiting for a supplement)."""
        path = f"/dossiers/{path_segment(dossier_id)}/cancel"
        return await self._http.send(_action_call(path, None, idempotency_key))

    async def pay(self, dossier_id: str, *, idempotency_key: str | None = None) -> Payment:
        """Create the wallet payment of the dossier's fee (confirm it with the wallet)."""
        return await self._http.send(_pay_call(dossier_id, idempotency_key))

    async def download_result(self, dossier_id: str) -> DossierResult:
        """The agency's signed result (its detached signature too, when there is one)."""
        document = await self._http.send(_result_call(dossier_id))
        try:
            signature: bytes | None = await self._http.send(_signature_call(dossier_id))
        except NotFoundError:
            signature = None
        return DossierResult(document=document, signature=signature)


class AsyncAgencyDossiers(Resource[AsyncHTTP]):
    """The agency officer's side: ``portal.agency`` (async)."""

    def list(
        self, *, state: DossierState | None = None, page_size: int = 20
    ) -> AsyncIterator[Dossier]:
        """Every dossier (in ``state``), fetched page by page as you iterate."""
        return self._http.paginate(_dossiers_call("/agency", state, None, page_size))

    async def _act(
        self, dossier_id: str, action: str, body: dict[str, object], key: str | None
    ) -> Dossier:
        path = f"/agency/dossiers/{path_segment(dossier_id)}/{action}"
        return await self._http.send(_action_call(path, body, key))

    async def receive(self, dossier_id: str, *, idempotency_key: str | None = None) -> Dossier:
        """Accept a submitted dossier (its fee must be paid); sets the appointment date."""
        return await self._act(dossier_id, "receive", {}, idempotency_key)

    async def process(self, dossier_id: str, *, idempotency_key: str | None = None) -> Dossier:
        """Start processing a received dossier."""
        return await self._act(dossier_id, "process", {}, idempotency_key)

    async def request_supplement(
        self, dossier_id: str, *, note: str, idempotency_key: str | None = None
    ) -> Dossier:
        """Send the dossier back to the citizen, saying what is missing."""
        return await self._act(dossier_id, "request-supplement", _note(note), idempotency_key)

    async def reject(
        self, dossier_id: str, *, note: str, idempotency_key: str | None = None
    ) -> Dossier:
        """Refuse the dossier, saying why."""
        return await self._act(dossier_id, "reject", _note(note), idempotency_key)

    async def issue_result(
        self, dossier_id: str, *, note: str | None = None, idempotency_key: str | None = None
    ) -> Dossier:
        """Issue the agency-signed result of a dossier being processed."""
        return await self._act(dossier_id, "result", _note(note), idempotency_key)


# --- clients ---------------------------------------------------------------------------------


class _Portal(ClientShell[HTTPT, TransportT]):
    """The constructor and options of both portal clients."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        transport: TransportT | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Open a connection pool to ``base_url``."""
        auth = None if token is None else BearerToken(token)
        self._connect(base_url, auth, timeout, max_retries, transport, headers)

    def with_options(
        self,
        *,
        token: str | object | None = UNSET,
        timeout: float | object = UNSET,
        max_retries: int | object = UNSET,
        headers: dict[str, str] | object = UNSET,
    ) -> Self:
        """A client with some options changed, sharing this one's connection pool."""
        options = changed_options(
            self.options, timeout=timeout, max_retries=max_retries, headers=headers
        )
        if token is not UNSET:
            options = attrs.evolve(options, auth=None if token is None else BearerToken(str(token)))
        return self._with_options(options)


class PortalClient(_Portal[SyncHTTP, httpx.BaseTransport], SyncClientShell):
    """A blocking client of the portal API.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/portal/v1``.
        token: the OAuth2 bearer token of a citizen or an officer.
        timeout: seconds for each attempt.
        max_retries: retries of a failed attempt (writes keep their idempotency key).
        transport: an ``httpx.BaseTransport`` (tests).
        headers: extra headers on every request.
    """

    def _bind(self, http: SyncHTTP) -> None:
        super()._bind(http)
        self.procedures = Procedures(http)
        self.dossiers = Dossiers(http)
        self.agency = AgencyDossiers(http)


class AsyncPortalClient(_Portal[AsyncHTTP, httpx.AsyncBaseTransport], AsyncClientShell):
    """An asyncio client of the portal API (same arguments as :class:`PortalClient`)."""

    def _bind(self, http: AsyncHTTP) -> None:
        super()._bind(http)
        self.procedures = AsyncProcedures(http)
        self.dossiers = AsyncDossiers(http)
        self.agency = AsyncAgencyDossiers(http)
