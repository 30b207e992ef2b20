"""The shipped administrative units and the pluggable units source."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from formhelpers import tiny_procedure
from huesign.forms import (
    AddressField,
    CommunalUnit,
    LegacyProvince,
    Province,
    Submission,
    UnitsSource,
    UnitsTable,
    UnitType,
    builtin_units,
    find_legacy_province,
)
from huesign.testing.strategies import PROVINCE_CODES


def test_there_are_34_provinces_since_july_2025() -> None:
    provinces = builtin_units().provinces()
    assert len(provinces) == 34
    assert len({p.code for p in provinces}) == 34


def test_every_legacy_province_maps_to_a_current_one() -> None:
    units = builtin_units()
    legacy = units.legacy_provinces()
    assert len(legacy) == 63
    assert all(units.province(p.new_code) is not None for p in legacy)


def test_legacy_codes_are_those_of_cccd_numbers() -> None:
    assert sorted(int(p.code) for p in builtin_units().legacy_provinces()) == sorted(PROVINCE_CODES)


def test_every_current_province_received_at_least_one_legacy_province() -> None:
    units = builtin_units()
    assert {p.new_code for p in units.legacy_provinces()} == {p.code for p in units.provinces()}


def test_hue_has_40_communal_units() -> None:
    hue = builtin_units().communal_units("46")
    assert hue is not None
    assert len(hue) == 40
    assert {u.type for u in hue} <= {UnitType.WARD, UnitType.COMMUNE, UnitType.SPECIAL_ZONE}
    assert all(u.province_code == "46" for u in hue)


def test_unconfirmed_entries_are_marked() -> None:
    hue = builtin_units().communal_units("46") or ()
    assert not any(u.verified for u in hue)
    assert builtin_units().province("46") == Province(code="46", name="Huế", type=UnitType.CITY)


def test_legacy_province_found_by_name_without_diacritics() -> None:
    units = builtin_units()
    found = find_legacy_province(units, "thua thien hue")
    assert found is not None
    assert found.new_code == "46"
    ha_giang = find_legacy_province(units, "Tỉnh Hà Giang")
    assert ha_giang is not None
    assert ha_giang.new_code == "08"


def test_builtin_table_satisfies_the_protocol() -> None:
    assert isinstance(builtin_units(), UnitsSource)


class _OneWardSource:
    """A user-supplied source: Hanoi with a single ward, nothing else."""

    def provinces(self) -> Sequence[Province]:
        return (Province(code="01", name="Hà Nội", type=UnitType.CITY),)

    def province(self, code: str) -> Province | None:
        return self.provinces()[0] if code == "01" else None

    def communal_unit(self, code: str) -> CommunalUnit | None:
        if code != "00070":
            return None
        return CommunalUnit(
            code=code, name="Phường Hoàn Kiếm", type=UnitType.WARD, province_code="01"
        )

    def communal_units(self, province_code: str) -> Sequence[CommunalUnit] | None:
        unit = self.communal_unit("00070")
        return (unit,) if province_code == "01" and unit else None

    def legacy_provinces(self) -> Sequence[LegacyProvince]:
        return ()

    def legacy_province(self, code: str) -> LegacyProvince | None:
        return None


def _address_errors(units: UnitsSource | None, value: dict[str, str]) -> list[str]:
    proc = tiny_procedure(AddressField(name="a"))
    sub = Submission.for_procedure(proc, {"a": value})
    return [e.code for e in sub.errors(proc, units=units, today=dt.date(2026, 1, 1))]


def test_a_plugged_in_source_decides_which_wards_exist() -> None:
    known = {"province_code": "01", "ward_code": "00070", "street": "1 Tràng Tiền"}
    other = {"province_code": "01", "ward_code": "00071", "street": "1 Tràng Tiền"}
    assert _address_errors(_OneWardSource(), known) == []
    assert _address_errors(_OneWardSource(), other) == ["unknown_ward"]
    # the shipped table does not list Hanoi's wards, so any well-formed code passes
    assert _address_errors(None, other) == []


def test_units_table_loads_from_json() -> None:
    table = UnitsTable.from_json(
        '{"provinces": [{"code": "46", "name": "Huế"}],'
        ' "legacy_provinces": [{"code": "46", "name": "Thừa Thiên Huế", "new_code": "46"}]}'
    )
    assert table.province("46") == Province(code="46", name="Huế")
    assert table.communal_units("46") is None
