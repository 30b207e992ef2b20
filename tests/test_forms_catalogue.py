"""The built-in catalogue: the shipped procedures and search."""

from __future__ import annotations

import unicodedata

import attrs
import pytest

from huesign.forms import Catalogue, Procedure, builtin_catalogue

CODES = ["1.000656", "1.001193", "1.004194", "1.004222", "1.004873", "2.000815"]


def test_catalogue_holds_the_common_citizen_procedures() -> None:
    assert [p.code for p in builtin_catalogue()] == CODES


@pytest.mark.parametrize("code", CODES)
def test_shipped_definition_round_trips(code: str) -> None:
    proc = builtin_catalogue()[code]
    assert Procedure.from_json(proc.to_json()) == proc


@pytest.mark.parametrize("code", CODES)
def test_figures_that_are_not_official_are_marked_sample(code: str) -> None:
    proc = builtin_catalogue()[code]
    assert proc.processing_time.sample
    assert all(fee.sample for fee in proc.fees if fee.amount > 0)


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("dang ky khai sinh", ["1.001193"]),
        ("Đăng ký khai sinh", ["1.001193"]),
        ("ĐĂNG KÝ KHAI TỬ", ["1.000656"]),
        ("tam tru", ["1.004194"]),
        ("cu tru", ["1.004194", "1.004222"]),
        ("xac nhan tinh trang hon nhan", ["1.004873"]),
        ("chung thuc ban sao", ["2.000815"]),
        ("1.004", ["1.004194", "1.004222", "1.004873"]),
        ("1.001193", ["1.001193"]),
        ("birth", ["1.001193"]),
    ],
)
def test_search(query: str, codes: list[str]) -> None:
    assert [p.code for p in builtin_catalogue().search(query)] == codes


def test_search_folds_d_with_stroke() -> None:
    # "đ" does not decompose into "d" plus a mark; it must still match "d".
    assert builtin_catalogue().search("dang") == builtin_catalogue().search("đăng")


def test_search_matches_word_beginnings_only() -> None:
    assert builtin_catalogue().search("ang ky") == ()


def test_names_with_the_query_as_written_come_first() -> None:
    found = builtin_catalogue().search("đăng ký")
    assert found[0].name_vi.casefold().startswith("đăng ký")


def test_unknown_code_raises_key_error() -> None:
    with pytest.raises(KeyError):
        builtin_catalogue()["9.999999"]
    assert builtin_catalogue().get("9.999999") is None


def test_with_procedures_replaces_by_code() -> None:
    birth = builtin_catalogue()["1.001193"]
    newer = attrs.evolve(birth, version="2026.1")
    catalogue = builtin_catalogue().with_procedures(newer)
    assert catalogue["1.001193"].version == "2026.1"
    assert len(catalogue) == len(builtin_catalogue())


def test_catalogue_refuses_two_versions_of_one_code() -> None:
    birth = builtin_catalogue()["1.001193"]
    with pytest.raises(ValueError, match="one procedure per code"):
        Catalogue([birth, birth])


@pytest.mark.parametrize("code", CODES)
def test_every_procedure_is_found_by_its_name_typed_without_diacritics(code: str) -> None:
    proc = builtin_catalogue()[code]
    bare = (
        "".join(
            c for c in unicodedata.normalize("NFD", proc.name_vi) if not unicodedata.combining(c)
        )
        .replace("đ", "d")
        .replace("Đ", "D")
    )
    assert proc in builtin_catalogue().search(bare)
