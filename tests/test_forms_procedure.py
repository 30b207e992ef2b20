"""Procedure definitions load strictly, report problems with their path, and round-trip."""

from __future__ import annotations

import copy
import json

import pytest

from huesign.errors import ProcedureError
from huesign.forms import (
    BooleanField,
    Condition,
    Fee,
    GroupField,
    Procedure,
    ProcedureLevel,
    ProcessingTime,
    TextField,
)

BASE: dict[str, object] = {
    "code": "9.000001",
    "version": "1",
    "name_vi": "Thủ tục thử",
    "domain": "Thử nghiệm",
    "level": "communal",
    "agency": "UBND phường Kim Long",
    "processing_time": {"days": 3, "sample": True},
    "fees": [
        {"amount": 15000, "when": {"field": "channel", "equals": "direct"}},
        {"amount": 7000, "when": {"field": "channel", "equals": "online"}},
    ],
    "fields": [
        {
            "kind": "choice",
            "name": "channel",
            "options": [{"value": "online"}, {"value": "direct"}],
        },
        {
            "kind": "group",
            "name": "members",
            "repeat": True,
            "fields": [
                {"kind": "text", "name": "full_name", "required": True, "max_length": 100},
                {"kind": "tax_code", "name": "mst", "forms": ["branch", "organization"]},
                {"kind": "date", "name": "birth_date", "not_after": "2030-12-31"},
            ],
        },
    ],
}


def _with(path: list[str | int], value: object) -> dict[str, object]:
    data = copy.deepcopy(BASE)
    target: object = data
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]
    return data


def _error(data: dict[str, object]) -> ProcedureError:
    with pytest.raises(ProcedureError) as info:
        Procedure.from_dict(data)
    return info.value


def test_json_round_trip_is_exact() -> None:
    proc = Procedure.from_dict(BASE)
    assert Procedure.from_json(proc.to_json()) == proc


def test_to_json_leaves_defaults_out_but_keeps_the_kind() -> None:
    data = json.loads(Procedure.from_dict(BASE).to_json())
    assert data["fields"][1]["fields"][0] == {
        "kind": "text",
        "name": "full_name",
        "required": True,
        "max_length": 100,
    }
    assert data["fields"][1]["fields"][1]["forms"] == ["branch", "organization"]


def test_toml_definition_loads() -> None:
    text = """
code = "9.000002"
version = "2025.1"
name_vi = "Đăng ký thử"
domain = "Thử"
level = "provincial"
agency = "Sở Tư pháp"
processing_time = { days = 5 }

[[fields]]
kind = "phone"
name = "phone"
accept = "mobile"
required = true
"""
    proc = Procedure.from_toml(text)
    assert proc.level is ProcedureLevel.PROVINCIAL
    assert proc.fields[0].kind == "phone"


def test_unknown_key_is_reported_with_its_path() -> None:
    error = _error(_with(["fields", 1, "fields", 0, "maxlength"], 5))
    assert error.path == "fields[1].fields[0].maxlength"
    assert "unknown key" in str(error)


def test_wrong_type_is_reported_with_its_path() -> None:
    assert _error(_with(["fields", 1, "fields", 0, "max_length"], "100")).path == (
        "fields[1].fields[0].max_length"
    )


def test_a_boolean_is_not_a_number() -> None:
    assert _error(_with(["processing_time", "days"], True)).path == "processing_time.days"


def test_unknown_field_kind_is_reported() -> None:
    error = _error(_with(["fields", 0, "kind"], "signature"))
    assert error.path == "fields[0]"
    assert "signature" in str(error)


def test_broken_rule_inside_a_field_is_reported_at_the_attribute() -> None:
    error = _error(_with(["fields", 1, "fields", 0, "min_length"], 500))
    assert error.path == "fields[1].fields[0].max_length"


def test_bad_procedure_code() -> None:
    assert _error(_with(["code"], "1001193")).path == "code"


def test_duplicate_field_names_are_refused() -> None:
    with pytest.raises(ProcedureError) as info:
        GroupField(name="g", fields=(TextField(name="a"), TextField(name="a")))
    assert info.value.path == "fields[1].name"


def test_condition_must_name_a_sibling() -> None:
    data = _with(["fields", 1, "shown_when"], {"field": "nothing"})
    assert _error(data).path == "fields[1].shown_when.field"


def test_fee_condition_must_name_a_top_level_field() -> None:
    data = _with(["fees", 0, "when", "field"], "full_name")
    assert _error(data).path == "fees[0].when.field"


def test_missing_required_key() -> None:
    data = copy.deepcopy(BASE)
    del data["agency"]
    assert _error(data).path == "agency"


def test_every_problem_is_mentioned() -> None:
    data = _with(["fields", 1, "fields", 0, "maxlength"], 5)
    data["version"] = 3
    message = str(_error(data))
    assert "version" in message
    assert "maxlength" in message


def test_malformed_json_is_a_procedure_error() -> None:
    with pytest.raises(ProcedureError):
        Procedure.from_json("{not json")


def test_fee_depends_on_field_values() -> None:
    proc = Procedure.from_dict(BASE)
    assert proc.fee_for({"channel": "online"}) == 7000
    assert proc.fee_for({"channel": "direct"}) == 15000
    assert proc.fee_for({}) == 0


def test_procedure_built_in_python_is_checked_too() -> None:
    with pytest.raises(ProcedureError) as info:
        Procedure(
            code="9.000001",
            version="1",
            name_vi="Thử",
            domain="Thử",
            level=ProcedureLevel.COMMUNAL,
            agency="UBND",
            processing_time=ProcessingTime(days=1),
            fields=(BooleanField(name="late"),),
            fees=(Fee(amount=1, when=Condition(field="early", equals=True)),),
        )
    assert info.value.path == "fees[0].when.field"
