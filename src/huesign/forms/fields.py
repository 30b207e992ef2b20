"""Field definitions: a closed set of kinds, each a frozen attrs class tagged by ``kind``.

A procedure's form is a tuple of fields.  Every field has a ``name`` (its key in the submitted
values), bilingual labels, ``required`` and optional conditions: ``shown_when`` (the field
exists only when another field of the same group has a value) and ``required_when`` (the field
becomes required then).  Kind-specific options bound what a value may be.

>>> TextField(name="full_name", required=True, max_length=100).kind
'text'
>>> FIELD_KINDS["phone"] is PhoneField
True
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import ClassVar, Literal, TypeAlias

import attrs

from huesign.errors import ProcedureError

__all__ = [
    "FIELD_KINDS",
    "AddressField",
    "AttachmentField",
    "BooleanField",
    "CCCDField",
    "CMNDField",
    "ChoiceField",
    "Condition",
    "DateField",
    "EmailField",
    "Field",
    "GroupField",
    "IntegerField",
    "MoneyField",
    "Option",
    "PassportField",
    "PhoneField",
    "PhoneKind",
    "Scalar",
    "TaxCodeField",
    "TaxCodeForm",
    "TextField",
]

#: A JSON scalar that a condition can compare a value with.
Scalar: TypeAlias = str | int | bool

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_PATTERN = 500
_MAX_TEXT = 10_000
_MAX_ITEMS = 500
_MAX_ATTACHMENT = 100 * 1024 * 1024


def _bad(path: str, message: str) -> ProcedureError:
    return ProcedureError(message, path=path)


def _check_range(low: int | None, high: int | None, names: tuple[str, str]) -> None:
    if low is not None and high is not None and low > high:
        raise _bad(names[1], f"must not be below {names[0]} ({low})")


@attrs.frozen(kw_only=True)
class Condition:
    """A test on a sibling field's value, for ``shown_when`` / ``required_when``.

    With neither ``equals`` nor ``one_of`` the condition holds when the sibling has any value
    (not empty, not ``False``).  For a multiple choice, it holds when one of the chosen values
    matches.

    Attributes:
        field: the name of a field in the same group.
        equals: the value the sibling must have.
        one_of: values the sibling may have.
    """

    field: str
    equals: Scalar | None = None
    one_of: tuple[Scalar, ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.equals is not None and self.one_of:
            raise _bad("one_of", "give either equals or one_of, not both")

    def holds(self, value: object) -> bool:
        """Whether the sibling's (normalised) ``value`` satisfies this condition."""
        values = value if isinstance(value, list) else [value]
        if self.equals is not None:
            return any(_same(v, self.equals) for v in values)
        if self.one_of:
            return any(_same(v, w) for v in values for w in self.one_of)
        return value not in (None, "", False, [], {})


def _same(value: object, wanted: Scalar) -> bool:
    # True == 1 in Python; a condition on a boolean must not match the number 1.
    return type(value) is type(wanted) and value == wanted


@attrs.frozen(kw_only=True)
class _Base:
    name: str = attrs.field()
    label_vi: str = ""
    label_en: str = ""
    help_vi: str = ""
    required: bool = False
    required_when: Condition | None = None
    shown_when: Condition | None = None

    @name.validator
    def _check_name(self, _attr: object, value: str) -> None:
        if not _NAME_RE.match(value):
            raise _bad("name", f"{value!r} is not a field name (a-z, 0-9, _; 64 at most)")


@attrs.frozen(kw_only=True)
class TextField(_Base):
    """Free text, trimmed and normalised to NFC; length counted in characters."""

    kind: ClassVar[Literal["text"]] = "text"
    min_length: int = 0
    max_length: int = 200
    pattern: str | None = None
    multiline: bool = False

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.min_length <= self.max_length <= _MAX_TEXT:
            raise _bad("max_length", f"need 0 <= min_length <= max_length <= {_MAX_TEXT}")
        if self.pattern is not None:
            if len(self.pattern) > _MAX_PATTERN:
                raise _bad("pattern", "pattern is too long")
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise _bad("pattern", f"not a regular expression: {exc.msg}") from exc


@attrs.frozen(kw_only=True)
class IntegerField(_Base):
    """A whole number within optional bounds."""

    kind: ClassVar[Literal["integer"]] = "integer"
    minimum: int | None = None
    maximum: int | None = None

    def __attrs_post_init__(self) -> None:
        _check_range(self.minimum, self.maximum, ("minimum", "maximum"))


@attrs.frozen(kw_only=True)
class MoneyField(_Base):
    """An amount in whole Vietnamese dong (VND); ``"1.500.000 đ"`` is read as 1500000."""

    kind: ClassVar[Literal["money"]] = "money"
    minimum: int = 0
    maximum: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.minimum < 0:
            raise _bad("minimum", "amounts are not negative")
        _check_range(self.minimum, self.maximum, ("minimum", "maximum"))


@attrs.frozen(kw_only=True)
class DateField(_Base):
    """A calendar date, written ``YYYY-MM-DD`` or ``DD/MM/YYYY``; stored as ISO.

    Attributes:
        not_before: earliest allowed date.
        not_after: latest allowed date.
        not_in_future: the date must not be after the validation day.
        min_age: at least this many whole years before the validation day (a birth date).
        max_age: at most this many whole years before the validation day.
    """

    kind: ClassVar[Literal["date"]] = "date"
    not_before: dt.date | None = None
    not_after: dt.date | None = None
    not_in_future: bool = False
    min_age: int | None = None
    max_age: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.not_before and self.not_after and self.not_before > self.not_after:
            raise _bad("not_after", "must not be before not_before")
        _check_range(self.min_age, self.max_age, ("min_age", "max_age"))
        if self.min_age is not None and self.min_age < 0:
            raise _bad("min_age", "must not be negative")


@attrs.frozen(kw_only=True)
class Option:
    """One allowed value of a choice, with its labels."""

    value: str
    label_vi: str = ""
    label_en: str = ""


@attrs.frozen(kw_only=True)
class ChoiceField(_Base):
    """One value (or, with ``multiple``, a list of values) among declared options."""

    kind: ClassVar[Literal["choice"]] = "choice"
    options: tuple[Option, ...]
    multiple: bool = False
    min_selected: int = 0
    max_selected: int | None = None

    def __attrs_post_init__(self) -> None:
        if not self.options:
            raise _bad("options", "a choice needs at least one option")
        seen: set[str] = set()
        for index, option in enumerate(self.options):
            if option.value in seen:
                raise _bad(f"options[{index}].value", f"duplicate option {option.value!r}")
            seen.add(option.value)
        _check_range(self.min_selected, self.max_selected, ("min_selected", "max_selected"))
        if self.min_selected < 0 or self.min_selected > len(self.options):
            raise _bad("min_selected", "must be between 0 and the number of options")


@attrs.frozen(kw_only=True)
class BooleanField(_Base):
    """Yes or no; ``must_be_true`` for a declaration the applicant has to tick."""

    kind: ClassVar[Literal["boolean"]] = "boolean"
    must_be_true: bool = False


@attrs.frozen(kw_only=True)
class EmailField(_Base):
    """An e-mail address; the domain is lower-cased."""

    kind: ClassVar[Literal["email"]] = "email"


class PhoneKind(enum.Enum):
    """Which Vietnamese numbers a phone field accepts."""

    MOBILE = "mobile"
    LANDLINE = "landline"
    ANY = "any"


@attrs.frozen(kw_only=True)
class PhoneField(_Base):
    """A Vietnamese phone number, stored in E.164 (``+84...``)."""

    kind: ClassVar[Literal["phone"]] = "phone"
    accept: PhoneKind = PhoneKind.ANY


@attrs.frozen(kw_only=True)
class CCCDField(_Base):
    """A 12-digit CCCD; the birth-province code and the century digit are checked too."""

    kind: ClassVar[Literal["cccd"]] = "cccd"


@attrs.frozen(kw_only=True)
class CMNDField(_Base):
    """An old 9- or 12-digit CMND identity card number."""

    kind: ClassVar[Literal["cmnd"]] = "cmnd"


@attrs.frozen(kw_only=True)
class PassportField(_Base):
    """A passport number; ``vietnamese`` limits it to one letter and seven digits."""

    kind: ClassVar[Literal["passport"]] = "passport"
    vietnamese: bool = False


class TaxCodeForm(enum.Enum):
    """Forms of tax code (MST)."""

    ORGANIZATION = "organization"  # 10 digits with check digit
    BRANCH = "branch"  # 10 digits, a dash, 3 digits
    PERSONAL = "personal"  # an individual's 12-digit CCCD, since 1 July 2025


@attrs.frozen(kw_only=True)
class TaxCodeField(_Base):
    """A tax code (MST) in one of the allowed forms; 13 bare digits become ``XXXXXXXXXX-NNN``."""

    kind: ClassVar[Literal["tax_code"]] = "tax_code"
    forms: frozenset[TaxCodeForm] = frozenset(TaxCodeForm)

    def __attrs_post_init__(self) -> None:
        if not self.forms:
            raise _bad("forms", "allow at least one form")


@attrs.frozen(kw_only=True)
class AddressField(_Base):
    """An address: province + communal unit + street detail under the 2025 units.

    The value is ``{"province_code", "ward_code", "street"}``.  With ``allow_legacy``, an
    older three-level address ``{"legacy_province", "district", "ward", "street"}`` is
    accepted and mapped to the new province (and the ward, when the units source knows it).

    Attributes:
        allow_legacy: accept pre-2025 three-level addresses.
        provinces: restrict to these province codes (empty: any).
        street_max_length: bound on the street detail.
    """

    kind: ClassVar[Literal["address"]] = "address"
    allow_legacy: bool = True
    provinces: tuple[str, ...] = ()
    street_max_length: int = 200


@attrs.frozen(kw_only=True)
class AttachmentField(_Base):
    """A reference (by id) to one of the submission's attachments.

    Attributes:
        document_type: the type the attachment must declare, e.g. ``birth_certificate``.
        media_types: accepted media types.
        max_size: the largest accepted size in bytes.
    """

    kind: ClassVar[Literal["attachment"]] = "attachment"
    document_type: str
    media_types: tuple[str, ...] = ("application/pdf", "image/jpeg", "image/png")
    max_size: int = 10 * 1024 * 1024

    def __attrs_post_init__(self) -> None:
        if not 0 < self.max_size <= _MAX_ATTACHMENT:
            raise _bad("max_size", f"must be between 1 and {_MAX_ATTACHMENT} bytes")
        if not self.media_types:
            raise _bad("media_types", "accept at least one media type")


@attrs.frozen(kw_only=True)
class GroupField(_Base):
    """Nested fields: one object, or with ``repeat`` a list of them (household members).

    Attributes:
        fields: the fields of the group (or of each item).
        repeat: the value is a list of objects rather than one object.
        min_items: fewest items of a repeating group.
        max_items: most items of a repeating group.
    """

    kind: ClassVar[Literal["group"]] = "group"
    fields: tuple[Field, ...]
    repeat: bool = False
    min_items: int = 0
    max_items: int = 20

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.min_items <= self.max_items <= _MAX_ITEMS:
            raise _bad("max_items", f"need 0 <= min_items <= max_items <= {_MAX_ITEMS}")
        check_siblings(self.fields, prefix="fields")


#: Every kind of field (a tagged union on ``kind``).
Field: TypeAlias = (
    TextField
    | IntegerField
    | MoneyField
    | DateField
    | ChoiceField
    | BooleanField
    | EmailField
    | PhoneField
    | CCCDField
    | CMNDField
    | PassportField
    | TaxCodeField
    | AddressField
    | AttachmentField
    | GroupField
)

#: The field class of each ``kind``.
FIELD_KINDS: dict[str, type[Field]] = {
    cls.kind: cls
    for cls in (
        TextField,
        IntegerField,
        MoneyField,
        DateField,
        ChoiceField,
        BooleanField,
        EmailField,
        PhoneField,
        CCCDField,
        CMNDField,
        PassportField,
        TaxCodeField,
        AddressField,
        AttachmentField,
        GroupField,
    )
}

attrs.resolve_types(GroupField, globals(), locals())


def check_siblings(fields: tuple[Field, ...], *, prefix: str) -> None:
    """Check that names are unique and that every condition names another field of the group.

    Raises:
        ProcedureError: with the path of the offending field.
    """
    names: set[str] = set()
    for index, field in enumerate(fields):
        if field.name in names:
            raise _bad(f"{prefix}[{index}].name", f"duplicate field name {field.name!r}")
        names.add(field.name)
    for index, field in enumerate(fields):
        for attr in ("required_when", "shown_when"):
            cond: Condition | None = getattr(field, attr)
            if cond is None:
                continue
            if cond.field not in names or cond.field == field.name:
                raise _bad(
                    f"{prefix}[{index}].{attr}.field",
                    f"{cond.field!r} is not another field of the same group",
                )
