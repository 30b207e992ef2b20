"""Each field kind normalises what people type and reports broken rules with a code."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest

from formhelpers import tiny_procedure
from huesign.errors import FieldError
from huesign.forms import (
    AddressField,
    Attachment,
    AttachmentField,
    BooleanField,
    CCCDField,
    ChoiceField,
    CMNDField,
    Condition,
    DateField,
    EmailField,
    Field,
    GroupField,
    IntegerField,
    MoneyField,
    Option,
    PassportField,
    PhoneField,
    PhoneKind,
    Procedure,
    Submission,
    TaxCodeField,
    TaxCodeForm,
    TextField,
)

TODAY = dt.date(2026, 3, 1)


def _run(
    field: Field, value: object, attachments: tuple[Attachment, ...] = ()
) -> tuple[object, list[tuple[str, str]]]:
    proc = tiny_procedure(field)
    sub = Submission.for_procedure(proc, {field.name: value}, attachments=attachments)
    errors = sub.errors(proc, today=TODAY)
    clean = sub.validate(proc, today=TODAY).values.get(field.name) if not errors else None
    return clean, [(e.path, e.code) for e in errors]


def _clean(field: Field, value: object) -> object:
    clean, errors = _run(field, value)
    assert errors == []
    return clean


def _codes(field: Field, value: object) -> list[str]:
    return [code for _, code in _run(field, value)[1]]


# -- text ---------------------------------------------------------------------------------------


def test_text_is_trimmed_collapsed_and_nfc() -> None:
    typed = unicodedata.normalize("NFD", "  Nguyễn   Văn  An ")
    assert _clean(TextField(name="t"), typed) == "Nguyễn Văn An"


def test_text_length_counts_characters_after_nfc() -> None:
    field = TextField(name="t", max_length=5)
    assert _clean(field, unicodedata.normalize("NFD", "Huế ạ")) == "Huế ạ"
    assert _codes(field, "Huế ạạ") == ["too_long"]


def test_text_too_short_and_pattern() -> None:
    assert _codes(TextField(name="t", min_length=3), "ab") == ["too_short"]
    assert _codes(TextField(name="t", pattern=r"[0-9]{4}"), "12a4") == ["pattern_mismatch"]


def test_text_rejects_non_strings() -> None:
    assert _codes(TextField(name="t"), 12) == ["wrong_type"]


def test_multiline_text_keeps_line_breaks() -> None:
    assert _clean(TextField(name="t", multiline=True), " a  b \n  c ") == "a b\nc"


# -- numbers ------------------------------------------------------------------------------------


def test_integer_accepts_digit_strings_and_checks_bounds() -> None:
    field = IntegerField(name="n", minimum=1, maximum=24)
    assert _clean(field, " 12 ") == 12
    assert _codes(field, 25) == ["above_maximum"]
    assert _codes(field, 0) == ["below_minimum"]


def test_integer_rejects_booleans() -> None:
    assert _codes(IntegerField(name="n"), True) == ["wrong_type"]


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1.500.000 đ", 1_500_000), ("1,500,000 VND", 1_500_000), ("15000", 15_000), (7000, 7000)],
)
def test_money_reads_vietnamese_amounts(typed: object, amount: int) -> None:
    assert _clean(MoneyField(name="m"), typed) == amount


def test_money_rejects_decimals_written_as_text() -> None:
    assert _codes(MoneyField(name="m"), "12.5 USD") == ["wrong_type"]


# -- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["2000-01-31", "31/01/2000", "31/1/2000"])
def test_dates_are_stored_in_iso_form(typed: str) -> None:
    assert _clean(DateField(name="d"), typed) == "2000-01-31"


def test_impossible_date_is_invalid() -> None:
    assert _codes(DateField(name="d"), "30/02/2024") == ["invalid_date"]


def test_date_in_the_future_is_reported() -> None:
    field = DateField(name="d", not_in_future=True)
    assert _codes(field, "2026-03-02") == ["date_in_future"]
    assert _clean(field, "2026-03-01") == "2026-03-01"


def test_min_age_counts_whole_years() -> None:
    field = DateField(name="d", min_age=18)
    assert _clean(field, "2008-03-01") == "2008-03-01"
    assert _codes(field, "2008-03-02") == ["too_young"]


def test_date_bounds() -> None:
    field = DateField(name="d", not_before=dt.date(2020, 1, 1), not_after=dt.date(2020, 12, 31))
    assert _codes(field, "2019-12-31") == ["date_too_early"]
    assert _codes(field, "2021-01-01") == ["date_too_late"]


# -- choices and booleans -------------------------------------------------------------------------

_OPTIONS = (Option(value="a"), Option(value="b"), Option(value="c"))


def test_single_choice_must_be_an_option() -> None:
    assert _codes(ChoiceField(name="c", options=_OPTIONS), "z") == ["invalid_choice"]


def test_multiple_choice_is_stored_in_option_order() -> None:
    assert _clean(ChoiceField(name="c", options=_OPTIONS, multiple=True), ["c", "a"]) == ["a", "c"]


def test_multiple_choice_counts_and_duplicates() -> None:
    field = ChoiceField(name="c", options=_OPTIONS, multiple=True, min_selected=2, max_selected=2)
    assert _codes(field, ["a"]) == ["too_few_choices"]
    assert _codes(field, ["a", "b", "c"]) == ["too_many_choices"]
    assert _codes(field, ["a", "a"]) == ["duplicate_choice"]


def test_declaration_must_be_ticked() -> None:
    assert _codes(BooleanField(name="b", must_be_true=True), False) == ["must_be_true"]


# -- contact ------------------------------------------------------------------------------------


def test_email_domain_is_lower_cased() -> None:
    assert _clean(EmailField(name="e"), " An.Nguyen@HUE.GOV.VN ") == "An.Nguyen@hue.gov.vn"


def test_email_without_domain_is_invalid() -> None:
    assert _codes(EmailField(name="e"), "an@localhost") == ["invalid_email"]


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0905 123 456", "+84905123456"),
        ("+84 905.123.456", "+84905123456"),
        ("0084-353-123-456", "+84353123456"),
        ("0234 3823 456", "+842343823456"),
        ("(024) 3825 1234", "+842438251234"),
    ],
)
def test_phone_numbers_become_e164(typed: str, e164: str) -> None:
    assert _clean(PhoneField(name="p"), typed) == e164


@pytest.mark.parametrize("typed", ["0105123456", "090512345", "12345", "+1 202 555 0100"])
def test_not_a_vietnamese_phone_number(typed: str) -> None:
    assert _codes(PhoneField(name="p"), typed) == ["invalid_phone"]


def test_mobile_only_field_rejects_a_landline() -> None:
    assert _codes(PhoneField(name="p", accept=PhoneKind.MOBILE), "0234 3823 456") == ["not_mobile"]
    landline = PhoneField(name="p", accept=PhoneKind.LANDLINE)
    assert _codes(landline, "0905123456") == ["not_landline"]


# -- identifiers --------------------------------------------------------------------------------


def test_cccd_spaces_are_removed() -> None:
    assert _clean(CCCDField(name="c"), "046 085 000 123") == "046085000123"


def test_cccd_of_unknown_birth_province() -> None:
    assert _codes(CCCDField(name="c"), "003085000123") == ["unknown_province"]


def test_cccd_registered_abroad_is_accepted() -> None:
    assert _clean(CCCDField(name="c"), "704085000123") == "704085000123"


def test_cccd_born_in_the_future_is_reported() -> None:
    # century digit 2 means the 2000s: a birth in 2099 is not possible in 2026.
    assert _codes(CCCDField(name="c"), "046299000123") == ["invalid_birth_year"]


def test_cccd_of_wrong_length() -> None:
    assert _codes(CCCDField(name="c"), "04608500012") == ["invalid_cccd"]


def test_cmnd_has_nine_or_twelve_digits() -> None:
    assert _clean(CMNDField(name="c"), "191234567") == "191234567"
    assert _codes(CMNDField(name="c"), "1912345678") == ["invalid_cmnd"]


def test_vietnamese_passport_shape() -> None:
    field = PassportField(name="p", vietnamese=True)
    assert _clean(field, "c1234567") == "C1234567"
    assert _codes(field, "123456789") == ["invalid_passport"]


def test_tax_code_check_digit() -> None:
    field = TaxCodeField(name="t")
    assert _clean(field, "0100109106") == "0100109106"
    assert _codes(field, "0100109107") == ["invalid_tax_code"]


def test_thirteen_digit_tax_code_gets_its_dash() -> None:
    assert _clean(TaxCodeField(name="t"), "0100109106001") == "0100109106-001"


def test_tax_code_form_can_be_restricted() -> None:
    field = TaxCodeField(name="t", forms=frozenset({TaxCodeForm.PERSONAL}))
    assert _clean(field, "046085000123") == "046085000123"
    assert _codes(field, "0100109106") == ["tax_code_form_not_allowed"]


# -- addresses ----------------------------------------------------------------------------------


def test_new_address_in_hue() -> None:
    value = {"province_code": "46", "ward_code": "46002", "street": " 12  Kim Long "}
    assert _clean(AddressField(name="a"), value) == {
        "province_code": "46",
        "ward_code": "46002",
        "street": "12 Kim Long",
    }


def test_ward_of_another_province_is_reported_at_its_path() -> None:
    # 46002 is a Hue unit; province 01 is Hanoi.
    value = {"province_code": "01", "ward_code": "46002", "street": "1 Tràng Tiền"}
    assert _run(AddressField(name="a"), value)[1] == [("a.ward_code", "ward_not_in_province")]


def test_unknown_ward_of_a_listed_province() -> None:
    value = {"province_code": "46", "ward_code": "19999", "street": "1 Lê Lợi"}
    assert _run(AddressField(name="a"), value)[1] == [("a.ward_code", "unknown_ward")]


def test_legacy_three_level_address_is_mapped() -> None:
    value = {
        "legacy_province": "tinh Quang Nam",
        "district": "Huyện Duy Xuyên",
        "ward": "Xã Duy Hải",
        "street": "Thôn 1",
    }
    clean = _clean(AddressField(name="a"), value)
    assert clean == {
        "province_code": "48",
        "street": "Thôn 1",
        "legacy": {"province": "Quảng Nam", "district": "Huyện Duy Xuyên", "ward": "Xã Duy Hải"},
    }


def test_legacy_hue_ward_maps_to_the_new_unit_of_that_name() -> None:
    value = {
        "legacy_province": "46",
        "district": "TP Huế",
        "ward": "Phường Kim Long",
        "street": "1",
    }
    clean = _clean(AddressField(name="a"), value)
    assert isinstance(clean, dict)
    assert clean["ward_code"] == "46002"


def test_legacy_address_can_be_refused() -> None:
    value = {"legacy_province": "46", "ward": "Phường Kim Long", "street": "1"}
    assert _codes(AddressField(name="a", allow_legacy=False), value) == [
        "legacy_address_not_allowed"
    ]


def test_address_parts_are_reported_separately() -> None:
    value = {"province_code": "99", "zip": "530000"}
    assert sorted(_run(AddressField(name="a"), value)[1]) == [
        ("a.province_code", "unknown_province"),
        ("a.street", "required"),
        ("a.zip", "unknown_field"),
    ]


# -- attachments --------------------------------------------------------------------------------

_PDF = Attachment(
    id="att-1",
    document_type="birth_certificate",
    file_name="giay-chung-sinh.pdf",
    media_type="application/pdf",
    size=120_000,
    sha256="a" * 64,
)


def test_attachment_reference_is_checked() -> None:
    field = AttachmentField(name="f", document_type="birth_certificate", max_size=100_000)
    assert _run(field, "att-1", (_PDF,))[1] == [("f", "file_too_large")]
    assert _run(field, "att-2", (_PDF,))[1] == [("f", "unknown_attachment")]


def test_attachment_document_type_and_media_type() -> None:
    assert _run(AttachmentField(name="f", document_type="photo"), "att-1", (_PDF,))[1] == [
        ("f", "wrong_document_type")
    ]
    images = AttachmentField(
        name="f", document_type="birth_certificate", media_types=("image/jpeg",)
    )
    assert _run(images, "att-1", (_PDF,))[1] == [("f", "media_type_not_allowed")]


# -- groups and conditions ------------------------------------------------------------------------

_MEMBERS = GroupField(
    name="members",
    repeat=True,
    max_items=3,
    fields=(TextField(name="full_name", required=True), CCCDField(name="cccd")),
)


def test_errors_inside_a_repeating_group_carry_the_index() -> None:
    value = [
        {"full_name": "Lê Thị Hoa", "cccd": "046185000123"},
        {"full_name": "Lê Văn Nam"},
        {"cccd": "12"},
    ]
    assert _run(_MEMBERS, value)[1] == [
        ("members[2].full_name", "required"),
        ("members[2].cccd", "invalid_cccd"),
    ]


def test_repeating_group_item_count_is_bounded() -> None:
    assert _codes(_MEMBERS, [{"full_name": "A"}] * 4) == ["too_many_items"]


def _conditional() -> Procedure:
    return tiny_procedure(
        BooleanField(name="has_father"),
        TextField(
            name="father_name",
            shown_when=Condition(field="has_father", equals=True),
            required_when=Condition(field="has_father", equals=True),
        ),
    )


def test_conditional_field_is_required_when_its_condition_holds() -> None:
    proc = _conditional()
    errors = Submission.for_procedure(proc, {"has_father": True}).errors(proc, today=TODAY)
    assert [(e.path, e.code) for e in errors] == [("father_name", "required")]


def test_hidden_field_value_is_dropped() -> None:
    proc = _conditional()
    sub = Submission.for_procedure(proc, {"has_father": False, "father_name": "Lê Văn B"})
    assert sub.validate(proc, today=TODAY).values == {"has_father": False}


def test_condition_on_a_boolean_does_not_match_the_number_one() -> None:
    assert not Condition(field="x", equals=True).holds(1)
    assert Condition(field="x", one_of=("a", "b")).holds(["c", "b"])


def test_field_error_messages_are_bilingual() -> None:
    proc = tiny_procedure(TextField(name="t", required=True))
    (error,) = Submission.for_procedure(proc, {}).errors(proc, today=TODAY)
    assert error == FieldError(
        path="t",
        code="required",
        message_vi="Trường này là bắt buộc.",
        message_en="This field is required.",
    )


def test_one_digit_province_code_is_padded() -> None:
    value = {"province_code": "1", "ward_code": "00070", "street": "1 Tràng Tiền"}
    clean = _clean(AddressField(name="a"), value)
    assert isinstance(clean, dict)
    assert clean["province_code"] == "01"


def test_wrong_type_message_names_the_expected_kind_in_both_languages() -> None:
    proc = tiny_procedure(IntegerField(name="n"))
    (error,) = Submission.for_procedure(proc, {"n": "mười"}).errors(proc, today=TODAY)
    assert error.message_vi == "Giá trị không đúng kiểu (cần số nguyên)."
    assert error.message_en == "Expected a whole number."
