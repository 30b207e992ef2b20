"""Citizen identities: typed UIDs, Vietnamese names in NFC, and the identity strategies."""

from __future__ import annotations

import doctest
import unicodedata
from types import ModuleType

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from huesign.pki import (
    UID_OID,
    CitizenIdentity,
    Identifier,
    IdentifierType,
    is_valid_cccd,
    is_valid_cmnd,
    is_valid_tax_code,
)
from huesign.pki import identity as identity_module
from huesign.testing import strategies as hs

VIETTEL_MST = "0100109106"


def _name(*uids: str, cn: str = "Nguyễn Văn An") -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    attrs += [x509.NameAttribute(UID_OID, u) for u in uids]
    return x509.Name(attrs)


# -- number formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("046085000123", True),
        ("04608500012", False),
        ("04608500012a", False),
        ("０４６０８５０００１２３", False),
    ],
)
def test_cccd_shape(value: str, valid: bool) -> None:
    assert is_valid_cccd(value) is valid


@pytest.mark.parametrize(
    ("value", "valid"), [("191234567", True), ("046085000123", True), ("1912345678", False)]
)
def test_cmnd_has_nine_or_twelve_digits(value: str, valid: bool) -> None:
    assert is_valid_cmnd(value) is valid


def test_published_company_tax_code_is_valid() -> None:
    assert is_valid_tax_code(VIETTEL_MST)


def test_tax_code_with_a_wrong_check_digit_is_invalid() -> None:
    assert not is_valid_tax_code(VIETTEL_MST[:-1] + "7")


@pytest.mark.parametrize(
    ("suffix", "valid"), [("-001", True), ("-999", True), ("-000", False), ("-01", False)]
)
def test_branch_tax_codes(suffix: str, valid: bool) -> None:
    assert is_valid_tax_code(VIETTEL_MST + suffix) is valid


def test_twelve_digit_cccd_is_a_personal_tax_code() -> None:
    assert is_valid_tax_code("046085000123")


def test_tax_code_whose_remainder_is_zero_is_invalid() -> None:
    weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
    bodies = (f"{n:09d}" for n in range(1, 1000))
    body = next(
        b for b in bodies if sum(w * int(d) for w, d in zip(weights, b, strict=True)) % 11 == 0
    )
    assert not any(is_valid_tax_code(body + str(d)) for d in range(10))


# -- identifiers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "prefix", "value"),
    [
        ("CCCD:046085000123", "CCCD", "046085000123"),
        ("cccd : 046085000123", "CCCD", "046085000123"),
        ("CMND-191234567", "CMND", "191234567"),
        ("MST:0100109106-001", "MST", "0100109106-001"),
    ],
)
def test_identifier_parsing_accepts_issuer_spellings(text: str, prefix: str, value: str) -> None:
    assert Identifier.parse(text) == Identifier(prefix, value)


def test_text_without_a_prefix_is_not_an_identifier() -> None:
    assert Identifier.parse("046085000123") is None


@pytest.mark.parametrize(
    ("identifier", "kind"),
    [
        (Identifier.cccd("046085000123"), IdentifierType.CCCD),
        (Identifier.cmnd("191234567"), IdentifierType.CMND),
        (Identifier.passport("C1234567"), IdentifierType.PASSPORT),
        (Identifier.tax_code(VIETTEL_MST), IdentifierType.TAX_CODE),
        (Identifier.budget_unit("1054321"), IdentifierType.BUDGET_UNIT),
        (Identifier("BHXH", "7912345678"), None),
    ],
)
def test_each_prefix_has_its_type(identifier: Identifier, kind: IdentifierType | None) -> None:
    assert identifier.type is kind


def test_malformed_value_is_reported_not_rejected() -> None:
    assert not Identifier.cccd("12345").is_well_formed
    assert Identifier("BHXH", "anything").is_well_formed


def test_masked_keeps_the_last_four() -> None:
    assert Identifier.cccd("046085000123").masked() == "********0123"


def test_empty_value_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        Identifier.cccd("  ")


def test_prefix_with_a_colon_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="prefix"):
        Identifier("CC:CD", "1")


# -- identities -----------------------------------------------------------------------------------


def test_every_uid_in_a_subject_is_found() -> None:
    ident = CitizenIdentity.from_name(
        _name("MST:0100109106", "CCCD:046085000123", "HC:C1234567", "MNS:1054321", "CMND:191234567")
    )
    assert (ident.tax_code, ident.cccd, ident.passport, ident.budget_unit_code, ident.cmnd) == (
        "0100109106",
        "046085000123",
        "C1234567",
        "1054321",
        "191234567",
    )


def test_repeated_uid_types_are_all_kept_in_order() -> None:
    ident = CitizenIdentity.from_name(_name("CCCD:046085000123", "CCCD:001190000001"))
    assert [i.value for i in ident.find(IdentifierType.CCCD)] == ["046085000123", "001190000001"]


def test_uid_without_a_prefix_is_kept_as_other() -> None:
    ident = CitizenIdentity.from_name(_name("nguyenvanan"))
    assert (ident.identifiers, ident.other_uids) == ((), ("nguyenvanan",))


def test_primary_identifier_prefers_cccd_over_the_first_uid() -> None:
    ident = CitizenIdentity.from_name(_name("MST:0100109106", "CCCD:046085000123"))
    assert ident.primary_identifier == Identifier.cccd("046085000123")


def test_decomposed_name_is_stored_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Huỳnh Thị Thuỷ")
    ident = CitizenIdentity(common_name=decomposed)
    assert ident.common_name == unicodedata.normalize("NFC", "Huỳnh Thị Thuỷ")
    assert ident == CitizenIdentity(common_name="Huỳnh Thị Thuỷ")


def test_subject_order_is_the_vietnamese_ca_order() -> None:
    ident = CitizenIdentity(
        common_name="Hoàng Văn Đức",
        identifiers=(Identifier.cccd("046085000321"), Identifier.tax_code(VIETTEL_MST)),
        organization="UBND phường Thuận Hoá",
        organizational_unit="Bộ phận một cửa",
        title="Chuyên viên",
        locality="Thuận Hoá",
        province="Thành phố Huế",
        country="VN",
        email="duc@hue.gov.vn",
    )
    oids = [a.oid for a in ident.to_name()]
    assert oids == [
        NameOID.COUNTRY_NAME,
        NameOID.STATE_OR_PROVINCE_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.TITLE,
        NameOID.COMMON_NAME,
        UID_OID,
        UID_OID,
        NameOID.EMAIL_ADDRESS,
    ]
    assert CitizenIdentity.from_name(ident.to_name()) == ident


def test_empty_common_name_round_trips_as_absent() -> None:
    ident = CitizenIdentity(common_name="", identifiers=(Identifier.cccd("046085000123"),))
    assert CitizenIdentity.from_name(ident.to_name()) == ident


def test_display_name_masks_the_identifier() -> None:
    ident = CitizenIdentity(
        common_name="Lê Thị Mai", identifiers=(Identifier.cccd("046190000777"),)
    )
    assert ident.display_name() == "Lê Thị Mai (CCCD ********0777)"


def test_identity_survives_der_encoding() -> None:
    ident = CitizenIdentity(
        common_name="Ngô Bảo Châu", identifiers=(Identifier.passport("B7654321"),), country="VN"
    )
    name = ident.to_name()
    back = x509.Name.from_rfc4514_string(name.rfc4514_string(), {"UID": UID_OID})
    assert CitizenIdentity.from_name(back) == ident


# -- properties -----------------------------------------------------------------------------------


@settings(max_examples=50)
@given(hs.citizen_identities(min_identifiers=0, max_identifiers=6))
def test_any_identity_round_trips_through_a_name(ident: CitizenIdentity) -> None:
    assert CitizenIdentity.from_name(ident.to_name()) == ident


@settings(max_examples=50)
@given(st.lists(hs.identifiers(), min_size=1, max_size=6))
def test_any_mix_of_uid_types_is_found_typed(ids: list[Identifier]) -> None:
    ident = CitizenIdentity.from_name(_name(*(str(i) for i in ids)))
    assert [(i.type, i.value) for i in ident.identifiers] == [(i.type, i.value) for i in ids]
    assert all(i.is_well_formed for i in ident.identifiers)


@settings(max_examples=50)
@given(hs.vietnamese_names())
def test_generated_names_are_nfc_and_survive_a_subject(name: str) -> None:
    assert unicodedata.is_normalized("NFC", name)
    assert CitizenIdentity.from_name(_name(cn=name)).common_name == name


# -- the strategies themselves --------------------------------------------------------------------


@settings(max_examples=50)
@given(hs.cccd_numbers(province=46, gender="female", birth_year=2003))
def test_cccd_strategy_encodes_province_gender_and_year(number: str) -> None:
    assert is_valid_cccd(number)
    assert number[:6] == "046303"


@settings(max_examples=50)
@given(hs.cccd_numbers())
def test_cccd_strategy_uses_legacy_province_codes(number: str) -> None:
    assert int(number[:3]) in hs.PROVINCE_CODES


def test_there_are_sixty_three_legacy_province_codes() -> None:
    assert len(set(hs.PROVINCE_CODES)) == 63
    assert 46 in hs.PROVINCE_CODES


@settings(max_examples=50)
@given(st.sampled_from(["company", "branch", "personal"]).flatmap(lambda k: hs.tax_codes(kind=k)))
def test_tax_code_strategy_gives_valid_codes(code: str) -> None:
    assert is_valid_tax_code(code)


@settings(max_examples=30)
@given(hs.passport_numbers())
def test_passport_numbers_are_a_letter_and_seven_digits(number: str) -> None:
    assert len(number) == 8
    assert number[0].isupper()
    assert number[1:].isdigit()


@settings(max_examples=30)
@given(hs.cmnd_numbers())
def test_cmnd_strategy_gives_valid_numbers(number: str) -> None:
    assert is_valid_cmnd(number)


@pytest.mark.parametrize(
    "make",
    [
        lambda: hs.cccd_numbers(province=3),
        lambda: hs.cccd_numbers(gender="other"),  # type: ignore[arg-type]
        lambda: hs.cccd_numbers(birth_year=1850),
        lambda: hs.tax_codes(kind="foreign"),  # type: ignore[arg-type]
        lambda: hs.cmnd_numbers(digits=10),  # type: ignore[arg-type]
        lambda: hs.identifiers(types=[]),
        lambda: hs.citizen_identities(min_identifiers=3, max_identifiers=1),
        lambda: hs.private_keys(algorithms=()),
        lambda: hs.vietnamese_names(middle_names=5),
    ],
)
def test_invalid_strategy_arguments_raise_invalid_argument(make: object) -> None:
    with pytest.raises(InvalidArgument):
        make()  # type: ignore[operator]


@pytest.mark.parametrize("module", [identity_module, hs], ids=lambda m: m.__name__)
def test_module_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
