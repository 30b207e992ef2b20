"""Hypothesis strategies for procedures and submissions.

``procedures()`` draws random but well-formed procedure definitions; ``submissions()`` draws
valid values for any procedure; ``invalid_submissions()`` breaks exactly one rule of a valid
submission and says where and which; ``addresses()`` and ``phone_numbers()`` draw the
Vietnamese building blocks.  Options are keyword-only and checked when the strategy is built
(:class:`hypothesis.errors.InvalidArgument`); nothing is drawn or read before Hypothesis asks.
:mod:`huesign.testing.strategies` gathers them with every other strategy.

>>> from huesign.forms import builtin_catalogue
>>> strategy = submissions(builtin_catalogue()["1.001193"])
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable, Mapping
from typing import Literal

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from huesign import forms as f
from huesign.testing._identity_strategies import (
    cccd_numbers,
    cmnd_numbers,
    passport_numbers,
    tax_codes,
    vietnamese_names,
)

__all__ = [
    "InvalidSubmission",
    "addresses",
    "invalid_submissions",
    "phone_numbers",
    "procedures",
    "submissions",
]

_MOBILE_PREFIXES = (
    "32", "33", "34", "35", "36", "37", "38", "39", "52", "55", "56", "58", "59", "70",
    "76", "77", "78", "79", "81", "82", "83", "84", "85", "86", "87", "88", "89", "90",
    "91", "92", "93", "94", "96", "97", "98", "99",
)  # fmt: skip
# Area codes after the 2017 renumbering; 234 is Hue, 24 Hanoi, 28 Ho Chi Minh City.
_AREA_CODES = ("234", "24", "28", "236", "232", "233", "235", "255", "203", "220")
_VI_LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợ"
_SAFE_PATTERNS = (r"[A-Z]{2}[0-9]{3}", r"[0-9]{4,6}", r"[a-z]+(-[a-z]+)?")
_STREETS = ("Lê Lợi", "Hùng Vương", "Trần Hưng Đạo", "Nguyễn Huệ", "Phan Bội Châu", "Kim Long")
_MEDIA = ("application/pdf", "image/jpeg", "image/png")
_UNKNOWN = "__not_an_option__"


@attrs.frozen(kw_only=True)
class InvalidSubmission:
    """A submission that breaks exactly one rule.

    Attributes:
        submission: the submission.
        path: where the broken value is, e.g. ``members[1].cccd``.
        code: the error code validation must report there.
    """

    submission: f.Submission
    path: str
    code: str


# -- building blocks ----------------------------------------------------------------------------


def phone_numbers(*, kind: Literal["mobile", "landline"] = "mobile") -> st.SearchStrategy[str]:
    """Vietnamese phone numbers as people write them (``0905 123 456``, ``+84905123456``...)."""
    if kind == "mobile":
        national = st.builds(
            lambda p, n: p + f"{n:07d}",
            st.sampled_from(_MOBILE_PREFIXES),
            st.integers(0, 10**7 - 1),
        )
    elif kind == "landline":
        national = st.sampled_from(_AREA_CODES).flatmap(
            lambda area: st.integers(0, 10 ** (10 - len(area)) - 1).map(
                lambda n: area + str(n).zfill(10 - len(area))
            )
        )
    else:
        raise InvalidArgument(f"kind={kind!r} must be 'mobile' or 'landline'")

    def written(number: str, style: int) -> str:
        if style == 0:
            return "0" + number
        if style == 1:
            return "+84" + number
        if style == 2:
            return f"0{number[:3]} {number[3:6]} {number[6:]}"
        return f"+84 {number[:3]}.{number[3:6]}.{number[6:]}"

    return st.builds(written, national, st.integers(0, 3))


def addresses(
    *, provinces: tuple[str, ...] = (), units: f.UnitsSource | None = None
) -> st.SearchStrategy[dict[str, str]]:
    """Addresses under the 2025 units: ``{"province_code", "ward_code", "street"}``.

    Where the units source lists a province's communal units, the ward is one of them;
    otherwise it is a well-formed 5-digit code.  ``provinces`` restricts the province codes.
    """
    if not isinstance(provinces, tuple) or not all(isinstance(p, str) for p in provinces):
        raise InvalidArgument("provinces must be a tuple of province codes")

    @st.composite
    def draw_address(draw: st.DrawFn) -> dict[str, str]:
        source = units if units is not None else f.builtin_units()
        known = [p.code for p in source.provinces()]
        wanted = [p for p in provinces if p in known] if provinces else known
        if not wanted:
            raise InvalidArgument(f"none of provinces={provinces!r} is in the units source")
        province = draw(st.sampled_from(wanted))
        listed = source.communal_units(province)
        if listed:
            ward = draw(st.sampled_from([u.code for u in listed]))
        else:
            ward = f"{draw(st.integers(1, 39999)):05d}"
        number = draw(st.integers(1, 999))
        street = f"{number} {draw(st.sampled_from(_STREETS))}"
        return {"province_code": province, "ward_code": ward, "street": street}

    return draw_address()


# -- procedures ---------------------------------------------------------------------------------


def _leaf_field(draw: st.DrawFn, name: str, kind: str) -> f.Field:
    if kind == "text":
        pattern = draw(st.none() | st.sampled_from(_SAFE_PATTERNS))
        low = 0 if pattern else draw(st.integers(0, 3))
        high = 40 if pattern else draw(st.integers(max(low, 1), low + 60))
        return f.TextField(name=name, min_length=low, max_length=high, pattern=pattern)
    if kind == "integer":
        least = draw(st.none() | st.integers(-1000, 1000))
        most = draw(st.none() | st.integers(least if least is not None else -1000, 10**6))
        return f.IntegerField(name=name, minimum=least, maximum=most)
    if kind == "money":
        floor = draw(st.integers(0, 10**6))
        ceiling = draw(st.none() | st.integers(floor, 10**10))
        return f.MoneyField(name=name, minimum=floor, maximum=ceiling)
    if kind == "date":
        min_age = draw(st.none() | st.integers(0, 30))
        max_age = draw(st.none() | st.integers((min_age or 0) + 20, 120))
        return f.DateField(
            name=name,
            not_in_future=draw(st.booleans()),
            min_age=min_age,
            max_age=max_age,
            not_before=draw(st.none() | st.just(dt.date(1890, 1, 1))),
            not_after=draw(st.none() | st.just(dt.date(2199, 12, 31))),
        )
    if kind == "choice":
        count = draw(st.integers(1, 5))
        options = tuple(f.Option(value=f"opt{i}", label_vi=f"Lựa chọn {i}") for i in range(count))
        multiple = draw(st.booleans())
        fewest = draw(st.integers(0, count)) if multiple else 0
        most_chosen = draw(st.none() | st.integers(max(fewest, 1), count)) if multiple else None
        return f.ChoiceField(
            name=name,
            options=options,
            multiple=multiple,
            min_selected=fewest,
            max_selected=most_chosen,
        )
    simple: dict[str, Callable[[], f.Field]] = {
        "boolean": lambda: f.BooleanField(name=name, must_be_true=draw(st.booleans())),
        "email": lambda: f.EmailField(name=name),
        "phone": lambda: f.PhoneField(name=name, accept=draw(st.sampled_from(f.PhoneKind))),
        "cccd": lambda: f.CCCDField(name=name),
        "cmnd": lambda: f.CMNDField(name=name),
        "passport": lambda: f.PassportField(name=name, vietnamese=draw(st.booleans())),
        "tax_code": lambda: f.TaxCodeField(
            name=name,
            forms=frozenset(draw(st.sets(st.sampled_from(f.TaxCodeForm), min_size=1))),
        ),
        "address": lambda: f.AddressField(
            name=name,
            allow_legacy=draw(st.booleans()),
            provinces=draw(st.sampled_from(((), ("46",), ("46", "01", "79")))),
        ),
        "attachment": lambda: f.AttachmentField(
            name=name,
            document_type=draw(st.sampled_from(("identity_card", "photo", "proof"))),
            media_types=tuple(draw(st.sets(st.sampled_from(_MEDIA), min_size=1))),
            max_size=draw(st.integers(1000, 10**7)),
        ),
    }
    return simple[kind]()


_LEAF_KINDS = (
    "text", "integer", "money", "date", "choice", "boolean", "email", "phone", "cccd", "cmnd",
    "passport", "tax_code", "address", "attachment",
)  # fmt: skip


def _fields(draw: st.DrawFn, depth: int, max_fields: int) -> tuple[f.Field, ...]:
    count = draw(st.integers(1, max_fields))
    fields: list[f.Field] = []
    for index in range(count):
        name = f"f{index}"
        kinds = _LEAF_KINDS + (("group",) if depth > 0 else ())
        kind = draw(st.sampled_from(kinds))
        field: f.Field
        if kind == "group":
            repeat = draw(st.booleans())
            low = draw(st.integers(0, 2)) if repeat else 0
            field = f.GroupField(
                name=name,
                fields=_fields(draw, depth - 1, max(1, max_fields // 2)),
                repeat=repeat,
                min_items=low,
                max_items=draw(st.integers(max(low, 1), low + 3)),
            )
        else:
            field = _leaf_field(draw, name, kind)
        field = attrs.evolve(field, label_vi=f"Trường {index}", required=draw(st.booleans()))
        triggers = [t for t in fields if isinstance(t, f.BooleanField | f.ChoiceField)]
        triggers = [t for t in triggers if not isinstance(t, f.ChoiceField) or not t.multiple]
        if draw(st.booleans()) and triggers:
            cond = _condition(draw, draw(st.sampled_from(triggers)))
            which = draw(st.sampled_from(("shown_when", "required_when", "both")))
            if which in ("shown_when", "both"):
                field = attrs.evolve(field, shown_when=cond)
            if which in ("required_when", "both"):
                field = attrs.evolve(field, required_when=cond)
        fields.append(field)
    return tuple(fields)


def _condition(draw: st.DrawFn, trigger: f.Field) -> f.Condition:
    if isinstance(trigger, f.ChoiceField):
        values = [o.value for o in trigger.options]
        if draw(st.booleans()):
            return f.Condition(field=trigger.name, equals=draw(st.sampled_from(values)))
        return f.Condition(
            field=trigger.name, one_of=tuple(draw(st.sets(st.sampled_from(values), min_size=1)))
        )
    return f.Condition(field=trigger.name, equals=True)


def procedures(*, max_fields: int = 6, max_depth: int = 1) -> st.SearchStrategy[f.Procedure]:
    """Random, well-formed procedures using every kind of field, conditions and groups.

    Args:
        max_fields: the most fields in one group (1..20).
        max_depth: how deeply groups may nest (0..3).
    """
    if not isinstance(max_fields, int) or not 1 <= max_fields <= 20:
        raise InvalidArgument(f"max_fields={max_fields!r} must be an int in 1..20")
    if not isinstance(max_depth, int) or not 0 <= max_depth <= 3:
        raise InvalidArgument(f"max_depth={max_depth!r} must be an int in 0..3")

    @st.composite
    def draw_procedure(draw: st.DrawFn) -> f.Procedure:
        fields = _fields(draw, max_depth, max_fields)
        booleans = [b for b in fields if isinstance(b, f.BooleanField)]
        fees = [f.Fee(amount=draw(st.integers(0, 500_000)), sample=True)]
        documents = []
        if draw(st.booleans()) and booleans:
            when = f.Condition(field=draw(st.sampled_from(booleans)).name, equals=True)
            fees.append(f.Fee(amount=draw(st.integers(1, 100_000)), when=when))
            documents.append(
                f.RequiredDocument(name_vi="Giấy tờ bổ sung", document_type="extra", when=when)
            )
        if draw(st.booleans()):
            documents.append(f.RequiredDocument(name_vi="Tờ khai", document_type="declaration"))
        return f.Procedure(
            code=f"{draw(st.integers(1, 3))}.{draw(st.integers(0, 999_999)):06d}",
            version=str(draw(st.integers(1, 9))),
            name_vi=draw(vietnamese_names()),
            domain="Thử nghiệm",
            level=draw(st.sampled_from(f.ProcedureLevel)),
            agency="Ủy ban nhân dân cấp xã",
            processing_time=f.ProcessingTime(days=draw(st.integers(0, 30)), sample=True),
            fees=tuple(fees),
            documents=tuple(documents),
            fields=fields,
        )

    return draw_procedure()


# -- valid submissions ---------------------------------------------------------------------------


@attrs.define
class _Drawing:
    """Mutable state of one submission draw (the attachments made so far)."""

    units: f.UnitsSource
    today: dt.date
    attachments: list[f.Attachment] = attrs.Factory(list)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _date_window(field: f.DateField, today: dt.date) -> tuple[dt.date, dt.date]:
    low = field.not_before or dt.date(1900, 1, 1)
    high = field.not_after or dt.date(2100, 12, 31)
    if field.not_in_future:
        high = min(high, today)
    if field.min_age is not None:
        high = min(high, _years_before(today, field.min_age))
    if field.max_age is not None:
        low = max(low, _years_before(today, field.max_age + 1) + dt.timedelta(days=1))
    return low, high


def _text_value(draw: st.DrawFn, field: f.TextField) -> str:
    if field.pattern is not None:
        return draw(
            st.from_regex(field.pattern, fullmatch=True).filter(
                lambda v: (
                    v.strip() == v
                    and v.isascii()
                    and v.isprintable()
                    and field.min_length <= len(v) <= field.max_length
                )
            )
        )
    low = max(field.min_length, 1)
    high = max(low, min(field.max_length, 30))
    letters = st.text(alphabet=_VI_LETTERS + string.ascii_letters, min_size=low, max_size=high)
    names = vietnamese_names().filter(lambda v: low <= len(v) <= field.max_length)
    value = draw(names | letters if field.max_length >= 20 else letters)
    padding = draw(st.sampled_from(("", " ", "  \t")))
    return padding + value + padding


def _address_value(draw: st.DrawFn, field: f.AddressField, state: _Drawing) -> dict[str, str]:
    legacy = [
        p
        for p in state.units.legacy_provinces()
        if not field.provinces or p.new_code in field.provinces
    ]
    if field.allow_legacy and legacy and draw(st.booleans()):
        old = draw(st.sampled_from(legacy))
        return {
            "legacy_province": draw(st.sampled_from((old.name, old.code))),
            "district": "Huyện Cũ",
            "ward": draw(st.sampled_from(("Phường Kim Long", "Xã Cũ"))),
            "street": f"{draw(st.integers(1, 99))} {draw(st.sampled_from(_STREETS))}",
        }
    return draw(addresses(provinces=field.provinces, units=state.units))


def _attachment_value(
    draw: st.DrawFn, document_type: str, media: tuple[str, ...], max_size: int, state: _Drawing
) -> str:
    attachment = f.Attachment(
        id=f"att-{len(state.attachments) + 1}",
        document_type=document_type,
        file_name=f"{document_type}.bin",
        media_type=draw(st.sampled_from(media)),
        size=draw(st.integers(0, max_size)),
        sha256=draw(st.binary(min_size=32, max_size=32)).hex(),
    )
    state.attachments.append(attachment)
    return attachment.id


def _tax_code_value(draw: st.DrawFn, field: f.TaxCodeField, state: _Drawing) -> str:
    form = draw(st.sampled_from(sorted(field.forms, key=lambda form: form.value)))
    if form is f.TaxCodeForm.ORGANIZATION:
        return draw(tax_codes(kind="company"))
    if form is f.TaxCodeForm.BRANCH:
        return draw(tax_codes(kind="branch"))
    return draw(_cccd_value(state))


def _cccd_value(state: _Drawing) -> st.SearchStrategy[str]:
    def born_by_now(value: str) -> bool:
        return 1900 + (int(value[3]) // 2) * 100 + int(value[4:6]) <= state.today.year

    return cccd_numbers().filter(born_by_now)


def _value(draw: st.DrawFn, field: f.Field, state: _Drawing) -> object:
    if isinstance(field, f.TextField):
        return _text_value(draw, field)
    if isinstance(field, f.IntegerField):
        low = field.minimum if field.minimum is not None else -(10**6)
        return draw(st.integers(low, field.maximum if field.maximum is not None else low + 10**6))
    if isinstance(field, f.MoneyField):
        high = field.maximum if field.maximum is not None else field.minimum + 10**9
        amount = draw(st.integers(field.minimum, high))
        return draw(st.sampled_from((amount, f"{amount:,}".replace(",", ".") + " đ")))
    if isinstance(field, f.DateField):
        earliest, latest = _date_window(field, state.today)
        day = draw(st.dates(earliest, latest))
        return draw(st.sampled_from((day.isoformat(), day.strftime("%d/%m/%Y"))))
    if isinstance(field, f.ChoiceField):
        values = [o.value for o in field.options]
        if not field.multiple:
            return draw(st.sampled_from(values))
        return draw(
            st.lists(
                st.sampled_from(values),
                unique=True,
                min_size=max(field.min_selected, 1),
                max_size=field.max_selected or len(values),
            )
        )
    if isinstance(field, f.BooleanField):
        return True if field.must_be_true else draw(st.booleans())
    if isinstance(field, f.EmailField):
        local = draw(
            st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=12)
        )
        return f"{local}@{draw(st.sampled_from(('gmail.com', 'HUE.GOV.VN', 'example.vn')))}"
    if isinstance(field, f.PhoneField):
        kinds: dict[f.PhoneKind, tuple[Literal["mobile", "landline"], ...]] = {
            f.PhoneKind.MOBILE: ("mobile",),
            f.PhoneKind.LANDLINE: ("landline",),
        }
        kind = draw(st.sampled_from(kinds.get(field.accept, ("mobile", "landline"))))
        return draw(phone_numbers(kind=kind))
    if isinstance(field, f.CCCDField):
        return draw(_cccd_value(state))
    if isinstance(field, f.CMNDField):
        return draw(cmnd_numbers())
    if isinstance(field, f.PassportField):
        return draw(passport_numbers())
    if isinstance(field, f.TaxCodeField):
        return _tax_code_value(draw, field, state)
    if isinstance(field, f.AddressField):
        return _address_value(draw, field, state)
    if isinstance(field, f.AttachmentField):
        return _attachment_value(
            draw, field.document_type, field.media_types, field.max_size, state
        )
    if not field.repeat:
        members = _group_values(draw, field.fields, state)
        if not members:  # an empty object counts as no value
            first = next((m for m in field.fields if m.shown_when is None), None)
            if first is not None:
                members[first.name] = _value(draw, first, state)
        return members
    low = max(field.min_items, 1)
    count = draw(st.integers(low, min(field.max_items, low + 2)))
    return [_group_values(draw, field.fields, state) for _ in range(count)]


def _group_values(
    draw: st.DrawFn, fields: tuple[f.Field, ...], state: _Drawing
) -> dict[str, object]:
    values: dict[str, object] = {}
    for field in fields:
        if field.required or field.required_when is not None or draw(st.booleans()):
            values[field.name] = _value(draw, field, state)
    return values


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else dt.datetime.now(f.VIETNAM_TZ).date()


def submissions(
    procedure: f.Procedure,
    *,
    overrides: Mapping[str, object] | None = None,
    units: f.UnitsSource | None = None,
    today: dt.date | None = None,
) -> st.SearchStrategy[f.Submission]:
    """Valid submissions for ``procedure`` (raw, as an applicant would type them).

    Args:
        procedure: the procedure to fill in.
        overrides: top-level values to use instead of drawn ones; a value may be a strategy.
        units: the units source validation will use (default: the shipped table).
        today: the day validation will use for date rules (default: today in Vietnam).
    """
    if not isinstance(procedure, f.Procedure):
        raise InvalidArgument(f"procedure={procedure!r} is not a Procedure")
    fixed = dict(overrides or {})
    unknown = sorted(set(fixed) - {fld.name for fld in procedure.fields})
    if unknown:
        raise InvalidArgument(f"overrides name fields the procedure lacks: {unknown}")

    @st.composite
    def draw_submission(draw: st.DrawFn) -> f.Submission:
        state = _Drawing(
            units=units if units is not None else f.builtin_units(), today=_today(today)
        )
        values = _group_values(draw, procedure.fields, state)
        for name, value in fixed.items():
            values[name] = draw(value) if isinstance(value, st.SearchStrategy) else value
        present = {a.document_type for a in state.attachments}
        for doc in procedure.documents:
            if doc.required and doc.document_type and doc.document_type not in present:
                _attachment_value(draw, doc.document_type, _MEDIA, 10**6, state)
                present.add(doc.document_type)
        return f.Submission.for_procedure(procedure, values, attachments=state.attachments)

    return draw_submission()


# -- one broken rule -----------------------------------------------------------------------------

_REMOVE = object()
_FIXED_MUTATIONS: dict[type[object], list[tuple[str, str, object]]] = {
    f.DateField: [("invalid_date", "", "2023-02-30")],
    f.EmailField: [("invalid_email", "", "no-at-sign.example.vn")],
    f.CCCDField: [("invalid_cccd", "", "0460851"), ("unknown_province", "", "003090123456")],
    f.CMNDField: [("invalid_cmnd", "", "1234")],
    f.PassportField: [("invalid_passport", "", "!!")],
    f.TaxCodeField: [("invalid_tax_code", "", "0000000000")],
    f.AddressField: [
        ("unknown_province", ".province_code", {"province_code": "99", "street": "1 A"}),
        ("required", ".street", "drop-street"),
    ],
    f.AttachmentField: [("unknown_attachment", "", "no-such-attachment")],
}


def _mutations(field: f.Field) -> list[tuple[str, str, object]]:
    """``(code, sub-path, new value)`` that break exactly one rule of ``field``."""
    out: list[tuple[str, str, object]] = []
    if field.required:
        out.append(("required", "", _REMOVE))
    if isinstance(field, f.TextField):
        out.append(("too_long", "", "x" * (field.max_length + 1)))
        out.append(("wrong_type", "", 12345))
        if field.min_length >= 2:
            out.append(("too_short", "", "x"))
    elif isinstance(field, f.IntegerField | f.MoneyField):
        out.append(("wrong_type", "", "abc"))
        if field.maximum is not None:
            out.append(("above_maximum", "", field.maximum + 1))
        if field.minimum is not None and (field.minimum > 0 or isinstance(field, f.IntegerField)):
            out.append(("below_minimum", "", field.minimum - 1))
    elif isinstance(field, f.ChoiceField):
        out.append(("invalid_choice", "", [_UNKNOWN] if field.multiple else _UNKNOWN))
    elif isinstance(field, f.BooleanField):
        out.append(("wrong_type", "", "yes"))
        if field.must_be_true:
            out.append(("must_be_true", "", False))
    elif isinstance(field, f.PhoneField):
        out.append(("invalid_phone", "", "12345"))
        if field.accept is f.PhoneKind.MOBILE:
            out.append(("not_mobile", "", "+842343823456"))
        if field.accept is f.PhoneKind.LANDLINE:
            out.append(("not_landline", "", "+84905123456"))
    elif isinstance(field, f.GroupField):
        out.append(("wrong_type", "", "not a group"))
        if field.repeat:
            out.append(("too_many_items", "", "too-many"))
    out += _FIXED_MUTATIONS.get(type(field), [])
    return out


def _protected(fields: tuple[f.Field, ...]) -> set[str]:
    names = set()
    for field in fields:
        for cond in (field.shown_when, field.required_when):
            if cond is not None:
                names.add(cond.field)
    return names


def _targets(
    fields: tuple[f.Field, ...], values: dict[str, object], path: str, protected: set[str]
) -> list[tuple[str, dict[str, object], f.Field]]:
    found: list[tuple[str, dict[str, object], f.Field]] = []
    for field in fields:
        if field.name not in values or field.name in protected:
            continue
        here = f"{path}.{field.name}" if path else field.name
        found.append((here, values, field))
        if isinstance(field, f.GroupField):
            value = values[field.name]
            items = value if isinstance(value, list) else [value]
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    item_path = f"{here}[{index}]" if field.repeat else here
                    found += _targets(field.fields, item, item_path, _protected(field.fields))
    return found


def _apply(container: dict[str, object], field: f.Field, new: object) -> None:
    name = field.name
    if new is _REMOVE:
        del container[name]
    elif new == "drop-street":
        address = dict(container[name])  # type: ignore[call-overload]
        del address["street"]
        container[name] = address
    elif new == "too-many":
        items = list(container[name])  # type: ignore[call-overload]
        assert isinstance(field, f.GroupField)
        container[name] = [items[0]] * (field.max_items + 1)
    else:
        container[name] = new


def invalid_submissions(
    procedure: f.Procedure,
    *,
    units: f.UnitsSource | None = None,
    today: dt.date | None = None,
) -> st.SearchStrategy[InvalidSubmission]:
    """Submissions for ``procedure`` that break exactly one rule, labelled with path and code.

    A valid submission is drawn and normalised, then one value is changed (removed when
    required, made too long, out of range, of the wrong shape...), or an unknown key is added.
    Fields that other fields' conditions (or fees and documents) depend on are left alone, so
    that the change cannot show or hide anything else.
    """
    if not isinstance(procedure, f.Procedure):
        raise InvalidArgument(f"procedure={procedure!r} is not a Procedure")

    @st.composite
    def draw_invalid(draw: st.DrawFn) -> InvalidSubmission:
        day = _today(today)
        valid = draw(submissions(procedure, units=units, today=day))
        clean = valid.validate(procedure, units=units, today=day)
        values = f.Submission.from_json(clean.to_json()).values  # a private deep copy
        protected = _protected(procedure.fields)
        conditions = [fee.when for fee in procedure.fees]
        conditions += [doc.when for doc in procedure.documents]
        protected |= {cond.field for cond in conditions if cond is not None}
        choices: list[tuple[str, str, dict[str, object], f.Field | None, object]] = []
        for path, container, field in _targets(procedure.fields, values, "", protected):
            for code, sub, new in _mutations(field):
                if new is _REMOVE and container is not values and len(container) == 1:
                    # Emptying an optional group makes the group absent, which breaks nothing.
                    continue
                choices.append((code, path + sub, container, field, new))
        if not choices or draw(st.integers(0, 9)) == 0:
            choices.append(("unknown_field", "zz_extra", values, None, "surplus"))
        code, path, container, target, new = draw(st.sampled_from(choices))
        if target is None:
            container["zz_extra"] = new
        else:
            _apply(container, target, new)
        broken = attrs.evolve(clean, values=values)
        return InvalidSubmission(submission=broken, path=path, code=code)

    return draw_invalid()
