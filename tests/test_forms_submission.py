"""Submissions: every error at once, normalised values, wire forms and canonical bytes."""

from __future__ import annotations

import hashlib
import json

import pytest

from formhelpers import HUE_ADDRESS, TODAY, birth_values
from huesign.errors import FormError, FormValidationError
from huesign.forms import (
    Attachment,
    Submission,
    builtin_catalogue,
    canonical_json,
    canonical_sha256,
)

CERTIFICATE = Attachment(
    id="att-1",
    document_type="birth_certificate",
    file_name="giay-chung-sinh.pdf",
    media_type="application/pdf",
    size=250_000,
    sha256=hashlib.sha256(b"certificate").hexdigest(),
)


def _birth(values: dict[str, object] | None = None) -> Submission:
    proc = builtin_catalogue()["1.001193"]
    return Submission.for_procedure(proc, values or birth_values(), attachments=[CERTIFICATE])


def test_valid_birth_registration_is_normalised() -> None:
    proc = builtin_catalogue()["1.001193"]
    clean = _birth().validate(proc, today=TODAY).values
    assert clean["applicant"] == {
        "full_name": "Nguyễn Văn An",
        "birth_date": "1990-04-15",
        "cccd": "046090000123",
        "phone": "+84905123456",
        "address": HUE_ADDRESS,
    }


def test_every_error_is_collected_with_its_path() -> None:
    proc = builtin_catalogue()["1.001193"]
    values = birth_values()
    values["applicant"]["phone"] = "0234 3823 456"  # type: ignore[index]
    values["mother"]["residence"] = {"province_code": "46", "street": "1 Lê Lợi"}  # type: ignore[index]
    values["commitment"] = False
    values["nickname"] = "Bé Na"
    with pytest.raises(FormValidationError) as info:
        _birth(values).validate(proc, today=TODAY)
    assert [(e.path, e.code) for e in info.value.errors] == [
        ("nickname", "unknown_field"),
        ("applicant.phone", "not_mobile"),
        ("mother.residence.ward_code", "required"),
        ("commitment", "must_be_true"),
    ]
    assert "4 field errors" in str(info.value)


def test_error_messages_do_not_repeat_the_rejected_value() -> None:
    proc = builtin_catalogue()["1.001193"]
    values = birth_values()
    values["applicant"]["cccd"] = "003090999888"  # type: ignore[index]
    (error,) = _birth(values).errors(proc, today=TODAY)
    assert error.code == "unknown_province"
    assert "999888" not in error.message_vi + error.message_en


def test_required_document_without_attachment_is_reported() -> None:
    proc = builtin_catalogue()["1.001193"]
    values = birth_values()
    values["applicant_relation"] = "other"
    errors = _birth(values).errors(proc, today=TODAY)
    assert [(e.path, e.code) for e in errors] == [
        ("authorization", "required"),
        ("documents.authorization", "missing_document"),
    ]


def test_submission_for_another_procedure_is_refused() -> None:
    death = builtin_catalogue()["1.000656"]
    codes = [e.code for e in _birth().errors(death, today=TODAY)]
    assert codes[0] == "wrong_procedure"


def test_fee_follows_the_values() -> None:
    proc = builtin_catalogue()["1.001193"]
    values = birth_values()
    values["late_registration"] = True
    clean = _birth(values).validate(proc, today=TODAY)
    assert proc.fee_for(clean.values) == 8000


def test_submission_json_round_trip() -> None:
    sub = _birth()
    assert Submission.from_json(sub.to_json()) == sub


def test_values_are_copied_not_shared() -> None:
    values = birth_values()
    sub = _birth(values)
    values["child"]["full_name"] = "Đổi tên"  # type: ignore[index]
    assert sub.values["child"]["full_name"] == "Nguyễn Ngọc Hân"  # type: ignore[index]


def test_canonical_json_is_rfc8785() -> None:
    data = {"b": [3, "Huế", None], "a": {"y": False, "x": 1}}
    assert canonical_json(data) == '{"a":{"x":1,"y":false},"b":[3,"Huế",null]}'.encode()


def test_canonical_form_ignores_key_order_and_input_spelling() -> None:
    proc = builtin_catalogue()["1.001193"]
    first = _birth().validate(proc, today=TODAY)
    values = dict(reversed(list(birth_values().items())))
    values["applicant"]["phone"] = "+84 905.123.456"  # type: ignore[index]
    values["applicant"]["birth_date"] = "1990-04-15"  # type: ignore[index]
    second = _birth(values).validate(proc, today=TODAY)
    assert first.canonical_json() == second.canonical_json()
    assert first.sha256() == hashlib.sha256(first.canonical_json()).hexdigest()


def test_canonical_form_changes_with_any_value() -> None:
    proc = builtin_catalogue()["1.001193"]
    values = birth_values()
    values["child"]["sex"] = "male"  # type: ignore[index]
    changed = _birth(values).validate(proc, today=TODAY)
    assert changed.sha256() != _birth().validate(proc, today=TODAY).sha256()


def test_canonical_form_refuses_floats() -> None:
    with pytest.raises(FormError):
        canonical_json({"amount": 1.5})


def test_canonical_sha256_is_hex_of_sha256() -> None:
    assert canonical_sha256({}) == hashlib.sha256(b"{}").hexdigest()


def test_unnormalised_dates_have_no_canonical_form() -> None:
    sub = Submission(procedure_code="1.001193", procedure_version="1", values={"d": TODAY})
    with pytest.raises(FormError):
        sub.canonical_json()


def test_attachment_ids_are_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        Submission(
            procedure_code="1.001193",
            procedure_version="1",
            values={},
            attachments=[CERTIFICATE, CERTIFICATE],
        )


def test_not_a_submission() -> None:
    with pytest.raises(FormError):
        Submission.from_json(json.dumps({"values": {}}))


def test_attachment_with_an_unknown_key_is_not_a_submission() -> None:
    data = json.loads(_birth().to_json())
    data["attachments"][0]["owner"] = "someone"
    with pytest.raises(FormError):
        Submission.from_dict(data)
