"""Certificate profiles: what each kind of Vietnamese certificate must carry.

A profile fixes key usage, extended key usage and basic constraints.  The development CA
issues by profile and the CSR builder requests by profile, so both agree.
"""

from __future__ import annotations

import enum

import attrs
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from huesign.pki.certificates import KeyUsage

__all__ = ["CertificateProfile", "ProfileRules"]


@attrs.frozen(kw_only=True)
class ProfileRules:
    """The extensions a profile fixes.

    Attributes:
        key_usage: bits that are set (the extension is always critical).
        extended_key_usage: dotted EKU OIDs, empty for none.
        eku_critical: whether the EKU extension is critical (RFC 3161 requires it for TSAs).
        is_ca: basic constraints ``cA``.
        ocsp_no_check: add id-pkix-ocsp-nocheck (OCSP responders).
    """

    key_usage: frozenset[KeyUsage]
    extended_key_usage: tuple[str, ...] = ()
    eku_critical: bool = False
    is_ca: bool = False
    ocsp_no_check: bool = False

    def key_usage_extension(self) -> x509.KeyUsage:
        """The ``cryptography`` key usage extension value."""
        flags = {usage.value: usage in self.key_usage for usage in KeyUsage}
        return x509.KeyUsage(**flags)

    def extended_key_usage_extension(self) -> x509.ExtendedKeyUsage | None:
        """The ``cryptography`` EKU extension value, or ``None`` when the profile has none."""
        if not self.extended_key_usage:
            return None
        return x509.ExtendedKeyUsage([x509.ObjectIdentifier(o) for o in self.extended_key_usage])


_SIGNING = frozenset({KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION})
_CA = frozenset({KeyUsage.KEY_CERT_SIGN, KeyUsage.CRL_SIGN, KeyUsage.DIGITAL_SIGNATURE})
_DOCUMENT_SIGNING = "1.3.6.1.4.1.311.10.3.12"  # Microsoft document signing, common on VN certs
_EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION.dotted_string
_CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH.dotted_string


class CertificateProfile(enum.Enum):
    """Kinds of certificate in a Vietnamese signing PKI."""

    ROOT = "root"
    INTERMEDIATE = "intermediate"
    CITIZEN = "citizen"
    OFFICER = "officer"
    SEAL = "seal"
    TSA = "tsa"
    OCSP = "ocsp"

    @property
    def rules(self) -> ProfileRules:
        """The extensions this profile fixes."""
        return _RULES[self]

    @property
    def is_end_entity(self) -> bool:
        """Whether certificates of this profile are leaves (not CAs)."""
        return not self.rules.is_ca


_RULES = {
    CertificateProfile.ROOT: ProfileRules(key_usage=_CA, is_ca=True),
    CertificateProfile.INTERMEDIATE: ProfileRules(key_usage=_CA, is_ca=True),
    CertificateProfile.CITIZEN: ProfileRules(
        key_usage=_SIGNING, extended_key_usage=(_CLIENT_AUTH, _EMAIL_PROTECTION, _DOCUMENT_SIGNING)
    ),
    CertificateProfile.OFFICER: ProfileRules(
        key_usage=_SIGNING, extended_key_usage=(_CLIENT_AUTH, _EMAIL_PROTECTION, _DOCUMENT_SIGNING)
    ),
    # NSS (poppler's pdfsig, Firefox) checks PDF signers as e-mail signers: without
    # emailProtection it calls a seal certificate "unknown", whoever issued it.
    CertificateProfile.SEAL: ProfileRules(
        key_usage=_SIGNING, extended_key_usage=(_EMAIL_PROTECTION, _DOCUMENT_SIGNING)
    ),
    CertificateProfile.TSA: ProfileRules(
        key_usage=frozenset({KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION}),
        extended_key_usage=(ExtendedKeyUsageOID.TIME_STAMPING.dotted_string,),
        eku_critical=True,
    ),
    CertificateProfile.OCSP: ProfileRules(
        key_usage=frozenset({KeyUsage.DIGITAL_SIGNATURE}),
        extended_key_usage=(ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string,),
        ocsp_no_check=True,
    ),
}
