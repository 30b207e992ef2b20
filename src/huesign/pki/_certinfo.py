"""Facts about one certificate that path validation needs, parsed once per validation."""

from __future__ import annotations

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtensionOID

from huesign.errors import CertificateError, PKIError
from huesign.pki._names import NormName, normalize_name, subject_emails
from huesign.pki.certificates import Certificate, KeyUsage
from huesign.pki.policy import ValidationPolicy

__all__ = ["KNOWN_EXTENSIONS", "CertInfo", "key_problem", "label", "same_key"]

KNOWN_EXTENSIONS = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.ISSUER_ALTERNATIVE_NAME,
        ExtensionOID.NAME_CONSTRAINTS,
        ExtensionOID.CERTIFICATE_POLICIES,
        ExtensionOID.POLICY_MAPPINGS,
        ExtensionOID.POLICY_CONSTRAINTS,
        ExtensionOID.INHIBIT_ANY_POLICY,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.FRESHEST_CRL,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
        ExtensionOID.SUBJECT_INFORMATION_ACCESS,
        ExtensionOID.OCSP_NO_CHECK,
        ExtensionOID.SUBJECT_DIRECTORY_ATTRIBUTES,
    }
)


def label(cert: x509.Certificate) -> str:
    """A short label for messages: the subject, cut to 120 characters."""
    text = cert.subject.rfc4514_string() or "<empty subject>"
    return text if len(text) <= 120 else text[:117] + "..."


class CertInfo:
    """What validation needs from one certificate, parsed once per validate_path call."""

    __slots__ = (
        "_label",
        "aki",
        "basic_ca",
        "cert",
        "eku",
        "emails",
        "error",
        "inhibit_any",
        "inhibit_mapping",
        "issuer",
        "key",
        "key_usage",
        "mappings",
        "name_constraints",
        "path_len",
        "policies",
        "require_explicit",
        "san",
        "self_issued",
        "ski",
        "subject",
        "unknown_critical",
        "v3",
    )

    def __init__(self, cert: Certificate) -> None:
        c = cert.to_cryptography()
        self.cert = cert
        self._label: str | None = None
        self.error: str | None = None
        self.subject: NormName = normalize_name(c.subject)
        self.issuer: NormName = normalize_name(c.issuer)
        self.self_issued = self.subject == self.issuer
        self.v3 = c.version is x509.Version.v3
        self.emails = subject_emails(c.subject)
        self.basic_ca = False
        self.path_len: int | None = None
        self.key_usage: frozenset[KeyUsage] | None = None
        self.eku: tuple[str, ...] | None = None
        self.san: list[x509.GeneralName] = []
        self.name_constraints: x509.NameConstraints | None = None
        self.policies: list[str] | None = None
        self.mappings: list[tuple[str, str]] = []
        self.require_explicit: int | None = None
        self.inhibit_mapping: int | None = None
        self.inhibit_any: int | None = None
        self.aki: bytes | None = None
        self.ski: bytes | None = None
        self.unknown_critical: list[str] = []
        self.key: object = None
        try:
            self.key = c.public_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            self.error = f"{self.label}: unreadable public key ({exc})"
        try:
            self._extensions(c)
        except (ValueError, TypeError, x509.DuplicateExtension, CertificateError) as exc:
            self.error = f"{self.label}: malformed or duplicate extension ({exc})"

    @property
    def label(self) -> str:
        """The subject for messages (computed on first use)."""
        if self._label is None:
            self._label = label(self.cert.to_cryptography())
        return self._label

    def _extensions(self, c: x509.Certificate) -> None:
        # Dispatch on the exact value class: cryptography builds these classes itself, and an
        # identity test is much cheaper than isinstance against its abstract base classes.
        seen: set[x509.ObjectIdentifier] = set()
        for ext in c.extensions:
            oid = ext.oid
            if oid in seen:
                raise ValueError(f"duplicate extension {oid.dotted_string}")
            seen.add(oid)
            value = ext.value
            if ext.critical and oid not in KNOWN_EXTENSIONS:
                self.unknown_critical.append(oid.dotted_string)
            if type(value) is x509.BasicConstraints:
                self.basic_ca = value.ca
                self.path_len = value.path_length
            elif type(value) is x509.KeyUsage:
                self.key_usage = KeyUsage.from_extension(value)
            elif type(value) is x509.AuthorityKeyIdentifier:
                self.aki = value.key_identifier
            elif type(value) is x509.SubjectKeyIdentifier:
                self.ski = value.digest
            elif type(value) is x509.ExtendedKeyUsage:
                self.eku = tuple(o.dotted_string for o in value)
            elif type(value) is x509.SubjectAlternativeName:
                self.san = list(value)
            elif type(value) is x509.NameConstraints:
                self.name_constraints = value
            elif type(value) is x509.CertificatePolicies:
                self.policies = [p.policy_identifier.dotted_string for p in value]
                if len(set(self.policies)) != len(self.policies):
                    raise ValueError("a policy appears twice in certificate policies")
            elif type(value) is x509.PolicyConstraints:
                self.require_explicit = value.require_explicit_policy
                self.inhibit_mapping = value.inhibit_policy_mapping
            elif type(value) is x509.InhibitAnyPolicy:
                self.inhibit_any = value.skip_certs
            elif oid == ExtensionOID.POLICY_MAPPINGS and isinstance(
                value, x509.UnrecognizedExtension
            ):
                parsed = asn1_x509.PolicyMappings.load(value.value, strict=True)
                self.mappings = [
                    (m["issuer_domain_policy"].dotted, m["subject_domain_policy"].dotted)
                    for m in parsed
                ]


def same_key(a: Certificate, b: Certificate) -> bool:
    """Whether two certificates hold the same public key (false when one is unreadable)."""
    try:
        return a.public_key == b.public_key
    except PKIError:
        return False


def key_problem(info: CertInfo, policy: ValidationPolicy) -> str | None:
    """Why the certificate's key breaks the policy (algorithm, size), or ``None``."""
    key = info.key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < policy.min_rsa_key_size:
            return f"{info.label}: RSA key of {key.key_size} bits is below the minimum"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < policy.min_ec_key_size:
            return f"{info.label}: EC key on {key.curve.name} is below the minimum size"
        return None
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return None
    if isinstance(key, dsa.DSAPublicKey):
        return f"{info.label}: DSA keys are not accepted"
    return f"{info.label}: unsupported public key algorithm"
