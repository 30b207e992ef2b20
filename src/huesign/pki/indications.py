"""Validation verdicts as ETSI TS 119 102-1 names them.

A validation ends in one :class:`Indication` and, unless it passed, a :class:`SubIndication`
that says why.  Every validator in huesign (certificate paths, CMS, PAdES) speaks these terms.
"""

from __future__ import annotations

import enum

__all__ = ["Indication", "SubIndication"]


class Indication(enum.Enum):
    """The main verdict (ETSI TS 119 102-1, clause 5.1.3)."""

    TOTAL_PASSED = "TOTAL_PASSED"
    TOTAL_FAILED = "TOTAL_FAILED"
    INDETERMINATE = "INDETERMINATE"


class SubIndication(enum.Enum):
    """Why a validation did not pass (ETSI TS 119 102-1, clause 5.1.3, tables 5 and 6).

    Each member's :attr:`indication` is the main verdict it goes with.
    """

    # TOTAL_FAILED
    FORMAT_FAILURE = "FORMAT_FAILURE"
    HASH_FAILURE = "HASH_FAILURE"
    SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    NOT_YET_VALID = "NOT_YET_VALID"
    SIG_CONSTRAINTS_FAILURE = "SIG_CONSTRAINTS_FAILURE"
    # INDETERMINATE
    CHAIN_CONSTRAINTS_FAILURE = "CHAIN_CONSTRAINTS_FAILURE"
    CERTIFICATE_CHAIN_GENERAL_FAILURE = "CERTIFICATE_CHAIN_GENERAL_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE = "CRYPTO_CONSTRAINTS_FAILURE"
    CRYPTO_CONSTRAINTS_FAILURE_NO_POE = "CRYPTO_CONSTRAINTS_FAILURE_NO_POE"
    POLICY_PROCESSING_ERROR = "POLICY_PROCESSING_ERROR"
    SIGNATURE_POLICY_NOT_AVAILABLE = "SIGNATURE_POLICY_NOT_AVAILABLE"
    TIMESTAMP_ORDER_FAILURE = "TIMESTAMP_ORDER_FAILURE"
    NO_SIGNING_CERTIFICATE_FOUND = "NO_SIGNING_CERTIFICATE_FOUND"
    NO_CERTIFICATE_CHAIN_FOUND = "NO_CERTIFICATE_CHAIN_FOUND"
    REVOKED_NO_POE = "REVOKED_NO_POE"
    REVOKED_CA_NO_POE = "REVOKED_CA_NO_POE"
    OUT_OF_BOUNDS_NO_POE = "OUT_OF_BOUNDS_NO_POE"
    OUT_OF_BOUNDS_NOT_REVOKED = "OUT_OF_BOUNDS_NOT_REVOKED"
    REVOCATION_OUT_OF_BOUNDS_NO_POE = "REVOCATION_OUT_OF_BOUNDS_NO_POE"
    NO_POE = "NO_POE"
    TRY_LATER = "TRY_LATER"
    SIGNED_DATA_NOT_FOUND = "SIGNED_DATA_NOT_FOUND"
    GENERIC = "GENERIC"

    @property
    def indication(self) -> Indication:
        """The main verdict this sub-indication goes with by default.

        Reports carry both fields, so a policy may pair them otherwise (ETSI pairs
        ``SIG_CONSTRAINTS_FAILURE`` with INDETERMINATE; huesign's strict public-service
        policy makes it TOTAL_FAILED).
        """
        return Indication.TOTAL_FAILED if self in _FAILED else Indication.INDETERMINATE


_FAILED = frozenset(
    {
        SubIndication.FORMAT_FAILURE,
        SubIndication.HASH_FAILURE,
        SubIndication.SIG_CRYPTO_FAILURE,
        SubIndication.REVOKED,
        SubIndication.EXPIRED,
        SubIndication.NOT_YET_VALID,
        SubIndication.SIG_CONSTRAINTS_FAILURE,
    }
)
