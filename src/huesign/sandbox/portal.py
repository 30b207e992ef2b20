"""The sandbox portal: procedures, citizens' dossiers and the agency's side of them.

Routes (under ``/portal/v1``, see ``docs/api/portal.yaml``).  Citizens (bearer token):
procedures (list, search, get), dossiers (create draft, upload attachment, attach the signed
form, submit, get, list with filters and pagination, history, cancel, pay, download the
result).  Agency officers (bearer token): list, receive, start processing, request a
supplement, reject, issue the result.

Every signed form is verified with :mod:`huesign.pki` against the development CA's trust (and
its CRLs, offline) before it is accepted; an unsigned, tampered or wrongly-signed form is
refused with a problem that says why.  The form's data (the submission a PAdES form embeds,
or a JSON submission under a detached signature) must validate against the dossier's
procedure, and the dossier's fee is computed from it when the form is attached.  Dossiers are
listed oldest first: by creation time, then by id (ids sort in creation order).  The
agency's result is a PDF signed with the development CA's agency seal.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from huesign.client.models import (
    AttachmentInfo,
    DossierState,
    StatusChange,
    to_json_dict,
)
from huesign.forms.catalogue import Catalogue
from huesign.sandbox._common import (
    Problem,
    Role,
    SandboxState,
    authenticate,
    idempotent,
    iso,
    page_body,
    page_params,
    parse_json_object,
    read_body,
)
from huesign.sandbox._dossiers import (
    COLUMNS,
    MAX_NOTE,
    advance_dossiers,
    as_bytes,
    check_signed_form,
    form_passed,
    issue_result,
    load_dossier,
    load_row,
    move,
    require,
    step,
    summary,
    verify_signed_form,
)
from huesign.sandbox.store import Transaction
from huesign.sandbox.wallet import create_payment

__all__ = ["advance_dossiers", "portal_routes", "verify_signed_form"]

_MAX_NAME = 100
_CANCELLABLE = {DossierState.DRAFT, DossierState.SUBMITTED, DossierState.SUPPLEMENT_REQUESTED}
_SUBMITTABLE = {DossierState.DRAFT, DossierState.SUPPLEMENT_REQUESTED}


# --- routes ----------------------------------------------------------------------------------


def _text(data: dict[str, object], name: str, limit: int, *, required: bool = False) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Problem(
            422,
            "Invalid request",
            f"{name} must be a string of 1 to {limit} characters",
            code="invalid_field",
            extra={"field": name},
        )
    return value


def _b64(data: dict[str, object], name: str, *, required: bool) -> bytes | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Problem(
            422,
            "Invalid request",
            f"{name} must be base64 text",
            code="invalid_field",
            extra={"field": name},
        )
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Problem(
            422,
            "Invalid request",
            f"{name} is not valid base64",
            code="invalid_field",
            extra={"field": name},
        ) from exc
    if not decoded:
        raise Problem(
            422, "Invalid request", f"{name} is empty", code="invalid_field", extra={"field": name}
        )
    return decoded


def _attachment_name(name: str) -> str:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    if not 1 <= len(name) <= _MAX_NAME or not set(name) <= allowed or name.startswith("."):
        raise Problem(
            422,
            "Invalid request",
            "an attachment name is 1-100 letters, digits, '.', '_' or '-'",
            code="invalid_field",
            extra={"field": "name"},
        )
    return name


def portal_routes(state: SandboxState, catalogue: Catalogue) -> list[Route]:
    """The portal's routes, to mount under ``/portal/v1``."""

    async def list_procedures(request: Request) -> Response:
        authenticate(state, request, "citizen", "officer")
        limit, offset = page_params(request)
        query = request.query_params.get("q", "")
        if len(query) > 200:
            raise Problem(400, "Bad Request", "q is too long", code="bad_query")
        found = list(catalogue.search(query, limit=1000)) if query.strip() else list(catalogue)
        chunk = found[offset : offset + limit]
        items: list[object] = [to_json_dict(summary(p)) for p in chunk]
        return JSONResponse(
            page_body(items, limit=limit, offset=offset, more=offset + limit < len(found))
        )

    async def get_procedure(request: Request) -> Response:
        authenticate(state, request, "citizen", "officer")
        procedure = catalogue.get(request.path_params["code"])
        if procedure is None:
            raise Problem(404, "Not Found", "no such procedure", code="procedure_not_found")
        return JSONResponse(
            {"summary": to_json_dict(summary(procedure)), "definition": procedure.to_dict()}
        )

    async def create_dossier(request: Request) -> Response:
        principal = authenticate(state, request, "citizen")
        body = await read_body(request)
        data = parse_json_object(body)
        code = _text(data, "procedure_code", 20, required=True)
        procedure = catalogue.get(code)
        if procedure is None:
            raise Problem(
                422,
                "Unknown procedure",
                f"no procedure {code!r} in the catalogue",
                code="procedure_not_found",
                extra={"field": "procedure_code"},
            )

        def run(tx: Transaction) -> tuple[int, object]:
            now = state.now()
            count = tx.one("SELECT COUNT(*) FROM dossiers")
            number = int(str(count[0] if count else 0)) + 1
            # Ids sort in creation order (the list's tie-break for one created_at second).
            dossier_id = f"dos_{number:010d}{uuid.uuid4().hex[:16]}"
            tx.execute(
                f"INSERT INTO dossiers ({COLUMNS})"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, NULL, '')",
                (
                    dossier_id,
                    f"H46.{now:%y%m%d}.{number:06d}",
                    principal.subject,
                    code,
                    DossierState.DRAFT.value,
                    procedure.fee_for({}),
                    iso(now),
                    iso(now),
                ),
            )
            move(state, tx, dossier_id, DossierState.DRAFT, actor=principal.name)
            return 201, to_json_dict(load_dossier(tx, load_row(tx, dossier_id, principal)))

        return idempotent(state, request, principal, (body,), run)

    async def get_dossier(request: Request) -> Response:
        principal = authenticate(state, request, "citizen", "officer")
        with state.store.transaction() as tx:
            dossier = load_dossier(tx, load_row(tx, request.path_params["dossier_id"], principal))
        return JSONResponse(to_json_dict(dossier))

    async def list_dossiers(request: Request) -> Response:
        principal = authenticate(state, request, "citizen", "officer")
        limit, offset = page_params(request)
        where: list[str] = []
        params: list[object] = []
        if principal.role == "citizen":
            where.append("owner = ?")
            params.append(principal.subject)
        wanted = request.query_params.get("state")
        if wanted is not None:
            if wanted not in {s.value for s in DossierState}:
                raise Problem(400, "Bad Request", "unknown state", code="bad_filter")
            where.append("state = ?")
            params.append(wanted)
        code = request.query_params.get("procedure_code")
        if code is not None:
            where.append("procedure_code = ?")
            params.append(code[:20])
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with state.store.transaction() as tx:
            rows = tx.all(
                f"SELECT {COLUMNS} FROM dossiers{clause}"  # noqa: S608
                " ORDER BY created_at, id LIMIT ? OFFSET ?",
                (*params, limit + 1, offset),
            )
            items: list[object] = [to_json_dict(load_dossier(tx, r)) for r in rows[:limit]]
        return JSONResponse(page_body(items, limit=limit, offset=offset, more=len(rows) > limit))

    async def history(request: Request) -> Response:
        principal = authenticate(state, request, "citizen", "officer")
        dossier_id = request.path_params["dossier_id"]
        with state.store.transaction() as tx:
            load_row(tx, dossier_id, principal)
            rows = tx.all(
                "SELECT state, at, actor, note FROM history WHERE dossier_id = ? ORDER BY seq",
                (dossier_id,),
            )
        items = [
            to_json_dict(
                StatusChange(
                    state=DossierState(str(r[0])),
                    at=dt.datetime.fromisoformat(str(r[1])),
                    actor=str(r[2]),
                    note=str(r[3]),
                )
            )
            for r in rows
        ]
        return JSONResponse({"items": items})

    async def upload_attachment(request: Request) -> Response:
        principal = authenticate(state, request, "citizen")
        dossier_id = request.path_params["dossier_id"]
        name = _attachment_name(request.path_params["name"])
        media_type = request.headers.get("content-type", "application/octet-stream")[:100]
        limit = state.max_upload_size
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise Problem(413, "Content Too Large", f"at most {limit} bytes", code="too_large")
        digest = hashlib.sha256()
        size = 0
        with tempfile.TemporaryFile() as spool:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Problem(
                        413, "Content Too Large", f"at most {limit} bytes", code="too_large"
                    )
                digest.update(chunk)
                await run_in_threadpool(spool.write, chunk)
            if size == 0:
                raise Problem(
                    422, "Invalid request", "the attachment is empty", code="empty_attachment"
                )
            spool.seek(0, os.SEEK_SET)
            content = await run_in_threadpool(spool.read)
        sha = digest.hexdigest()

        def run(tx: Transaction) -> tuple[int, object]:
            row = load_row(tx, dossier_id, principal)
            require(row, _SUBMITTABLE, "changed")
            tx.execute(
                "DELETE FROM documents WHERE dossier_id = ? AND name = ?", (dossier_id, name)
            )
            tx.execute(
                "INSERT INTO documents (dossier_id, name, kind, media_type, size, sha256,"
                " content, extra, created_at) VALUES (?, ?, 'attachment', ?, ?, ?, ?, NULL, ?)",
                (dossier_id, name, media_type, size, sha, content, iso(state.now())),
            )
            info = AttachmentInfo(name=name, media_type=media_type, size=size, sha256=sha)
            return 201, to_json_dict(info)

        return idempotent(state, request, principal, (name.encode(), sha.encode()), run)

    async def attach_form(request: Request) -> Response:
        principal = authenticate(state, request, "citizen")
        dossier_id = request.path_params["dossier_id"]
        body = await read_body(request, limit=state.max_upload_size * 4 // 3 + 4096)
        data = parse_json_object(body)
        document = _b64(data, "document", required=True) or b""
        signature = _b64(data, "signature", required=False)
        with state.store.transaction() as tx:
            current = load_row(tx, dossier_id, principal)
            require(current, _SUBMITTABLE, "changed")
        procedure = catalogue.get(str(current[3]))
        if procedure is None:
            raise Problem(
                409,
                "Unknown procedure",
                f"procedure {current[3]} is no longer in the catalogue",
                code="procedure_not_found",
            )
        check = await run_in_threadpool(check_signed_form, state, procedure, document, signature)
        verdict = check.verdict
        if not verdict.passed:
            raise Problem(
                422,
                "Signature not accepted",
                verdict.message_en or "the signed form did not pass validation",
                code="signature_invalid",
                extra={"verdict": to_json_dict(verdict)},
            )
        if check.problems or check.fee is None:
            reasons = list(check.problems) or ["the form's data was not accepted"]
            raise Problem(
                422,
                "Form data not accepted",
                "; ".join(reasons)[:MAX_NOTE],
                code="form_data_invalid",
                extra={"verdict": to_json_dict(verdict), "reasons": reasons[:50]},
            )
        fee = check.fee

        def run(tx: Transaction) -> tuple[int, object]:
            row = load_row(tx, dossier_id, principal)
            require(row, _SUBMITTABLE, "changed")
            if bool(row[6]) and int(str(row[5])) != fee:
                raise Problem(
                    409,
                    "Fee already paid",
                    f"the fee of {row[5]} VND is paid; this form's fee would be {fee} VND",
                    code="fee_paid",
                )
            tx.execute(
                "DELETE FROM documents WHERE dossier_id = ? AND name = 'form'", (dossier_id,)
            )
            tx.execute(
                "INSERT INTO documents (dossier_id, name, kind, media_type, size, sha256,"
                " content, extra, created_at) VALUES (?, 'form', 'form', 'application/pdf',"
                " ?, ?, ?, ?, ?)",
                (
                    dossier_id,
                    len(document),
                    hashlib.sha256(document).hexdigest(),
                    document,
                    signature,
                    iso(state.now()),
                ),
            )
            tx.execute(
                "UPDATE dossiers SET form_verdict = ?, fee = ?, updated_at = ? WHERE id = ?",
                (json.dumps(to_json_dict(verdict)), fee, iso(state.now()), dossier_id),
            )
            return 200, to_json_dict(load_dossier(tx, load_row(tx, dossier_id, principal)))

        return idempotent(state, request, principal, (body,), run)

    def transition(
        roles: tuple[Role, ...],
        allowed: set[DossierState],
        to: DossierState,
        action: str,
        *,
        needs_note: bool = False,
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            principal = authenticate(state, request, *roles)
            dossier_id = request.path_params["dossier_id"]
            body = await read_body(request)
            data = parse_json_object(body)
            note = _text(data, "note", MAX_NOTE, required=needs_note)

            def run(tx: Transaction) -> tuple[int, object]:
                row = load_row(tx, dossier_id, principal)
                require(row, allowed, action)
                if to is DossierState.SUBMITTED and not form_passed(row):
                    raise Problem(
                        409,
                        "No signed form",
                        "attach a valid signed form before submitting",
                        code="form_missing",
                    )
                if to is DossierState.RESULT_READY:
                    issue_result(state, catalogue, tx, row, actor=principal.name, note=note)
                elif to is DossierState.RECEIVED:
                    if not step(state, catalogue, tx, row, actor=principal.name):
                        raise Problem(
                            409, "Fee not paid", "the dossier's fee is not paid", code="fee_unpaid"
                        )
                else:
                    move(state, tx, dossier_id, to, actor=principal.name, note=note)
                return 200, to_json_dict(load_dossier(tx, load_row(tx, dossier_id, principal)))

            return idempotent(state, request, principal, (body,), run)

        return handler

    async def create_payment_route(request: Request) -> Response:
        principal = authenticate(state, request, "citizen")
        dossier_id = request.path_params["dossier_id"]
        await read_body(request)

        def run(tx: Transaction) -> tuple[int, object]:
            row = load_row(tx, dossier_id, principal)
            if DossierState(str(row[4])) in {DossierState.CANCELLED, DossierState.REJECTED}:
                raise Problem(409, "Wrong state", "this dossier is closed", code="wrong_state")
            payment = create_payment(
                state,
                tx,
                dossier_id=dossier_id,
                amount=None,
                description=f"Lệ phí hồ sơ {row[1]}",
                notify_url=None,
            )
            return 201, to_json_dict(payment)

        return idempotent(state, request, principal, (dossier_id.encode(),), run)

    async def result(request: Request) -> Response:
        principal = authenticate(state, request, "citizen", "officer")
        dossier_id = request.path_params["dossier_id"]
        with state.store.transaction() as tx:
            load_row(tx, dossier_id, principal)
            row = tx.one(
                "SELECT content, extra FROM documents WHERE dossier_id = ? AND name = 'result'",
                (dossier_id,),
            )
        if row is None:
            raise Problem(404, "Not Found", "the result is not ready", code="result_not_ready")
        part = request.path_params.get("part", "")
        if part == "signature":
            if row[1] is None:
                raise Problem(
                    404,
                    "Not Found",
                    "the result's signature is embedded",
                    code="signature_embedded",
                )
            return Response(as_bytes(row[1]), media_type="application/pkcs7-signature")
        return Response(as_bytes(row[0]), media_type="application/pdf")

    def with_part(part: str) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            request.path_params["part"] = part
            return await result(request)

        return handler

    submit = transition(("citizen",), _SUBMITTABLE, DossierState.SUBMITTED, "submitted")
    cancel = transition(("citizen",), _CANCELLABLE, DossierState.CANCELLED, "cancelled")
    receive = transition(("officer",), {DossierState.SUBMITTED}, DossierState.RECEIVED, "received")
    process = transition(
        ("officer",), {DossierState.RECEIVED}, DossierState.PROCESSING, "processed"
    )
    supplement = transition(
        ("officer",),
        {DossierState.RECEIVED, DossierState.PROCESSING},
        DossierState.SUPPLEMENT_REQUESTED,
        "sent back for a supplement",
        needs_note=True,
    )
    reject = transition(
        ("officer",),
        {DossierState.SUBMITTED, DossierState.RECEIVED, DossierState.PROCESSING},
        DossierState.REJECTED,
        "rejected",
        needs_note=True,
    )
    issue = transition(
        ("officer",), {DossierState.PROCESSING}, DossierState.RESULT_READY, "given a result"
    )
    d = "/dossiers/{dossier_id}"
    a = "/agency/dossiers/{dossier_id}"
    return [
        Route("/procedures", list_procedures, methods=["GET"]),
        Route("/procedures/{code}", get_procedure, methods=["GET"]),
        Route("/dossiers", create_dossier, methods=["POST"]),
        Route("/dossiers", list_dossiers, methods=["GET"]),
        Route(d, get_dossier, methods=["GET"]),
        Route(d + "/history", history, methods=["GET"]),
        Route(d + "/attachments/{name}", upload_attachment, methods=["PUT"]),
        Route(d + "/form", attach_form, methods=["PUT"]),
        Route(d + "/submit", submit, methods=["POST"]),
        Route(d + "/cancel", cancel, methods=["POST"]),
        Route(d + "/payment", create_payment_route, methods=["POST"]),
        Route(d + "/result", with_part("document"), methods=["GET"]),
        Route(d + "/result/signature", with_part("signature"), methods=["GET"]),
        Route("/agency/dossiers", list_dossiers, methods=["GET"]),
        Route(a + "/receive", receive, methods=["POST"]),
        Route(a + "/process", process, methods=["POST"]),
        Route(a + "/request-supplement", supplement, methods=["POST"]),
        Route(a + "/reject", reject, methods=["POST"]),
        Route(a + "/result", issue, methods=["POST"]),
    ]
