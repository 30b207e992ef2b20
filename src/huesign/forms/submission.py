"""Submissions: the values an applicant fills in for a procedure, and their validation.

:meth:`Submission.validate` checks every value against the procedure's fields, collects every
problem (with its path, a machine code and messages in Vietnamese and English) and returns the
normalised submission: text trimmed and in Unicode NFC, phone numbers in E.164, dates in ISO
form, tax codes in their written form.  Its canonical JSON (RFC 8785) and SHA-256 are what a
dossier signature covers.

>>> from huesign.forms.fields import PhoneField, TextField
>>> from huesign.forms.procedure import Procedure, ProcedureLevel, ProcessingTime
>>> proc = Procedure(code="9.000001", version="1", name_vi="Thử", domain="Thử",
...                  level=ProcedureLevel.COMMUNAL, agency="UBND",
...                  processing_time=ProcessingTime(days=1),
...                  fields=(TextField(name="name", required=True), PhoneField(name="phone")))
>>> sub = Submission.for_procedure(proc, {"name": "  Nguyễn  Văn An ", "phone": "0905 123 456"})
>>> sub.validate(proc).values
{'name': 'Nguyễn Văn An', 'phone': '+84905123456'}
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping

import attrs

from huesign.errors import FieldError, FormError, FormValidationError
from huesign.forms._checks import AttachmentInfo, Context, check_fields
from huesign.forms._messages import field_error
from huesign.forms.canonical import canonical_json, canonical_sha256
from huesign.forms.procedure import Procedure
from huesign.forms.units import UnitsSource, builtin_units

__all__ = ["VIETNAM_TZ", "Attachment", "Submission"]

#: Vietnam's time zone (UTC+7, no daylight saving); "today" in validation is today here.
VIETNAM_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_MAX_JSON_BYTES = 4 * 1024 * 1024
_MAX_DEPTH = 16
_ATTACHMENT_KEYS = frozenset({"id", "document_type", "file_name", "media_type", "size", "sha256"})


def _copy(value: object, depth: int = 0) -> object:
    if depth > _MAX_DEPTH:
        raise ValueError("submitted values are nested too deeply")
    if isinstance(value, Mapping):
        return {str(k): _copy(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v, depth + 1) for v in value]
    return value


def _values(values: Mapping[str, object]) -> dict[str, object]:
    if not isinstance(values, Mapping):
        raise TypeError("values must be a mapping of field names to values")
    return {str(k): _copy(v, 1) for k, v in values.items()}


def _mapping(value: object) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise TypeError("expected a JSON object")
    return value


def _lower(value: str) -> str:
    return str(value).lower()


def _attachments(items: Iterable[Attachment]) -> tuple[Attachment, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class Attachment:
    """A file attached to a submission, described by its metadata (the bytes travel apart).

    Attributes:
        id: the id that attachment fields refer to.
        document_type: which required document this is, e.g. ``birth_certificate``.
        file_name: the file's name.
        media_type: e.g. ``application/pdf``.
        size: the size in bytes.
        sha256: the SHA-256 of the content, lower-case hex.
    """

    id: str = attrs.field()
    document_type: str
    file_name: str
    media_type: str
    size: int = attrs.field()
    sha256: str = attrs.field(converter=_lower)

    @id.validator
    def _check_id(self, _attr: object, value: str) -> None:
        if not _ID_RE.match(value):
            raise ValueError("attachment ids are 1-64 letters, digits, '_', '.', '-'")

    @size.validator
    def _check_size(self, _attr: object, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError("size must be a non-negative whole number")

    @sha256.validator
    def _check_sha256(self, _attr: object, value: str) -> None:
        if not _SHA256_RE.match(value):
            raise ValueError("sha256 must be 64 hex digits")

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Attachment:
        """Read the metadata that :meth:`to_dict` gives.

        Raises:
            KeyError: a key is missing.
            TypeError: the size is not a whole number.
            ValueError: an unknown key, or a value :class:`Attachment` refuses.
        """
        unknown = set(data) - _ATTACHMENT_KEYS
        if unknown:
            raise ValueError(f"unknown attachment keys: {sorted(unknown)}")
        size = data["size"]
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError("size must be a whole number")
        return cls(
            id=str(data["id"]),
            document_type=str(data["document_type"]),
            file_name=str(data["file_name"]),
            media_type=str(data["media_type"]),
            size=size,
            sha256=str(data["sha256"]),
        )

    def to_dict(self) -> dict[str, object]:
        """The metadata as JSON-ready data."""
        return {
            "id": self.id,
            "document_type": self.document_type,
            "file_name": self.file_name,
            "media_type": self.media_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@attrs.frozen(kw_only=True)
class Submission:
    """An applicant's values for one version of a procedure, with attachment metadata.

    ``values`` is a private deep copy of what was given (mappings become dicts, sequences
    lists); build a changed submission with :func:`attrs.evolve`.

    Attributes:
        procedure_code: the procedure's code, e.g. ``1.001193``.
        procedure_version: the version of the procedure definition.
        values: field name -> value; groups are nested mappings, repeating groups lists.
        attachments: the attached files' metadata.
    """

    procedure_code: str
    procedure_version: str
    values: dict[str, object] = attrs.field(converter=_values, hash=False)
    attachments: tuple[Attachment, ...] = attrs.field(default=(), converter=_attachments)

    @attachments.validator
    def _check_attachments(self, _attr: object, value: tuple[Attachment, ...]) -> None:
        ids = [a.id for a in value]
        if len(set(ids)) != len(ids):
            raise ValueError("attachment ids must be unique")

    @classmethod
    def for_procedure(
        cls,
        procedure: Procedure,
        values: Mapping[str, object],
        *,
        attachments: Iterable[Attachment] = (),
    ) -> Submission:
        """A submission of ``values`` for ``procedure`` (not validated yet)."""
        return cls(
            procedure_code=procedure.code,
            procedure_version=procedure.version,
            values=values,
            attachments=tuple(attachments),
        )

    # -- validation -------------------------------------------------------------------------

    def _run(
        self, procedure: Procedure, units: UnitsSource | None, today: dt.date | None
    ) -> tuple[dict[str, object], list[FieldError]]:
        ctx = Context(
            units=units if units is not None else builtin_units(),
            today=today if today is not None else dt.datetime.now(VIETNAM_TZ).date(),
            attachments={
                a.id: AttachmentInfo(
                    document_type=a.document_type, media_type=a.media_type, size=a.size
                )
                for a in self.attachments
            },
        )
        errors: list[FieldError] = []
        if self.procedure_code != procedure.code:
            errors.append(field_error("procedure_code", "wrong_procedure"))
        values, found = check_fields(procedure.fields, self.values, ctx)
        errors += found
        present = {a.document_type for a in self.attachments}
        for doc in procedure.documents:
            if not doc.required or doc.document_type is None or doc.document_type in present:
                continue
            if doc.when is None or doc.when.holds(values.get(doc.when.field)):
                errors.append(
                    field_error(
                        f"documents.{doc.document_type}",
                        "missing_document",
                        expected=doc.document_type,
                    )
                )
        return values, errors

    def errors(
        self,
        procedure: Procedure,
        *,
        units: UnitsSource | None = None,
        today: dt.date | None = None,
    ) -> tuple[FieldError, ...]:
        """Every problem of this submission against ``procedure`` (empty when valid).

        Args:
            procedure: the procedure the submission is for.
            units: where administrative units are looked up (default: the shipped table).
            today: the day for "not in the future" and age rules (default: today in Vietnam).
        """
        return tuple(self._run(procedure, units, today)[1])

    def validate(
        self,
        procedure: Procedure,
        *,
        units: UnitsSource | None = None,
        today: dt.date | None = None,
    ) -> Submission:
        """Check every value and return the normalised submission.

        Values of fields hidden by their ``shown_when`` condition are dropped.

        Raises:
            FormValidationError: with every field error, when any rule is broken.
        """
        values, errors = self._run(procedure, units, today)
        if errors:
            raise FormValidationError(errors)
        return attrs.evolve(self, values=values)

    # -- wire forms -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """The submission as JSON-ready data."""
        return {
            "procedure": {"code": self.procedure_code, "version": self.procedure_version},
            "values": _values(self.values),
            "attachments": [a.to_dict() for a in self.attachments],
        }

    def to_json(self) -> str:
        """The submission as JSON text (keys in a stable order, UTF-8 text kept as is).

        Raises:
            FormError: a value has no JSON form (validate first to normalise dates).
        """
        try:
            return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise FormError(f"submission is not JSON-ready: {exc}") from exc

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Submission:
        """Read a submission from the data :meth:`to_dict` gives.

        Raises:
            FormError: the data is not a submission.
        """
        try:
            proc = _mapping(data["procedure"])
            values = _mapping(data.get("values", {}))
            raw_attachments = data.get("attachments", [])
            if not isinstance(raw_attachments, list):
                raise TypeError("attachments must be a list")
            attachments = [Attachment.from_dict(_mapping(item)) for item in raw_attachments]
            return cls(
                procedure_code=str(proc["code"]),
                procedure_version=str(proc["version"]),
                values=values,
                attachments=attachments,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FormError(f"not a submission: {type(exc).__name__}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> Submission:
        """Read a submission from JSON text.

        Raises:
            FormError: the text is not JSON or not a submission.
        """
        if len(text) > _MAX_JSON_BYTES:
            raise FormError("submission is too large")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise FormError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise FormError("a submission is a JSON object")
        return cls.from_dict(data)

    # -- canonical form ---------------------------------------------------------------------

    def canonical_json(self) -> bytes:
        """RFC 8785 bytes of :meth:`to_dict`; call it on a validated (normalised) submission.

        Raises:
            FormError: a value has no canonical form (e.g. a date object before validation).
        """
        return canonical_json(self.to_dict())

    def sha256(self) -> str:
        """SHA-256 of :meth:`canonical_json`, lower-case hex."""
        return canonical_sha256(self.to_dict())
