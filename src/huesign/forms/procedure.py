"""Procedures: what a public service asks for, loaded from and saved to JSON or TOML.

A :class:`Procedure` describes one administrative procedure (thủ tục hành chính): its code on
the national portal (``d.dddddd``), names, domain, level, agency, processing time, fees,
required documents and the form's fields.  Definitions are read strictly: an unknown key or a
wrong type raises :class:`~huesign.errors.ProcedureError` with the path of the problem.

>>> proc = Procedure.from_json('''{"code": "9.000001", "version": "1", "name_vi": "Thử",
...   "domain": "Thử nghiệm", "level": "communal", "agency": "UBND xã",
...   "processing_time": {"days": 1},
...   "fields": [{"kind": "text", "name": "full_name", "required": true}]}''')
>>> proc.fields[0].kind
'text'
>>> Procedure.from_json(proc.to_json()) == proc
True
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.gen import make_dict_unstructure_fn

from huesign.errors import ProcedureError
from huesign.forms.fields import (
    FIELD_KINDS,
    Condition,
    Field,
    Scalar,
    TaxCodeForm,
    check_siblings,
)

__all__ = ["Fee", "Procedure", "ProcedureLevel", "ProcessingTime", "RequiredDocument"]

_CODE_RE = re.compile(r"^\d\.\d{6}$")
_DOC_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_DEFINITION_BYTES = 2 * 1024 * 1024


class ProcedureLevel(enum.Enum):
    """The level of government that runs a procedure."""

    CENTRAL = "central"
    PROVINCIAL = "provincial"
    COMMUNAL = "communal"


@attrs.frozen(kw_only=True)
class ProcessingTime:
    """How long the agency takes.

    Attributes:
        days: the number of days.
        working_days: whether ``days`` counts working days (the usual case) or calendar days.
        note_vi: a remark, e.g. "trả kết quả ngay trong ngày nếu nộp trước 15 giờ".
        sample: ``True`` when the figure is an illustration rather than the official one.
    """

    days: int
    working_days: bool = True
    note_vi: str = ""
    sample: bool = False

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.days <= 365:
            raise ProcedureError("must be between 0 and 365", path="days")


@attrs.frozen(kw_only=True)
class Fee:
    """A fee or charge in whole VND, possibly only when a field has some value.

    Attributes:
        amount: the amount in VND.
        description_vi: what it is for, in Vietnamese.
        description_en: what it is for, in English.
        when: the fee applies only when this condition on a top-level field holds.
        sample: ``True`` when the amount is an illustration rather than the official one.
    """

    amount: int
    description_vi: str = ""
    description_en: str = ""
    when: Condition | None = None
    sample: bool = False

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.amount <= 10**12:
            raise ProcedureError("must be between 0 and 10^12 VND", path="amount")


@attrs.frozen(kw_only=True)
class RequiredDocument:
    """A document the applicant hands in.

    Attributes:
        name_vi: the document's name in Vietnamese.
        name_en: the document's name in English.
        document_type: the type an attachment declares to be this document, if uploaded.
        template: the official form or template code, e.g. ``CT01``.
        originals: number of originals.
        copies: number of copies.
        required: whether a submission must carry it (when ``when`` holds).
        when: it is needed only when this condition on a top-level field holds.
        condition_vi: the condition in words, for people.
    """

    name_vi: str
    name_en: str = ""
    document_type: str | None = None
    template: str | None = None
    originals: int = 1
    copies: int = 0
    required: bool = True
    when: Condition | None = None
    condition_vi: str = ""

    def __attrs_post_init__(self) -> None:
        if self.document_type is not None and not _DOC_TYPE_RE.match(self.document_type):
            raise ProcedureError("not a document type (a-z, 0-9, _)", path="document_type")
        if self.originals < 0 or self.copies < 0 or self.originals + self.copies > 50:
            raise ProcedureError("counts must be between 0 and 50", path="copies")


@attrs.frozen(kw_only=True)
class Procedure:
    """One administrative procedure and its form.

    Attributes:
        code: the national portal code, ``d.dddddd`` (e.g. ``1.001193``).
        version: the definition's version; submissions name it.
        name_vi: the official name.
        name_en: an English name.
        domain: the domain (lĩnh vực), e.g. ``Hộ tịch``.
        level: which level of government runs it.
        agency: the implementing agency.
        processing_time: how long it takes.
        fees: fees and charges.
        documents: the documents to hand in.
        fields: the form's fields.
        legal_basis: the laws and decrees it rests on.
        notes: remarks on the definition itself, e.g. where its figures come from.
        officer_signature: the rendered form reserves a signature field for the receiving
            officer as well as the applicant's.
    """

    code: str
    version: str
    name_vi: str
    name_en: str = ""
    domain: str
    level: ProcedureLevel
    agency: str
    processing_time: ProcessingTime
    fees: tuple[Fee, ...] = ()
    documents: tuple[RequiredDocument, ...] = ()
    fields: tuple[Field, ...] = ()
    legal_basis: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    officer_signature: bool = False

    def __attrs_post_init__(self) -> None:
        if not _CODE_RE.match(self.code):
            raise ProcedureError("a procedure code looks like 1.001193", path="code")
        if not self.version or len(self.version) > 40:
            raise ProcedureError("must be 1 to 40 characters", path="version")
        check_siblings(self.fields, prefix="fields")
        names = {f.name for f in self.fields}
        conditions = [(f"fees[{i}]", fee.when) for i, fee in enumerate(self.fees)]
        conditions += [(f"documents[{i}]", doc.when) for i, doc in enumerate(self.documents)]
        for where, cond in conditions:
            if cond is not None and cond.field not in names:
                raise ProcedureError(
                    f"{cond.field!r} is not a top-level field", path=f"{where}.when.field"
                )
        types = [d.document_type for d in self.documents if d.document_type]
        if len(set(types)) != len(types):
            raise ProcedureError("document types must be unique", path="documents")

    def fee_for(self, values: Mapping[str, object]) -> int:
        """The total fee in VND for normalised submitted ``values``."""
        return sum(
            fee.amount
            for fee in self.fees
            if fee.when is None or fee.when.holds(values.get(fee.when.field))
        )

    def field(self, name: str) -> Field | None:
        """The top-level field called ``name``, or ``None``."""
        return next((f for f in self.fields if f.name == name), None)

    # -- (de)serialisation --------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """The definition as JSON-ready data (default values left out)."""
        data: dict[str, object] = _converter().unstructure(self)
        return data

    def to_json(self) -> str:
        """The definition as indented JSON text (UTF-8, Vietnamese kept as is)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Procedure:
        """Build a procedure from JSON-like data.

        Raises:
            ProcedureError: unknown keys, wrong types or broken rules, with their path.
        """
        if not isinstance(data, Mapping):
            raise ProcedureError("a procedure definition is a JSON object")
        converter = _converter()
        try:
            procedure: Procedure = converter.structure(data, cls)
        except ProcedureError:
            raise
        except Exception as exc:  # cattrs raises exception groups of many kinds
            problems = list(_problems(exc, ""))
            path, message = problems[0]
            more = "; ".join(f"{p or '$'}: {m}" for p, m in problems[1:6])
            suffix = f" (and {len(problems) - 1} more: {more})" if len(problems) > 1 else ""
            raise ProcedureError(message + suffix, path=path) from exc
        return procedure

    @classmethod
    def from_json(cls, text: str | bytes) -> Procedure:
        """Read a procedure from JSON text.

        Raises:
            ProcedureError: the text is not JSON or not a valid definition.
        """
        if len(text) > _MAX_DEFINITION_BYTES:
            raise ProcedureError("definition is too large")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProcedureError(f"not JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_toml(cls, text: str) -> Procedure:
        """Read a procedure from TOML text (same keys as JSON; ``[[fields]]`` tables).

        Raises:
            ProcedureError: the text is not TOML or not a valid definition.
        """
        if len(text) > _MAX_DEFINITION_BYTES:
            raise ProcedureError("definition is too large")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ProcedureError(f"not TOML: {exc}") from exc
        return cls.from_dict(data)


# -- the converter ---------------------------------------------------------------------------


def _strict(kind: type[Any], label: str) -> Callable[[object, object], object]:
    def structure(value: object, _type: object) -> object:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {label}")
        if not isinstance(value, kind):
            raise TypeError(f"expected {label}")
        return value

    return structure


def _structure_date(value: object, _type: object) -> dt.date:
    if not isinstance(value, str | dt.date) or isinstance(value, dt.datetime):
        raise TypeError("expected a date (YYYY-MM-DD)")
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _structure_scalar(value: object, _type: object) -> object:
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError("expected a string, a whole number or a boolean")


@functools.cache
def _converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True, detailed_validation=True, omit_if_default=True)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(int, _strict(int, "a whole number"))
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(dt.date, lambda d: d.isoformat())
    conv.register_structure_hook_func(
        lambda t: t == Scalar or t == (Scalar | None), _structure_scalar
    )
    conv.register_unstructure_hook_func(
        lambda t: t == frozenset[TaxCodeForm],
        lambda forms: sorted(form.value for form in forms),
    )

    def structure_field(value: object, _type: object) -> Field:
        if not isinstance(value, Mapping):
            raise TypeError("expected a field object")
        kind = value.get("kind")
        cls = FIELD_KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise ValueError(f"unknown field kind {kind!r}; one of {', '.join(FIELD_KINDS)}")
        rest = {k: v for k, v in value.items() if k != "kind"}
        field: Field = conv.structure(rest, cls)
        return field

    conv.register_structure_hook_func(lambda t: t == Field, structure_field)
    for kind, cls in FIELD_KINDS.items():
        plain = make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True)

        def unstructure(obj: Any, _plain: Any = plain, _kind: str = kind) -> dict[str, Any]:
            return {"kind": _kind, **_plain(obj)}

        conv.register_unstructure_hook(cls, unstructure)
    conv.register_unstructure_hook_func(
        lambda t: t == Field, lambda obj: conv.unstructure(obj, type(obj))
    )
    return conv


def _problems(exc: BaseException, path: str) -> Iterator[tuple[str, str]]:
    """Walk a cattrs exception group into ``(path, message)`` pairs."""
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(exc, IterableValidationError):
                index = getattr(note, "index", "?")
                step = f"[{index}]" if isinstance(index, int) else f".{index}"
            else:
                step = f".{getattr(note, 'name', '?')}"
            yield from _problems(sub, (path + step).lstrip("."))
        for sub in without:
            yield from _problems(sub, path)
    elif isinstance(exc, ForbiddenExtraKeysError):
        for key in sorted(exc.extra_fields):
            yield (f"{path}.{key}" if path else key), "unknown key"
    elif isinstance(exc, ProcedureError):
        joined = ".".join(p for p in (path, exc.path) if p)
        message = str(exc)
        prefix = f"{exc.path}: "
        yield joined, message.removeprefix(prefix) if exc.path else message
    elif isinstance(exc, KeyError):
        yield path, "required key missing"
    else:
        yield path, str(exc) or type(exc).__name__
