"""Validation and normalisation of submitted values, one small checker per field kind.

A checker takes a field definition and a raw value and returns the normalised value (``None``
when the value is empty) with a list of problems ``(sub-path, code, params)``; the sub-path is
relative to the field (``""`` for the field itself, ``".ward_code"`` for part of an address).
:func:`check_fields` walks a group of fields, applies the conditions and builds the paths.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import attrs

from huesign.errors import FieldError
from huesign.forms import fields as f
from huesign.forms._messages import field_error
from huesign.forms._text import clean_text
from huesign.forms.units import UnitsSource, find_communal_unit, find_legacy_province
from huesign.pki.identity import is_valid_cccd, is_valid_cmnd, is_valid_tax_code

__all__ = [
    "AttachmentInfo",
    "Context",
    "check_fields",
    "check_value",
    "normalise_phone",
    "tax_code_form",
]

Problem: TypeAlias = tuple[str, str, dict[str, object]]
Result: TypeAlias = tuple[object, list[Problem]]

_MAX_RAW_TEXT = 20_000
_INTEGER = re.compile(r"\s*-?\d{1,18}\s*")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_VN_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$")
_PHONE_NOISE = re.compile(r"[\s.\-()]")
_MONEY_SUFFIX = re.compile(r"\s*(đ|₫|vnđ|vnd|đồng)\s*$", re.IGNORECASE)
_VN_PASSPORT = re.compile(r"^[A-Z]\d{7}$")
_ANY_PASSPORT = re.compile(r"^[A-Z0-9]{6,9}$")
_WARD_CODE = re.compile(r"^\d{5}$")
_NEW_ADDRESS_KEYS = frozenset({"province_code", "ward_code", "street", "legacy"})
_LEGACY_KEYS = frozenset({"legacy_province", "district", "ward"})


@attrs.frozen(kw_only=True)
class AttachmentInfo:
    """What validation needs to know about an attachment."""

    document_type: str
    media_type: str
    size: int


@attrs.frozen(kw_only=True)
class Context:
    """What checkers consult besides the value: units, the day, the attachments."""

    units: UnitsSource
    today: dt.date
    attachments: Mapping[str, AttachmentInfo]


def _problem(code: str, sub: str = "", **params: object) -> Problem:
    return (sub, code, params)


def _wrong(expected: str) -> Result:
    return None, [_problem("wrong_type", expected=expected)]


def _bounds(value: int, low: int | None, high: int | None) -> list[Problem]:
    if low is not None and value < low:
        return [_problem("below_minimum", limit=low)]
    if high is not None and value > high:
        return [_problem("above_maximum", limit=high)]
    return []


def _text(field: f.TextField, raw: object, _ctx: Context) -> Result:
    if not isinstance(raw, str):
        return _wrong("text")
    if len(raw) > _MAX_RAW_TEXT:
        return None, [_problem("too_long", limit=field.max_length)]
    value = clean_text(raw, multiline=field.multiline)
    if not value:
        return None, []
    if len(value) < field.min_length:
        return value, [_problem("too_short", limit=field.min_length)]
    if len(value) > field.max_length:
        return value, [_problem("too_long", limit=field.max_length)]
    if field.pattern is not None and not re.fullmatch(field.pattern, value):
        return value, [_problem("pattern_mismatch")]
    return value, []


def _as_int(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 2**53:
        return int(raw)
    if isinstance(raw, str) and _INTEGER.fullmatch(raw):
        return int(raw)
    return None


def _integer(field: f.IntegerField, raw: object, _ctx: Context) -> Result:
    if raw == "":
        return None, []
    value = _as_int(raw)
    if value is None:
        return _wrong("a whole number")
    return value, _bounds(value, field.minimum, field.maximum)


def _money(field: f.MoneyField, raw: object, _ctx: Context) -> Result:
    value: int
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and len(raw) <= 40:
        digits = re.sub(r"[\s.,]", "", _MONEY_SUFFIX.sub("", raw.strip()))
        if not digits:
            return None, []
        if not digits.isascii() or not digits.isdigit():
            return _wrong("an amount in VND")
        value = int(digits)
    else:
        return _wrong("an amount in VND")
    return value, _bounds(value, field.minimum, field.maximum)


def _parse_date(raw: object) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return None
    if isinstance(raw, dt.date):
        return raw
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    iso, vn = _ISO_DATE.match(text), _VN_DATE.match(text)
    try:
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
        if vn:
            return dt.date(int(vn[3]), int(vn[2]), int(vn[1]))
    except ValueError:
        return None
    return None


def _age(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _date(field: f.DateField, raw: object, ctx: Context) -> Result:
    if raw == "":
        return None, []
    value = _parse_date(raw)
    if value is None:
        return None, [_problem("invalid_date")]
    problems: list[Problem] = []
    if field.not_before and value < field.not_before:
        problems.append(_problem("date_too_early", limit=field.not_before.isoformat()))
    if field.not_after and value > field.not_after:
        problems.append(_problem("date_too_late", limit=field.not_after.isoformat()))
    if field.not_in_future and value > ctx.today:
        problems.append(_problem("date_in_future"))
    age = _age(value, ctx.today)
    if field.min_age is not None and age < field.min_age:
        problems.append(_problem("too_young", limit=field.min_age))
    if field.max_age is not None and age > field.max_age:
        problems.append(_problem("too_old", limit=field.max_age))
    return value.isoformat(), problems


def _choice(field: f.ChoiceField, raw: object, _ctx: Context) -> Result:
    allowed = [o.value for o in field.options]
    if not field.multiple:
        if not isinstance(raw, str):
            return _wrong("one of the options")
        value = raw.strip()
        if not value:
            return None, []
        return value, [] if value in allowed else [_problem("invalid_choice")]
    if not isinstance(raw, list | tuple) or len(raw) > len(allowed) * 2:
        return _wrong("a list of options")
    if not all(isinstance(item, str) for item in raw):
        return _wrong("a list of options")
    chosen = [item.strip() for item in raw]
    if not chosen:
        return None, []
    if any(item not in allowed for item in chosen):
        return chosen, [_problem("invalid_choice")]
    if len(set(chosen)) != len(chosen):
        return chosen, [_problem("duplicate_choice")]
    ordered = [value for value in allowed if value in chosen]
    problems = []
    if len(ordered) < field.min_selected:
        problems.append(_problem("too_few_choices", limit=field.min_selected))
    if field.max_selected is not None and len(ordered) > field.max_selected:
        problems.append(_problem("too_many_choices", limit=field.max_selected))
    return ordered, problems


def _boolean(field: f.BooleanField, raw: object, _ctx: Context) -> Result:
    if not isinstance(raw, bool):
        return _wrong("true or false")
    return raw, [_problem("must_be_true")] if field.must_be_true and not raw else []


def _email(_field: f.EmailField, raw: object, _ctx: Context) -> Result:
    if not isinstance(raw, str):
        return _wrong("text")
    value = raw.strip()
    if not value:
        return None, []
    if len(value) > 254 or not _EMAIL.match(value):
        return None, [_problem("invalid_email")]
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}", []


def normalise_phone(raw: str) -> tuple[str, str] | None:
    """``(E.164 number, "mobile" | "landline")`` for a Vietnamese number, else ``None``."""
    text = _PHONE_NOISE.sub("", raw)
    for prefix in ("+84", "0084", "0"):
        if text.startswith(prefix):
            national = text[len(prefix) :]
            break
    else:
        return None
    if not national.isascii() or not national.isdigit():
        return None
    if len(national) == 9 and national[0] in "35789":
        return "+84" + national, "mobile"
    if len(national) == 10 and national[0] == "2":
        return "+84" + national, "landline"
    return None


def _phone(field: f.PhoneField, raw: object, _ctx: Context) -> Result:
    if not isinstance(raw, str):
        return _wrong("text")
    if not raw.strip():
        return None, []
    parsed = normalise_phone(raw[:40])
    if parsed is None:
        return None, [_problem("invalid_phone")]
    value, kind = parsed
    if field.accept is f.PhoneKind.MOBILE and kind != "mobile":
        return value, [_problem("not_mobile")]
    if field.accept is f.PhoneKind.LANDLINE and kind != "landline":
        return value, [_problem("not_landline")]
    return value, []


def _digits(raw: object) -> str | None:
    return re.sub(r"\s", "", raw[:40]) if isinstance(raw, str) else None


def _cccd(_field: f.CCCDField, raw: object, ctx: Context) -> Result:
    value = _digits(raw)
    if value is None:
        return _wrong("text")
    if not value:
        return None, []
    if not is_valid_cccd(value):
        return None, [_problem("invalid_cccd")]
    place = int(value[:3])
    # 001..099 are birth-registration provinces; larger codes are countries (births abroad).
    if place < 100 and ctx.units.legacy_province(f"{place:02d}") is None:
        return value, [_problem("unknown_province")]
    century = 1900 + (int(value[3]) // 2) * 100
    if century + int(value[4:6]) > ctx.today.year:
        return value, [_problem("invalid_birth_year")]
    return value, []


def _cmnd(_field: f.CMNDField, raw: object, _ctx: Context) -> Result:
    value = _digits(raw)
    if value is None:
        return _wrong("text")
    if not value:
        return None, []
    return value, [] if is_valid_cmnd(value) else [_problem("invalid_cmnd")]


def _passport(field: f.PassportField, raw: object, _ctx: Context) -> Result:
    value = _digits(raw)
    if value is None:
        return _wrong("text")
    value = value.upper()
    if not value:
        return None, []
    shape = _VN_PASSPORT if field.vietnamese else _ANY_PASSPORT
    return value, [] if shape.match(value) else [_problem("invalid_passport")]


def tax_code_form(value: str) -> f.TaxCodeForm | None:
    """The form of a normalised tax code, or ``None`` if it is not a valid one."""
    if not is_valid_tax_code(value):
        return None
    if "-" in value:
        return f.TaxCodeForm.BRANCH
    return f.TaxCodeForm.PERSONAL if len(value) == 12 else f.TaxCodeForm.ORGANIZATION


def _tax_code(field: f.TaxCodeField, raw: object, _ctx: Context) -> Result:
    value = _digits(raw)
    if value is None:
        return _wrong("text")
    if not value:
        return None, []
    if len(value) == 13 and value.isdigit():
        value = f"{value[:10]}-{value[10:]}"
    form = tax_code_form(value)
    if form is None:
        return None, [_problem("invalid_tax_code")]
    return value, [] if form in field.forms else [_problem("tax_code_form_not_allowed")]


def _part(raw: Mapping[str, object], key: str, limit: int) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    return clean_text(str(value)[: limit * 4])[: limit * 2] or None


def _address(field: f.AddressField, raw: object, ctx: Context) -> Result:
    if raw is None or raw == {}:
        return None, []
    if not isinstance(raw, Mapping):
        return _wrong("an address")
    problems = [
        _problem("unknown_field", f".{key}")
        for key in raw
        if key not in _NEW_ADDRESS_KEYS | _LEGACY_KEYS
    ]
    limit = field.street_max_length
    street = _part(raw, "street", limit)
    if street is None:
        problems.append(_problem("required", ".street"))
    elif len(street) > limit:
        problems.append(_problem("too_long", ".street", limit=limit))
    out: dict[str, object] = {}
    legacy = not (raw.keys() & {"province_code", "ward_code"}) and raw.keys() & _LEGACY_KEYS
    if legacy:
        problems += _legacy_address(field, raw, ctx, out)
    else:
        problems += _new_address(field, raw, ctx, out)
        kept = raw.get("legacy")  # a normalised legacy address keeps what it was mapped from
        if isinstance(kept, Mapping) and field.allow_legacy:
            out["legacy"] = {
                str(k): clean_text(str(v))[:200] for k, v in list(kept.items())[:3] if v
            }
        elif kept is not None:
            problems.append(_problem("legacy_address_not_allowed", ".legacy"))
    if street is not None:
        out["street"] = street
    return out, problems


def _new_address(
    field: f.AddressField, raw: Mapping[str, object], ctx: Context, out: dict[str, object]
) -> list[Problem]:
    province = _part(raw, "province_code", 8)
    ward = _part(raw, "ward_code", 16)
    if province is None:
        return [_problem("required", ".province_code")]
    if province.isdigit() and len(province) == 1:
        province = province.zfill(2)  # people write Hanoi as 1
    out["province_code"] = province
    if ctx.units.province(province) is None:
        return [_problem("unknown_province", ".province_code")]
    if field.provinces and province not in field.provinces:
        return [_problem("province_not_allowed", ".province_code")]
    if ward is None:
        # A mapped legacy address may have no new ward: its old ward could not be placed.
        mapped = field.allow_legacy and isinstance(raw.get("legacy"), Mapping)
        return [] if mapped else [_problem("required", ".ward_code")]
    out["ward_code"] = ward
    unit = ctx.units.communal_unit(ward)
    if unit is not None:
        ok = unit.province_code == province
        return [] if ok else [_problem("ward_not_in_province", ".ward_code")]
    listed = ctx.units.communal_units(province) is not None
    return [_problem("unknown_ward", ".ward_code")] if listed or not _WARD_CODE.match(ward) else []


def _legacy_address(
    field: f.AddressField, raw: Mapping[str, object], ctx: Context, out: dict[str, object]
) -> list[Problem]:
    if not field.allow_legacy:
        return [_problem("legacy_address_not_allowed")]
    name = _part(raw, "legacy_province", 60)
    if name is None:
        return [_problem("required", ".legacy_province")]
    found = find_legacy_province(ctx.units, name)
    if found is None:
        return [_problem("unknown_legacy_province", ".legacy_province")]
    out["province_code"] = found.new_code
    if field.provinces and found.new_code not in field.provinces:
        return [_problem("province_not_allowed", ".legacy_province")]
    ward_name = _part(raw, "ward", 60)
    unit = find_communal_unit(ctx.units, found.new_code, ward_name) if ward_name else None
    if unit is not None:
        out["ward_code"] = unit.code
    legacy: dict[str, object] = {"province": found.name}
    for key in ("district", "ward"):
        part = _part(raw, key, 60)
        if part is not None:
            legacy[key] = part
    out["legacy"] = legacy
    return []


def _attachment(field: f.AttachmentField, raw: object, ctx: Context) -> Result:
    if not isinstance(raw, str):
        return _wrong("an attachment id")
    value = raw.strip()
    if not value:
        return None, []
    info = ctx.attachments.get(value)
    if info is None:
        return value, [_problem("unknown_attachment")]
    if info.document_type != field.document_type:
        return value, [_problem("wrong_document_type", expected=field.document_type)]
    if info.media_type not in field.media_types:
        return value, [_problem("media_type_not_allowed")]
    if info.size > field.max_size:
        return value, [_problem("file_too_large", limit=field.max_size)]
    return value, []


_CHECKERS: dict[type[Any], Callable[[Any, object, Context], Result]] = {
    f.TextField: _text,
    f.IntegerField: _integer,
    f.MoneyField: _money,
    f.DateField: _date,
    f.ChoiceField: _choice,
    f.BooleanField: _boolean,
    f.EmailField: _email,
    f.PhoneField: _phone,
    f.CCCDField: _cccd,
    f.CMNDField: _cmnd,
    f.PassportField: _passport,
    f.TaxCodeField: _tax_code,
    f.AddressField: _address,
    f.AttachmentField: _attachment,
}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _errors(path: str, problems: list[Problem]) -> list[FieldError]:
    return [field_error(path + sub, code, **params) for sub, code, params in problems]


def _group(
    field: f.GroupField, raw: object, ctx: Context, path: str
) -> tuple[object, list[FieldError]]:
    if not field.repeat:
        if not isinstance(raw, Mapping):
            return None, _errors(path, [_problem("wrong_type", expected="an object")])
        if not raw:
            return None, []
        out, found = check_fields(field.fields, raw, ctx, path=path)
        return out or None, found
    if not isinstance(raw, list | tuple):
        return None, _errors(path, [_problem("wrong_type", expected="a list")])
    if len(raw) > field.max_items:
        return None, _errors(path, [_problem("too_many_items", limit=field.max_items)])
    if not raw:
        return None, []
    items: list[object] = []
    errors: list[FieldError] = []
    for index, item in enumerate(raw):
        item_path = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            errors += _errors(item_path, [_problem("wrong_type", expected="an object")])
            items.append({})
            continue
        out, item_errors = check_fields(field.fields, item, ctx, path=item_path)
        items.append(out)
        errors += item_errors
    if len(raw) < field.min_items:
        errors += _errors(path, [_problem("too_few_items", limit=field.min_items)])
    return items, errors


def check_value(
    field: f.Field, raw: object, ctx: Context, path: str
) -> tuple[object, list[FieldError]]:
    """Normalise and check one value; ``(None, [])`` for an empty value."""
    if raw is None:
        return None, []
    if isinstance(field, f.GroupField):
        return _group(field, raw, ctx, path)
    value, problems = _CHECKERS[type(field)](field, raw, ctx)
    return value, _errors(path, problems)


def _visible(fields: tuple[f.Field, ...], values: Mapping[str, object]) -> set[str]:
    visible = {field.name for field in fields}
    changed = True
    while changed:  # hiding a field may hide the fields that depend on it
        changed = False
        for field in fields:
            cond = field.shown_when
            if field.name not in visible or cond is None:
                continue
            sibling = values.get(cond.field) if cond.field in visible else None
            if not cond.holds(sibling):
                visible.discard(field.name)
                changed = True
    return visible


def _missing(field: f.Field, raw: object, ctx: Context, path: str) -> list[FieldError]:
    """Errors for a needed field without a value: an empty object names its missing parts."""
    if isinstance(field, f.GroupField) and not field.repeat and isinstance(raw, Mapping):
        found = check_fields(field.fields, raw, ctx, path=path)[1]
        if found:
            return found
    return [field_error(path, "required")]


def check_fields(
    fields: tuple[f.Field, ...], raw: Mapping[str, object], ctx: Context, *, path: str = ""
) -> tuple[dict[str, object], list[FieldError]]:
    """Normalise and check a group of values; return the clean values and every error.

    Values of fields hidden by ``shown_when`` are dropped, with their errors.
    """
    known = {field.name for field in fields}
    errors = [
        field_error(_join(path, str(key)), "unknown_field") for key in raw if key not in known
    ]
    values: dict[str, object] = {}
    found: dict[str, list[FieldError]] = {}
    for field in fields:
        values[field.name], found[field.name] = check_value(
            field, raw.get(field.name), ctx, _join(path, field.name)
        )
    visible = _visible(fields, values)
    out: dict[str, object] = {}
    for field in fields:
        if field.name not in visible:
            continue
        value, field_errors = values[field.name], found[field.name]
        if value is None and not field_errors:
            cond = field.required_when
            needed = field.required or (
                cond is not None and cond.field in visible and cond.holds(values.get(cond.field))
            )
            if needed:
                field_errors = _missing(field, raw.get(field.name), ctx, _join(path, field.name))
        if value is not None:
            out[field.name] = value
        errors += field_errors
    return out, errors
