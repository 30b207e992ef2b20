"""Properties of validation and canonical form, over generated procedures and submissions."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from formhelpers import tiny_procedure
from huesign.forms import (
    AddressField,
    PhoneField,
    PhoneKind,
    Procedure,
    Submission,
    builtin_catalogue,
)
from huesign.testing.forms_strategies import (
    addresses,
    invalid_submissions,
    phone_numbers,
    procedures,
    submissions,
)

TODAY = dt.date(2026, 3, 1)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ANY_PROCEDURE = procedures() | st.sampled_from(list(builtin_catalogue()))


@SETTINGS
@given(st.data())
def test_generated_submissions_validate(data: st.DataObject) -> None:
    proc = data.draw(ANY_PROCEDURE)
    sub = data.draw(submissions(proc, today=TODAY))
    assert sub.errors(proc, today=TODAY) == ()


@SETTINGS
@given(st.data())
def test_canonical_json_is_stable_through_json_and_revalidation(data: st.DataObject) -> None:
    proc = data.draw(ANY_PROCEDURE)
    clean = data.draw(submissions(proc, today=TODAY)).validate(proc, today=TODAY)
    again = Submission.from_json(clean.to_json()).validate(proc, today=TODAY)
    assert again.canonical_json() == clean.canonical_json()
    assert again.values == clean.values


@SETTINGS
@given(st.data())
def test_one_broken_rule_is_reported_at_its_path_with_its_code(data: st.DataObject) -> None:
    proc = data.draw(ANY_PROCEDURE)
    broken = data.draw(invalid_submissions(proc, today=TODAY))
    errors = broken.submission.errors(proc, today=TODAY)
    assert [(e.path, e.code) for e in errors] == [(broken.path, broken.code)]


@SETTINGS
@given(procedures())
def test_generated_procedures_round_trip_through_json(proc: Procedure) -> None:
    assert Procedure.from_json(proc.to_json()) == proc


@SETTINGS
@given(st.data())
def test_overrides_are_used(data: st.DataObject) -> None:
    proc = builtin_catalogue()["1.004194"]
    sub = data.draw(submissions(proc, overrides={"months": st.integers(1, 3)}, today=TODAY))
    clean = sub.validate(proc, today=TODAY)
    assert clean.values["months"] in (1, 2, 3)


@SETTINGS
@given(phone_numbers(kind="mobile"))
def test_mobile_numbers_normalise_to_e164(number: str) -> None:
    proc = tiny_procedure(PhoneField(name="p", accept=PhoneKind.MOBILE))
    clean = Submission.for_procedure(proc, {"p": number}).validate(proc, today=TODAY)
    phone = clean.values["p"]
    assert isinstance(phone, str)
    assert phone.startswith("+84")
    assert len(phone) == 12


@SETTINGS
@given(phone_numbers(kind="landline"))
def test_landline_numbers_normalise_to_e164(number: str) -> None:
    proc = tiny_procedure(PhoneField(name="p", accept=PhoneKind.LANDLINE))
    clean = Submission.for_procedure(proc, {"p": number}).validate(proc, today=TODAY)
    assert clean.values["p"] == "+84" + "".join(c for c in number if c.isdigit()).removeprefix(
        "84"
    ).removeprefix("0")


@SETTINGS
@given(addresses(provinces=("46",)))
def test_generated_hue_addresses_validate(address: dict[str, str]) -> None:
    proc = tiny_procedure(AddressField(name="a", provinces=("46",)))
    clean = Submission.for_procedure(proc, {"a": address}).validate(proc, today=TODAY)
    assert clean.values["a"] == address


@pytest.mark.parametrize(
    "build",
    [
        lambda: phone_numbers(kind="fax"),  # type: ignore[arg-type]
        lambda: procedures(max_fields=0),
        lambda: procedures(max_depth=9),
        lambda: addresses(provinces="46"),  # type: ignore[arg-type]
        lambda: submissions("1.001193"),  # type: ignore[arg-type]
        lambda: submissions(builtin_catalogue()["1.001193"], overrides={"nope": 1}),
    ],
)
def test_invalid_strategy_arguments_are_refused(build: object) -> None:
    with pytest.raises(InvalidArgument):
        build()  # type: ignore[operator]
