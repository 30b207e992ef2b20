"""huesign.pki: keys, certificates, identities, trust, the development CA and signatures.

Recipes come first (``sign_cms``, ``verify_cms``, ``sign_pdf``, ``verify_pdf`` as they land);
builders and raw ASN.1 helpers live in lower modules.
"""

from huesign.pki.algorithms import HashAlgorithm, KeyAlgorithm, RSAPadding
from huesign.pki.certificates import (
    Certificate,
    KeyUsage,
    load_certificates,
    load_certificates_file,
)
from huesign.pki.identity import (
    UID_OID,
    CitizenIdentity,
    Identifier,
    IdentifierType,
    is_valid_cccd,
    is_valid_cmnd,
    is_valid_tax_code,
)
from huesign.pki.indications import Indication, SubIndication
from huesign.pki.keys import PrivateKey, PublicKey
from huesign.pki.profiles import CertificateProfile, ProfileRules

__all__ = [
    "UID_OID",
    "Certificate",
    "CertificateProfile",
    "CitizenIdentity",
    "HashAlgorithm",
    "Identifier",
    "IdentifierType",
    "Indication",
    "KeyAlgorithm",
    "KeyUsage",
    "PrivateKey",
    "ProfileRules",
    "PublicKey",
    "RSAPadding",
    "SubIndication",
    "is_valid_cccd",
    "is_valid_cmnd",
    "is_valid_tax_code",
    "load_certificates",
    "load_certificates_file",
]
