"""Who a Vietnamese certificate names: :class:`CitizenIdentity` and its typed identifiers.

Vietnamese certificates carry typed identifiers in the subject's ``UID`` attributes
(OID 0.9.2342.19200300.100.1.1) as ``PREFIX:value``: ``CCCD:`` (12-digit citizen id),
``CMND:`` (old 9- or 12-digit id), ``HC:`` (passport), ``MST:`` (tax code) and ``MNS:``
(state budget unit code).  One subject may hold several of them; all are parsed.

>>> ident = CitizenIdentity(common_name="Nguyễn Văn An",
...                         identifiers=(Identifier.cccd("046085000123"),))
>>> CitizenIdentity.from_name(ident.to_name()) == ident
True
>>> ident.cccd
'046085000123'
"""

from __future__ import annotations

import enum
import re
import unicodedata
import warnings
from collections.abc import Iterable

import attrs
from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = [
    "UID_OID",
    "CitizenIdentity",
    "Identifier",
    "IdentifierType",
    "is_valid_cccd",
    "is_valid_cmnd",
    "is_valid_tax_code",
]

#: The ``UID`` attribute type (RFC 4519 userid) that carries Vietnamese identifiers.
UID_OID = NameOID.USER_ID


class IdentifierType(enum.Enum):
    """Kinds of identifier found in Vietnamese certificates; the value is the UID prefix."""

    CCCD = "CCCD"
    CMND = "CMND"
    PASSPORT = "HC"
    TAX_CODE = "MST"
    BUDGET_UNIT = "MNS"


_PREFIXES = {t.value: t for t in IdentifierType}
# Some issuers write the prefix with a different case or spacing ("cccd : 0123..."), and a few
# older certificates use "CCCD-" instead of "CCCD:".
_UID_RE = re.compile(r"^\s*([A-Za-z]{2,6})\s*[:\-]\s*(.+?)\s*$", re.DOTALL)

_MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def is_valid_cccd(value: str) -> bool:
    """Whether ``value`` has the shape of a 12-digit CCCD (citizen identity card) number.

    CCCD numbers have no check digit; the shape check covers length, digits and a gender /
    century digit in 0..9.
    """
    return len(value) == 12 and value.isascii() and value.isdigit()


def is_valid_cmnd(value: str) -> bool:
    """Whether ``value`` is a 9- or 12-digit CMND (old identity card) number."""
    return len(value) in (9, 12) and value.isascii() and value.isdigit()


def is_valid_tax_code(value: str) -> bool:
    """Whether ``value`` is a valid MST (tax code).

    Accepted forms: 10 digits with the modulus-11 check digit; ``XXXXXXXXXX-NNN`` for a branch
    (001..999); and, since 1 July 2025, an individual's 12-digit CCCD.
    """
    if not value.isascii():
        return False
    if len(value) == 12 and value.isdigit():
        return True
    head, sep, branch = value.partition("-")
    if sep and not (len(branch) == 3 and branch.isdigit() and branch != "000"):
        return False
    if len(head) != 10 or not head.isdigit():
        return False
    remainder = sum(w * int(d) for w, d in zip(_MST_WEIGHTS, head, strict=False)) % 11
    if remainder == 0:
        return False
    check = 10 - remainder
    return check < 10 and int(head[9]) == check


_VALIDATORS = {
    IdentifierType.CCCD: is_valid_cccd,
    IdentifierType.CMND: is_valid_cmnd,
    IdentifierType.TAX_CODE: is_valid_tax_code,
}


def _upper_strip(value: str) -> str:
    return str(value).strip().upper()


def _strip(value: str) -> str:
    return str(value).strip()


@attrs.frozen
class Identifier:
    """One typed identifier, e.g. ``CCCD:046085000123``.

    Attributes:
        prefix: the prefix as written in the certificate, upper-cased (``CCCD``, ``MST``...).
        value: the identifier without its prefix.
    """

    prefix: str = attrs.field(converter=_upper_strip)
    value: str = attrs.field(converter=_strip)

    @prefix.validator
    def _check_prefix(self, _attr: object, prefix: str) -> None:
        if not prefix or ":" in prefix:
            raise ValueError(f"invalid identifier prefix {prefix!r}")

    @value.validator
    def _check_value(self, _attr: object, value: str) -> None:
        if not value:
            raise ValueError("identifier value must not be empty")

    @classmethod
    def cccd(cls, value: str) -> Identifier:
        """A CCCD (12-digit citizen id) identifier."""
        return cls(prefix="CCCD", value=value)

    @classmethod
    def cmnd(cls, value: str) -> Identifier:
        """A CMND (old identity card) identifier."""
        return cls(prefix="CMND", value=value)

    @classmethod
    def passport(cls, value: str) -> Identifier:
        """A passport (``HC``) identifier."""
        return cls(prefix="HC", value=value)

    @classmethod
    def tax_code(cls, value: str) -> Identifier:
        """A tax code (``MST``) identifier."""
        return cls(prefix="MST", value=value)

    @classmethod
    def budget_unit(cls, value: str) -> Identifier:
        """A state budget unit code (``MNS``) identifier."""
        return cls(prefix="MNS", value=value)

    @classmethod
    def parse(cls, text: str) -> Identifier | None:
        """Parse a UID value such as ``CCCD:046085000123``; ``None`` if it has no prefix."""
        match = _UID_RE.match(text)
        if match is None:
            return None
        return cls(prefix=match.group(1), value=match.group(2))

    @property
    def type(self) -> IdentifierType | None:
        """The identifier's kind, or ``None`` for a prefix huesign does not know."""
        return _PREFIXES.get(self.prefix)

    @property
    def is_well_formed(self) -> bool:
        """Whether the value has the shape its type requires (unknown types: always true)."""
        check = _VALIDATORS.get(self.type) if self.type else None
        return check(self.value) if check else True

    def masked(self, visible: int = 4) -> str:
        """The value with all but the last ``visible`` characters replaced by ``*``."""
        keep = self.value[-visible:] if visible > 0 else ""
        return "*" * (len(self.value) - len(keep)) + keep

    def __str__(self) -> str:
        return f"{self.prefix}:{self.value}"


def _nfc(value: str | None) -> str | None:
    # An empty attribute is not written into a subject, so it reads back as absent.
    return unicodedata.normalize("NFC", value) if value else None


def _optional(value: str | None) -> str | None:
    return value or None


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _identifiers(values: Iterable[Identifier]) -> tuple[Identifier, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class CitizenIdentity:
    """What a certificate says about its holder.

    Text is kept in Unicode NFC so that Vietnamese names compare equal however they were typed.

    Attributes:
        common_name: the ``CN``, usually the holder's full name.
        identifiers: every typed ``UID`` value, in certificate order.
        other_uids: ``UID`` values without a recognisable ``PREFIX:`` form.
        organization: ``O``, for officers and agency seals.
        organizational_unit: ``OU``.
        title: ``T``, e.g. an officer's position.
        locality: ``L``.
        province: ``ST``, the province or centrally-run city.
        country: ``C`` (two letters, ``VN`` for Vietnamese certificates).
        email: the ``emailAddress`` attribute.
    """

    common_name: str | None = attrs.field(default=None, converter=_nfc)
    identifiers: tuple[Identifier, ...] = attrs.field(default=(), converter=_identifiers)
    other_uids: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    organization: str | None = attrs.field(default=None, converter=_nfc)
    organizational_unit: str | None = attrs.field(default=None, converter=_nfc)
    title: str | None = attrs.field(default=None, converter=_nfc)
    locality: str | None = attrs.field(default=None, converter=_nfc)
    province: str | None = attrs.field(default=None, converter=_nfc)
    country: str | None = attrs.field(default=None, converter=_optional)
    email: str | None = attrs.field(default=None, converter=_optional)

    # -- lookups ------------------------------------------------------------------------------

    def find(self, kind: IdentifierType) -> tuple[Identifier, ...]:
        """Every identifier of ``kind``, in certificate order."""
        return tuple(i for i in self.identifiers if i.type is kind)

    def _first(self, kind: IdentifierType) -> str | None:
        found = self.find(kind)
        return found[0].value if found else None

    @property
    def cccd(self) -> str | None:
        """The first CCCD number, if any."""
        return self._first(IdentifierType.CCCD)

    @property
    def cmnd(self) -> str | None:
        """The first CMND number, if any."""
        return self._first(IdentifierType.CMND)

    @property
    def passport(self) -> str | None:
        """The first passport number, if any."""
        return self._first(IdentifierType.PASSPORT)

    @property
    def tax_code(self) -> str | None:
        """The first tax code (MST), if any."""
        return self._first(IdentifierType.TAX_CODE)

    @property
    def budget_unit_code(self) -> str | None:
        """The first state budget unit code (MNS), if any."""
        return self._first(IdentifierType.BUDGET_UNIT)

    @property
    def primary_identifier(self) -> Identifier | None:
        """The identifier that best names a person: CCCD, then CMND, passport, MST, MNS."""
        for kind in IdentifierType:
            found = self.find(kind)
            if found:
                return found[0]
        return self.identifiers[0] if self.identifiers else None

    # -- conversion -------------------------------------------------------------------------

    @classmethod
    def from_name(cls, name: x509.Name) -> CitizenIdentity:
        """Read the identity from a certificate subject (a ``cryptography`` ``Name``)."""
        identifiers: list[Identifier] = []
        others: list[str] = []
        for attr in name:
            if attr.oid == UID_OID:
                text = _text(attr.value)
                parsed = Identifier.parse(text)
                if parsed is None:
                    others.append(text)
                else:
                    identifiers.append(parsed)

        def first(oid: x509.ObjectIdentifier) -> str | None:
            values = name.get_attributes_for_oid(oid)
            return _text(values[0].value) if values else None

        return cls(
            common_name=first(NameOID.COMMON_NAME),
            identifiers=identifiers,
            other_uids=others,
            organization=first(NameOID.ORGANIZATION_NAME),
            organizational_unit=first(NameOID.ORGANIZATIONAL_UNIT_NAME),
            title=first(NameOID.TITLE),
            locality=first(NameOID.LOCALITY_NAME),
            province=first(NameOID.STATE_OR_PROVINCE_NAME),
            country=first(NameOID.COUNTRY_NAME),
            email=first(NameOID.EMAIL_ADDRESS),
        )

    def to_name(self, *, allow_long_names: bool = False) -> x509.Name:
        """Build a certificate subject in the order Vietnamese CAs use.

        ``C, ST, L, O, OU, T, CN, UID..., emailAddress``; each identifier becomes its own
        ``UID`` attribute.  Upper bounds are RFC 5280's, counted in characters: a Vietnamese
        name of 50 letters is 50 characters but may be 70 UTF-8 bytes, which ``cryptography``
        alone would refuse.  A value over the RFC bound raises ``ValueError`` unless
        ``allow_long_names`` is true (some issued certificates exceed it; tests of verifiers need
        such names).
        """
        rdns: list[x509.NameAttribute[str]] = []

        def add(oid: x509.ObjectIdentifier, value: str | None) -> None:
            if value:
                rdns.append(_attribute(oid, value, strict=not allow_long_names))

        add(NameOID.COUNTRY_NAME, self.country)
        add(NameOID.STATE_OR_PROVINCE_NAME, self.province)
        add(NameOID.LOCALITY_NAME, self.locality)
        add(NameOID.ORGANIZATION_NAME, self.organization)
        add(NameOID.ORGANIZATIONAL_UNIT_NAME, self.organizational_unit)
        add(NameOID.TITLE, self.title)
        add(NameOID.COMMON_NAME, self.common_name)
        for ident in self.identifiers:
            add(UID_OID, str(ident))
        for other in self.other_uids:
            add(UID_OID, other)
        add(NameOID.EMAIL_ADDRESS, self.email)
        return x509.Name(rdns)

    def display_name(self) -> str:
        """A one-line description for people: name, then the masked primary identifier."""
        name = self.common_name or self.organization or "(không tên / unnamed)"
        ident = self.primary_identifier
        return f"{name} ({ident.prefix} {ident.masked()})" if ident else name


#: RFC 5280 appendix A upper bounds, in characters, for the attributes huesign writes.
NAME_UPPER_BOUNDS = {
    NameOID.COMMON_NAME: 64,
    NameOID.ORGANIZATION_NAME: 64,
    NameOID.ORGANIZATIONAL_UNIT_NAME: 64,
    NameOID.TITLE: 64,
    NameOID.LOCALITY_NAME: 128,
    NameOID.STATE_OR_PROVINCE_NAME: 128,
    NameOID.EMAIL_ADDRESS: 255,
}


def _attribute(oid: x509.ObjectIdentifier, value: str, *, strict: bool) -> x509.NameAttribute[str]:
    bound = NAME_UPPER_BOUNDS.get(oid)
    if strict and bound is not None and len(value) > bound:
        raise ValueError(
            f"{oid._name} is {len(value)} characters, RFC 5280 allows {bound}; "
            "pass allow_long_names=True to accept it"
        )
    if bound is not None and len(value.encode("utf-8")) > bound:
        # cryptography counts UTF-8 bytes against the bound; RFC 5280 counts characters, and
        # Vietnamese letters with two diacritics take three bytes each.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Attribute's length", UserWarning)
            return x509.NameAttribute(oid, value, _validate=False)
    return x509.NameAttribute(oid, value)


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
