"""Hypothesis strategies for Vietnamese names, identifiers, identities and keys (private).

The building blocks of every other strategy module; users import them from
:mod:`huesign.testing.strategies`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Literal

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from huesign.pki.algorithms import KeyAlgorithm
from huesign.pki.identity import CitizenIdentity, Identifier, IdentifierType
from huesign.pki.keys import PrivateKey

__all__ = [
    "PROVINCE_CODES",
    "Gender",
    "TaxCodeKind",
    "cccd_numbers",
    "citizen_identities",
    "cmnd_numbers",
    "identifiers",
    "passport_numbers",
    "private_keys",
    "tax_codes",
    "vietnamese_names",
]

#: The 63 legacy province codes used in CCCD numbers (``0`` + these two digits); 46 is Hue.
PROVINCE_CODES: tuple[int, ...] = (
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33,
    34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64,
    66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94,
    95, 96,
)  # fmt: skip

_FAMILY_NAMES = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
    "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Tôn Nữ", "Tôn Thất", "Trương", "Đoàn",
)  # fmt: skip
_MIDDLE_NAMES = (
    "Văn", "Thị", "Hữu", "Đức", "Ngọc", "Minh", "Thanh", "Quang", "Xuân", "Thu",
    "Kim", "Bảo", "Gia", "Diệu",
)  # fmt: skip
_GIVEN_NAMES = (
    "An", "Bình", "Châu", "Dũng", "Duyên", "Giang", "Hà", "Hải", "Hạnh", "Hiếu",
    "Hoà", "Huệ", "Hương", "Khánh", "Khoa", "Lan", "Linh", "Long", "Lộc", "Mai",
    "Nga", "Nguyệt", "Nhung", "Phúc", "Phương", "Quốc", "Quỳnh", "Sơn", "Thảo", "Thắng",
    "Thuỷ", "Tiến", "Trí", "Trung", "Tuấn", "Tường", "Uyên", "Việt", "Xuyến", "Yến",
    "Ánh", "Đạt", "Ổn", "Ửng",
)  # fmt: skip
_ORGANISATIONS = (
    "Sở Tư pháp thành phố Huế",
    "UBND phường Thuận Hoá",
    "Trung tâm Phục vụ hành chính công thành phố Huế",
    "Công ty TNHH Dịch vụ Số Hương Giang",
    "Bệnh viện Trung ương Huế",
)
_TITLES = ("Chuyên viên", "Phó Giám đốc", "Giám đốc", "Kế toán trưởng", "Cán bộ tư pháp")
_MST_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
_KEY_POOL_SIZE = 3
_DEFAULT_KEY_ALGORITHMS = (
    KeyAlgorithm.EC_P256,
    KeyAlgorithm.EC_P384,
    KeyAlgorithm.ED25519,
    KeyAlgorithm.RSA_2048,
)

#: The gender that the seventh digit of a CCCD number encodes (with the century).
Gender = Literal["male", "female"]
#: What :func:`tax_codes` draws: a company code, a branch code or a personal one.
TaxCodeKind = Literal["company", "branch", "personal"]
_TAX_KINDS: tuple[TaxCodeKind, ...] = ("company", "branch", "personal")


def vietnamese_names(*, middle_names: int | None = None) -> st.SearchStrategy[str]:
    """Full names in Vietnamese order: family name, middle names, given name (NFC).

    ``middle_names`` fixes how many middle names to draw (0..3); by default 0 to 2.
    """
    if middle_names is not None and (
        not isinstance(middle_names, int) or not 0 <= middle_names <= 3
    ):
        raise InvalidArgument(f"middle_names={middle_names!r} must be an int in 0..3 or None")
    low, high = (0, 2) if middle_names is None else (middle_names, middle_names)
    return st.builds(
        lambda family, middle, given: " ".join((family, *middle, given)),
        st.sampled_from(_FAMILY_NAMES),
        st.lists(st.sampled_from(_MIDDLE_NAMES), min_size=low, max_size=high),
        st.sampled_from(_GIVEN_NAMES),
    )


def _gender_digit(gender: Gender, year: int) -> str:
    century = (year // 100) - 19  # 1900s -> 0, 2000s -> 1, 2100s -> 2 ...
    return str(2 * century + (1 if gender == "female" else 0))


def cccd_numbers(
    *,
    province: int | None = None,
    gender: Gender | None = None,
    birth_year: int | None = None,
) -> st.SearchStrategy[str]:
    """12-digit CCCD numbers ``PPP G YY RRRRRR`` (province, gender and century, year, random).

    ``province`` is a legacy province code (1..96, e.g. 46 for Hue); ``gender`` is ``"male"``
    or ``"female"``; ``birth_year`` lies in 1900..2099.
    """
    if province is not None and province not in PROVINCE_CODES:
        raise InvalidArgument(f"province={province!r} is not a legacy province code")
    if gender is not None and gender not in ("male", "female"):
        raise InvalidArgument(f"gender={gender!r} must be 'male', 'female' or None")
    if birth_year is not None and (
        not isinstance(birth_year, int) or not 1900 <= birth_year <= 2099
    ):
        raise InvalidArgument(f"birth_year={birth_year!r} must be an int in 1900..2099")
    provinces = st.just(province) if province is not None else st.sampled_from(PROVINCE_CODES)
    genders: st.SearchStrategy[Gender] = (
        st.just(gender) if gender is not None else st.sampled_from(("male", "female"))
    )
    years = st.just(birth_year) if birth_year is not None else st.integers(1930, 2024)
    return st.builds(
        lambda p, g, y, r: f"{p:03d}{_gender_digit(g, y)}{y % 100:02d}{r:06d}",
        provinces,
        genders,
        years,
        st.integers(0, 999_999),
    )


def cmnd_numbers(*, digits: Literal[9, 12] | None = None) -> st.SearchStrategy[str]:
    """Old identity card (CMND) numbers: 9 digits, or 12 for the last series."""
    if digits not in (None, 9, 12):
        raise InvalidArgument(f"digits={digits!r} must be 9, 12 or None")
    lengths = st.just(digits) if digits is not None else st.sampled_from((9, 12))
    return lengths.flatmap(lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n))


def passport_numbers() -> st.SearchStrategy[str]:
    """Vietnamese passport numbers: an upper-case letter and 7 digits."""
    return st.builds(
        lambda letter, number: f"{letter}{number:07d}",
        st.sampled_from("BCEGKNP"),
        st.integers(0, 9_999_999),
    )


def _with_check_digit(body: str) -> str | None:
    remainder = sum(w * int(d) for w, d in zip(_MST_WEIGHTS, body, strict=True)) % 11
    if remainder == 0:
        return None
    return body + str(10 - remainder)


def _ten_digit_codes(first: str) -> st.SearchStrategy[str]:
    body = st.text(alphabet="0123456789", min_size=9 - len(first), max_size=9 - len(first))
    return (
        body.map(lambda rest: _with_check_digit(first + rest))
        .filter(lambda code: code is not None)
        .map(lambda code: str(code))
    )


def tax_codes(*, kind: TaxCodeKind = "company") -> st.SearchStrategy[str]:
    """Valid MST tax codes.

    ``kind="company"``: 10 digits with the modulus-11 check digit; ``"branch"``: a company
    code and ``-NNN`` (001..999); ``"personal"``: a 10-digit personal code or, as individuals
    use since July 2025, a 12-digit CCCD.
    """
    if kind == "company":
        return st.sampled_from("0123456789").flatmap(_ten_digit_codes)
    if kind == "branch":
        return st.builds(
            lambda head, branch: f"{head}-{branch:03d}",
            tax_codes(kind="company"),
            st.integers(1, 999),
        )
    if kind == "personal":
        return st.one_of(_ten_digit_codes("8"), cccd_numbers())
    raise InvalidArgument(f"kind={kind!r} must be 'company', 'branch' or 'personal'")


def _budget_codes() -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=7, max_size=7)


def identifiers(*, types: Sequence[IdentifierType] | None = None) -> st.SearchStrategy[Identifier]:
    """Typed identifiers (CCCD, CMND, passport, MST, MNS) with well-formed values.

    ``types`` limits the kinds drawn; by default every :class:`IdentifierType`.
    """
    chosen = tuple(IdentifierType) if types is None else tuple(types)
    if not chosen or not all(isinstance(t, IdentifierType) for t in chosen):
        raise InvalidArgument("types must be a non-empty sequence of IdentifierType members")
    values: dict[IdentifierType, st.SearchStrategy[str]] = {
        IdentifierType.CCCD: cccd_numbers(),
        IdentifierType.CMND: cmnd_numbers(),
        IdentifierType.PASSPORT: passport_numbers(),
        IdentifierType.TAX_CODE: st.sampled_from(_TAX_KINDS).flatmap(lambda k: tax_codes(kind=k)),
        IdentifierType.BUDGET_UNIT: _budget_codes(),
    }
    return st.one_of(*(values[t].map(functools.partial(_identifier, t)) for t in chosen))


def _identifier(kind: IdentifierType, value: str) -> Identifier:
    return Identifier(prefix=kind.value, value=value)


def citizen_identities(
    *,
    min_identifiers: int = 1,
    max_identifiers: int = 4,
    with_organization: bool | None = None,
) -> st.SearchStrategy[CitizenIdentity]:
    """Identities as Vietnamese certificates state them.

    A Vietnamese full name, ``min_identifiers``..``max_identifiers`` identifiers of any mix
    of types, and sometimes an organisation, title, province and e-mail.
    ``with_organization`` forces (``True``) or forbids (``False``) the organisation.
    """
    if not 0 <= min_identifiers <= max_identifiers <= 8:
        raise InvalidArgument(
            f"need 0 <= min_identifiers ({min_identifiers}) <= max_identifiers "
            f"({max_identifiers}) <= 8"
        )
    if with_organization is None:
        organizations: st.SearchStrategy[str | None] = st.none() | st.sampled_from(_ORGANISATIONS)
    elif with_organization:
        organizations = st.sampled_from(_ORGANISATIONS)
    else:
        organizations = st.none()
    return st.builds(
        lambda name, ids, org, title, province, email: CitizenIdentity(
            common_name=name,
            identifiers=ids,
            organization=org,
            title=title if org else None,
            province=province,
            country="VN",
            email=email,
        ),
        vietnamese_names(),
        st.lists(identifiers(), min_size=min_identifiers, max_size=max_identifiers),
        organizations,
        st.none() | st.sampled_from(_TITLES),
        st.none() | st.sampled_from(("Thành phố Huế", "Hà Nội", "Đà Nẵng")),
        st.none() | st.from_regex(r"\A[a-z]{1,10}\.[a-z]{1,10}@hue\.gov\.vn\Z"),
    )


@functools.lru_cache(maxsize=64)
def _pooled_key(algorithm: KeyAlgorithm, index: int) -> PrivateKey:
    # Generating keys (RSA especially) is slow; each process keeps a few per algorithm.
    del index
    return PrivateKey.generate(algorithm)


def private_keys(
    *, algorithms: Sequence[KeyAlgorithm] = _DEFAULT_KEY_ALGORITHMS
) -> st.SearchStrategy[PrivateKey]:
    """Private keys drawn from a small per-process pool (a few keys per algorithm).

    By default EC P-256, EC P-384, Ed25519 and RSA-2048; pass ``algorithms`` to choose.
    Keys are generated on first draw and reused, so draws are cheap after warm-up.
    """
    chosen = tuple(algorithms)
    if not chosen or not all(isinstance(a, KeyAlgorithm) for a in chosen):
        raise InvalidArgument("algorithms must be a non-empty sequence of KeyAlgorithm members")
    return st.builds(_pooled_key, st.sampled_from(chosen), st.integers(0, _KEY_POOL_SIZE - 1))
