"""Administrative units of Viet Nam under the two-level scheme in force since 1 July 2025.

Since 1 July 2025 Viet Nam has 34 provincial units and, below them, communal units (wards,
communes and special zones); the district level is gone.  Older documents still carry the 63
legacy provinces and a district.  huesign ships a small table (every province, the legacy
mapping, Hue's communal units) in ``data/units.json``; an application that needs every commune
of the country plugs in its own :class:`UnitsSource`.

>>> units = builtin_units()
>>> units.province("46").name
'Huế'
>>> units.legacy_province("49").new_code
'48'
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Protocol, runtime_checkable

import attrs

from huesign.errors import FormError
from huesign.forms._text import fold

__all__ = [
    "CommunalUnit",
    "LegacyProvince",
    "Province",
    "UnitType",
    "UnitsSource",
    "UnitsTable",
    "builtin_units",
    "find_communal_unit",
    "find_legacy_province",
]

_MAX_TABLE_BYTES = 8 * 1024 * 1024


class UnitType(enum.Enum):
    """Kinds of administrative unit."""

    CITY = "city"
    PROVINCE = "province"
    WARD = "ward"
    COMMUNE = "commune"
    SPECIAL_ZONE = "special_zone"


@attrs.frozen(kw_only=True)
class Province:
    """A provincial unit (province or centrally-run city) since 1 July 2025.

    Attributes:
        code: the two-digit code, e.g. ``"46"`` for Hue.
        name: the Vietnamese name without the ``Tỉnh`` / ``Thành phố`` prefix.
        type: :attr:`UnitType.PROVINCE` or :attr:`UnitType.CITY`.
        verified: whether the shipped code and name were checked against an official source.
    """

    code: str
    name: str
    type: UnitType = UnitType.PROVINCE
    verified: bool = True


@attrs.frozen(kw_only=True)
class CommunalUnit:
    """A ward, commune or special zone, directly under a province.

    Attributes:
        code: the unit's code.
        name: the Vietnamese name with its prefix (``Phường Kim Long``).
        type: ward, commune or special zone.
        province_code: the code of the province it belongs to.
        verified: whether the shipped code and name were checked against an official source.
    """

    code: str
    name: str
    type: UnitType
    province_code: str
    verified: bool = True


@attrs.frozen(kw_only=True)
class LegacyProvince:
    """A provincial unit as it was before 1 July 2025, and where it went.

    Attributes:
        code: the legacy two-digit code (the tail of a CCCD's birth-province code).
        name: the Vietnamese name.
        type: province or city.
        new_code: the code of the province it was merged into (or kept as).
        verified: whether the entry was checked against an official source.
    """

    code: str
    name: str
    type: UnitType
    new_code: str
    verified: bool = True


@runtime_checkable
class UnitsSource(Protocol):
    """Where validation looks up administrative units; implement it to plug in fuller data."""

    def provinces(self) -> Sequence[Province]:
        """Every provincial unit."""
        ...

    def province(self, code: str) -> Province | None:
        """The province with ``code``, or ``None``."""
        ...

    def communal_unit(self, code: str) -> CommunalUnit | None:
        """The communal unit with ``code``, or ``None`` when unknown to this source."""
        ...

    def communal_units(self, province_code: str) -> Sequence[CommunalUnit] | None:
        """Every communal unit of a province, or ``None`` when this source does not list them."""
        ...

    def legacy_provinces(self) -> Sequence[LegacyProvince]:
        """Every legacy (pre-2025) provincial unit."""
        ...

    def legacy_province(self, code: str) -> LegacyProvince | None:
        """The legacy province with ``code``, or ``None``."""
        ...


def _provinces(items: Iterable[Province]) -> tuple[Province, ...]:
    return tuple(items)


def _legacy(items: Iterable[LegacyProvince]) -> tuple[LegacyProvince, ...]:
    return tuple(items)


def _communal(items: Iterable[CommunalUnit]) -> tuple[CommunalUnit, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class UnitsTable:
    """An in-memory :class:`UnitsSource` built from lists of units.

    Attributes:
        province_list: every provincial unit.
        legacy_list: every legacy provincial unit.
        communal_list: the communal units known to this table (possibly only some provinces).
        version: a label for the data, e.g. the date it describes.
    """

    province_list: tuple[Province, ...] = attrs.field(converter=_provinces)
    legacy_list: tuple[LegacyProvince, ...] = attrs.field(converter=_legacy)
    communal_list: tuple[CommunalUnit, ...] = attrs.field(default=(), converter=_communal)
    version: str = ""
    _index: dict[str, dict[str, object]] = attrs.field(
        init=False, repr=False, eq=False, factory=dict
    )

    def __attrs_post_init__(self) -> None:
        self._index["province"] = {p.code: p for p in self.province_list}
        self._index["legacy"] = {p.code: p for p in self.legacy_list}
        self._index["communal"] = {u.code: u for u in self.communal_list}
        grouped: dict[str, list[CommunalUnit]] = {}
        for unit in self.communal_list:
            grouped.setdefault(unit.province_code, []).append(unit)
        self._index["by_province"] = {k: tuple(v) for k, v in grouped.items()}

    @classmethod
    def from_json(cls, data: str | bytes) -> UnitsTable:
        """Load a table in the layout of huesign's ``data/units.json``.

        Raises:
            FormError: the data is not such a table.
        """
        if len(data) > _MAX_TABLE_BYTES:
            raise FormError("units table is too large")
        try:
            doc = json.loads(data)
            return cls(
                province_list=[
                    Province(
                        code=str(p["code"]),
                        name=str(p["name"]),
                        type=UnitType(p.get("type", "province")),
                        verified=bool(p.get("verified", True)),
                    )
                    for p in doc["provinces"]
                ],
                legacy_list=[
                    LegacyProvince(
                        code=str(p["code"]),
                        name=str(p["name"]),
                        type=UnitType(p.get("type", "province")),
                        new_code=str(p["new_code"]),
                        verified=bool(p.get("verified", True)),
                    )
                    for p in doc["legacy_provinces"]
                ],
                communal_list=[
                    CommunalUnit(
                        code=str(u["code"]),
                        name=str(u["name"]),
                        type=UnitType(u["type"]),
                        province_code=str(u["province_code"]),
                        verified=bool(u.get("verified", True)),
                    )
                    for u in doc.get("communal_units", ())
                ],
                version=str(doc.get("version", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FormError(f"malformed units table: {type(exc).__name__}") from exc

    def provinces(self) -> Sequence[Province]:
        """Every provincial unit."""
        return self.province_list

    def province(self, code: str) -> Province | None:
        """The province with ``code``, or ``None``."""
        found = self._index["province"].get(code)
        return found if isinstance(found, Province) else None

    def communal_unit(self, code: str) -> CommunalUnit | None:
        """The communal unit with ``code``, or ``None``."""
        found = self._index["communal"].get(code)
        return found if isinstance(found, CommunalUnit) else None

    def communal_units(self, province_code: str) -> Sequence[CommunalUnit] | None:
        """The communal units of a province, or ``None`` when this table does not list them."""
        found = self._index["by_province"].get(province_code)
        return found if isinstance(found, tuple) else None

    def legacy_provinces(self) -> Sequence[LegacyProvince]:
        """Every legacy provincial unit."""
        return self.legacy_list

    def legacy_province(self, code: str) -> LegacyProvince | None:
        """The legacy province with ``code``, or ``None``."""
        found = self._index["legacy"].get(code)
        return found if isinstance(found, LegacyProvince) else None


@functools.cache
def builtin_units() -> UnitsTable:
    """The table shipped with huesign: 34 provinces, 63 legacy provinces, Hue's units."""
    data = resources.files("huesign.forms").joinpath("data", "units.json").read_bytes()
    return UnitsTable.from_json(data)


def _strip_prefix(name: str) -> str:
    folded = fold(name)
    for prefix in ("thanh pho ", "tinh ", "phuong ", "xa ", "dac khu ", "thi tran ", "tp. ", "tp "):
        if folded.startswith(prefix):
            return folded[len(prefix) :].strip()
    return folded


def find_legacy_province(units: UnitsSource, text: str) -> LegacyProvince | None:
    """The legacy province named or coded by ``text`` (``"46"``, ``"Thừa Thiên Huế"``, ``"hue"``).

    Names match without diacritics, case or the ``Tỉnh`` / ``Thành phố`` prefix.
    """
    code = text.strip()
    if code.isdigit():
        return units.legacy_province(code.zfill(2))
    wanted = _strip_prefix(code)
    for legacy in units.legacy_provinces():
        if _strip_prefix(legacy.name) == wanted:
            return legacy
    if wanted == "hue":  # "Huế" is what people write for Thua Thien Hue.
        return units.legacy_province("46")
    return None


def find_communal_unit(units: UnitsSource, province_code: str, name: str) -> CommunalUnit | None:
    """The communal unit of a province whose name matches ``name`` (diacritics ignored)."""
    wanted = _strip_prefix(name)
    for unit in units.communal_units(province_code) or ():
        if _strip_prefix(unit.name) == wanted:
            return unit
    return None
