"""huesign.pki: keys, certificates, identities, trust, the development CA and signatures.

Recipes come first (``sign_cms``, ``verify_cms``, ``sign_pdf``, ``verify_pdf`` as they land);
builders and raw ASN.1 helpers live in lower modules.
"""

from huesign.pki.algorithms import HashAlgorithm, KeyAlgorithm, RSAPadding, SignatureAlgorithm
from huesign.pki.certificates import (
    Certificate,
    KeyUsage,
    load_certificates,
    load_certificates_file,
)
from huesign.pki.cms import (
    CommitmentType,
    PreparedCMS,
    SignerLocation,
    prepare_cms,
    sign_cms,
    sign_cms_async,
    verify_cms,
)
from huesign.pki.csr import CertificateRequest, CertificateRequestBuilder
from huesign.pki.devca import (
    DEVELOPMENT_CERTIFICATE_POLICY,
    DEVELOPMENT_TSA_POLICY,
    DevelopmentCA,
    IssuedCertificate,
    Revocation,
    RevocationReason,
)
from huesign.pki.fetch import CachingFetcher, Fetcher, HTTPFetcher, OfflineFetcher
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
from huesign.pki.path import PathValidationResult, validate_path
from huesign.pki.pkcs12 import PKCS12Bundle
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.profiles import CertificateProfile, ProfileRules
from huesign.pki.report import (
    CertificateSummary,
    ReportMessage,
    RevocationEvidence,
    ScopeKind,
    SignatureLevel,
    SignatureScope,
    TimestampSummary,
    ValidationReport,
)
from huesign.pki.revocation import (
    RevocationCheck,
    RevocationData,
    RevocationSource,
    RevocationSourceType,
    RevocationStatus,
    build_ocsp_request,
)
from huesign.pki.signers import AsyncSigner, DigestToSign, KeySigner, Signer, as_async_signer
from huesign.pki.trust import TrustAnchor, TrustDomain, TrustStore
from huesign.pki.tsp import (
    AsyncHTTPTimestampClient,
    AsyncTimestampSource,
    HTTPTimestampClient,
    TimestampCheck,
    TimestampInfo,
    TimestampSource,
    check_timestamp_token,
)

__all__ = [
    "DEVELOPMENT_CERTIFICATE_POLICY",
    "DEVELOPMENT_TSA_POLICY",
    "UID_OID",
    "AsyncHTTPTimestampClient",
    "AsyncSigner",
    "AsyncTimestampSource",
    "CachingFetcher",
    "Certificate",
    "CertificateProfile",
    "CertificateRequest",
    "CertificateRequestBuilder",
    "CertificateSummary",
    "CitizenIdentity",
    "CommitmentType",
    "DevelopmentCA",
    "DigestToSign",
    "Fetcher",
    "HTTPFetcher",
    "HTTPTimestampClient",
    "HashAlgorithm",
    "Identifier",
    "IdentifierType",
    "Indication",
    "IssuedCertificate",
    "KeyAlgorithm",
    "KeySigner",
    "KeyUsage",
    "OfflineFetcher",
    "PKCS12Bundle",
    "PathValidationResult",
    "PreparedCMS",
    "PrivateKey",
    "ProfileRules",
    "PublicKey",
    "RSAPadding",
    "ReportMessage",
    "Revocation",
    "RevocationCheck",
    "RevocationData",
    "RevocationEvidence",
    "RevocationMode",
    "RevocationReason",
    "RevocationSource",
    "RevocationSourceType",
    "RevocationStatus",
    "ScopeKind",
    "SignatureAlgorithm",
    "SignatureLevel",
    "SignatureScope",
    "Signer",
    "SignerLocation",
    "SubIndication",
    "TimestampCheck",
    "TimestampInfo",
    "TimestampSource",
    "TimestampSummary",
    "TrustAnchor",
    "TrustDomain",
    "TrustStore",
    "ValidationPolicy",
    "ValidationReport",
    "as_async_signer",
    "build_ocsp_request",
    "check_timestamp_token",
    "is_valid_cccd",
    "is_valid_cmnd",
    "is_valid_tax_code",
    "load_certificates",
    "load_certificates_file",
    "prepare_cms",
    "sign_cms",
    "sign_cms_async",
    "validate_path",
    "verify_cms",
]
