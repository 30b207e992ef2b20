"""Certificate signing requests (PKCS#10) for citizens, officers and organisation seals.

:class:`CertificateRequestBuilder` is immutable: every call returns a new builder, setting a
thing twice raises :class:`ValueError`, and :meth:`~CertificateRequestBuilder.sign` checks that
the request is complete.  The subject carries the holder's typed ``UID`` identifiers, and the
key usage and extended key usage of the chosen :class:`~huesign.pki.CertificateProfile` travel
as requested extensions, so a CA can see what the request is for.

>>> from huesign.pki import CertificateProfile, CitizenIdentity, Identifier, KeyAlgorithm
>>> from huesign.pki import PrivateKey
>>> key = PrivateKey.generate(KeyAlgorithm.EC_P256)
>>> ident = CitizenIdentity(common_name="Trần Thị Bình", country="VN",
...                         identifiers=(Identifier.cccd("046190000123"),))
>>> csr = (CertificateRequestBuilder().profile(CertificateProfile.CITIZEN)
...        .identity(ident).sign(key))
>>> csr.is_signature_valid, csr.profile, csr.identity == ident
(True, <CertificateProfile.CITIZEN: 'citizen'>, True)
"""

from __future__ import annotations

import hashlib
from typing import TypeAlias, cast

import attrs
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.x509.oid import ExtensionOID

from huesign.errors import CertificateError, KeyLoadError, SigningError
from huesign.pki.algorithms import HashAlgorithm, RSAPadding
from huesign.pki.certificates import KeyUsage, bounded_input
from huesign.pki.identity import CitizenIdentity, IdentifierType
from huesign.pki.keys import PrivateKey, PublicKey
from huesign.pki.profiles import CertificateProfile

__all__ = [
    "MAX_CSR_SIZE",
    "REQUESTABLE_PROFILES",
    "CertificateRequest",
    "CertificateRequestBuilder",
]

#: Largest encoded request accepted by the parsers.
MAX_CSR_SIZE = 1 << 20

#: The profiles a holder may request a certificate for.
REQUESTABLE_PROFILES = (
    CertificateProfile.CITIZEN,
    CertificateProfile.OFFICER,
    CertificateProfile.SEAL,
)

_PARSE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.InvalidVersion,
)
_CSRHash: TypeAlias = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
_PERSON_IDS = (IdentifierType.CCCD, IdentifierType.CMND, IdentifierType.PASSPORT)
_ORG_IDS = (IdentifierType.TAX_CODE, IdentifierType.BUDGET_UNIT)


def _missing(profile: CertificateProfile, identity: CitizenIdentity) -> str | None:
    """Why ``identity`` cannot be requested under ``profile``, or ``None`` when it can."""
    if not identity.common_name:
        return "the identity has no common name"
    has_person = any(identity.find(kind) for kind in _PERSON_IDS)
    has_org = any(identity.find(kind) for kind in _ORG_IDS)
    if profile is CertificateProfile.CITIZEN and not (has_person or identity.tax_code):
        return "a citizen request needs a CCCD, CMND, passport or tax code identifier"
    if profile is CertificateProfile.OFFICER:
        if not identity.organization:
            return "an officer request needs the organisation (O) the officer works for"
        if not has_person:
            return "an officer request needs the officer's CCCD, CMND or passport identifier"
    if profile is CertificateProfile.SEAL:
        if not identity.organization:
            return "a seal request needs the organisation (O)"
        if not has_org:
            return "a seal request needs the organisation's tax code (MST) or budget code (MNS)"
    return None


@attrs.frozen
class CertificateRequestBuilder:
    """An immutable builder of :class:`CertificateRequest` objects.

    Each setter returns a new builder; calling a setter twice raises :class:`ValueError`.
    """

    _profile: CertificateProfile | None = attrs.field(default=None, alias="_profile")
    _identity: CitizenIdentity | None = attrs.field(default=None, alias="_identity")
    _email_addresses: tuple[str, ...] | None = attrs.field(default=None, alias="_email_addresses")

    def profile(self, profile: CertificateProfile) -> CertificateRequestBuilder:
        """Request a certificate of ``profile`` (citizen, officer or seal)."""
        if not isinstance(profile, CertificateProfile):
            raise TypeError("profile must be a CertificateProfile")
        if self._profile is not None:
            raise ValueError("the profile is already set")
        if profile not in REQUESTABLE_PROFILES:
            raise ValueError(
                f"cannot request a {profile.value} certificate: "
                "requests are for citizen, officer or seal certificates"
            )
        return attrs.evolve(self, _profile=profile)

    def identity(self, identity: CitizenIdentity) -> CertificateRequestBuilder:
        """Use ``identity`` as the subject (its identifiers become ``UID`` attributes)."""
        if not isinstance(identity, CitizenIdentity):
            raise TypeError("identity must be a CitizenIdentity")
        if self._identity is not None:
            raise ValueError("the identity is already set")
        return attrs.evolve(self, _identity=identity)

    def email_addresses(self, *addresses: str) -> CertificateRequestBuilder:
        """Request these e-mail addresses as subject alternative names."""
        if self._email_addresses is not None:
            raise ValueError("the e-mail addresses are already set")
        if not addresses or not all(isinstance(a, str) and "@" in a for a in addresses):
            raise ValueError("give one or more e-mail addresses such as an@example.vn")
        return attrs.evolve(self, _email_addresses=tuple(addresses))

    def sign(
        self,
        key: PrivateKey,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        rsa_padding: RSAPadding = RSAPadding.PKCS1V15,
    ) -> CertificateRequest:
        """Sign the request with ``key`` (the key the certificate will certify).

        Raises :class:`ValueError` when the profile or identity is missing or when the
        identity lacks what the profile needs (a CCCD for a citizen, an organisation for an
        officer or a seal).  ``hash_algorithm`` is ignored for Ed25519 keys.
        """
        if not isinstance(key, PrivateKey):
            raise TypeError("key must be a PrivateKey")
        if self._profile is None:
            raise ValueError("incomplete request: set the profile first")
        if self._identity is None:
            raise ValueError("incomplete request: set the identity first")
        problem = _missing(self._profile, self._identity)
        if problem:
            raise ValueError(f"incomplete {self._profile.value} request: {problem}")
        rules = self._profile.rules
        builder = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(self._identity.to_name())
            .add_extension(rules.key_usage_extension(), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        )
        eku = rules.extended_key_usage_extension()
        if eku is not None:
            builder = builder.add_extension(eku, critical=rules.eku_critical)
        emails = self._email_addresses or ((self._identity.email,) if self._identity.email else ())
        if emails:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name(e) for e in emails]), critical=False
            )
        raw = key.to_cryptography()
        digest = cast(_CSRHash, hash_algorithm.to_cryptography())
        try:
            if isinstance(raw, ed25519.Ed25519PrivateKey):
                csr = builder.sign(raw, None)
            elif isinstance(raw, rsa.RSAPrivateKey):
                pad: padding.PSS | padding.PKCS1v15 = padding.PKCS1v15()
                if rsa_padding is RSAPadding.PSS:
                    pad = padding.PSS(
                        mgf=padding.MGF1(hash_algorithm.to_cryptography()),
                        salt_length=hash_algorithm.digest_size,
                    )
                csr = builder.sign(raw, digest, rsa_padding=pad)
            else:
                csr = builder.sign(raw, digest)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise SigningError(f"could not sign the certificate request: {exc}") from exc
        return CertificateRequest.from_der(csr.public_bytes(serialization.Encoding.DER))


@attrs.frozen(eq=False, repr=False)
class CertificateRequest:
    """A parsed PKCS#10 certificate signing request.

    Build with :class:`CertificateRequestBuilder`, :meth:`from_pem` or :meth:`from_der`.  Two
    requests are equal when their DER encodings are equal.
    """

    _csr: x509.CertificateSigningRequest = attrs.field(alias="csr")
    _der: bytes = attrs.field(alias="der")
    _extensions: x509.Extensions = attrs.field(alias="extensions")

    @classmethod
    def from_der(cls, data: bytes) -> CertificateRequest:
        """Parse a DER-encoded request."""
        data = _bounded(data)
        try:
            csr = x509.load_der_x509_csr(data)
            return cls._checked(csr, data)
        except _PARSE_ERRORS as exc:
            raise CertificateError(f"not a readable DER certificate request: {exc}") from exc

    @classmethod
    def from_pem(cls, data: bytes | str) -> CertificateRequest:
        """Parse a PEM ``CERTIFICATE REQUEST`` block."""
        if isinstance(data, str):
            data = data.encode("ascii", "replace")
        data = _bounded(data)
        try:
            csr = x509.load_pem_x509_csr(data)
            return cls._checked(csr, csr.public_bytes(serialization.Encoding.DER))
        except _PARSE_ERRORS as exc:
            raise CertificateError(f"not a readable PEM certificate request: {exc}") from exc

    @classmethod
    def _checked(cls, csr: x509.CertificateSigningRequest, der: bytes) -> CertificateRequest:
        # Read the lazily parsed parts now, so that a request that exists is a usable one.
        _ = csr.subject.rfc4514_string()
        extensions = csr.extensions
        try:
            PublicKey.from_cryptography(csr.public_key())
        except KeyLoadError as exc:
            raise ValueError(str(exc)) from exc
        return cls(csr=csr, der=der, extensions=extensions)

    # -- encodings -------------------------------------------------------------------------

    def to_der(self) -> bytes:
        """The DER encoding."""
        return self._der

    def to_pem(self) -> bytes:
        """The PEM encoding."""
        return self._csr.public_bytes(serialization.Encoding.PEM)

    def to_cryptography(self) -> x509.CertificateSigningRequest:
        """The wrapped ``cryptography`` object (hazmat)."""
        return self._csr

    # -- contents -----------------------------------------------------------------------------

    @property
    def subject(self) -> x509.Name:
        """The requested subject name."""
        return self._csr.subject

    @property
    def subject_text(self) -> str:
        """The requested subject as an RFC 4514 string."""
        return self._csr.subject.rfc4514_string()

    @property
    def identity(self) -> CitizenIdentity:
        """The holder's identity as the subject states it."""
        return CitizenIdentity.from_name(self._csr.subject)

    @property
    def public_key(self) -> PublicKey:
        """The public key to be certified."""
        return PublicKey.from_cryptography(self._csr.public_key())

    @property
    def is_signature_valid(self) -> bool:
        """Whether the request is signed by the private key of :attr:`public_key`."""
        return self._csr.is_signature_valid

    def _value(self, oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
        try:
            return self._extensions.get_extension_for_oid(oid).value
        except x509.ExtensionNotFound:
            return None

    @property
    def key_usage(self) -> frozenset[KeyUsage] | None:
        """The requested key usage bits, or ``None`` when not requested."""
        ku = self._value(ExtensionOID.KEY_USAGE)
        return KeyUsage.from_extension(ku) if isinstance(ku, x509.KeyUsage) else None

    @property
    def extended_key_usage(self) -> tuple[str, ...]:
        """Dotted OIDs of the requested extended key usages (empty when none)."""
        eku = self._value(ExtensionOID.EXTENDED_KEY_USAGE)
        if not isinstance(eku, x509.ExtendedKeyUsage):
            return ()
        return tuple(oid.dotted_string for oid in eku)

    @property
    def email_addresses(self) -> tuple[str, ...]:
        """E-mail addresses requested as subject alternative names."""
        san = self._value(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        if not isinstance(san, x509.SubjectAlternativeName):
            return ()
        return tuple(san.get_values_for_type(x509.RFC822Name))

    @property
    def profile(self) -> CertificateProfile | None:
        """The profile the requested extensions ask for, or ``None`` if they fit none.

        Citizen and officer certificates carry the same extensions; a request whose subject
        names an organisation is read as an officer's, otherwise as a citizen's.
        """
        usage = self.key_usage
        eku = frozenset(self.extended_key_usage)
        found = [
            p
            for p in REQUESTABLE_PROFILES
            if usage == p.rules.key_usage and eku == frozenset(p.rules.extended_key_usage)
        ]
        if CertificateProfile.CITIZEN in found and CertificateProfile.OFFICER in found:
            organisation = self.identity.organization
            return CertificateProfile.OFFICER if organisation else CertificateProfile.CITIZEN
        return found[0] if found else None

    @property
    def fingerprint(self) -> str:
        """Lower-case hex SHA-256 of the DER encoding."""
        return hashlib.sha256(self._der).hexdigest()

    # -- dunder ------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CertificateRequest):
            return NotImplemented
        return self._der == other._der

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        return f"<CertificateRequest subject={self.subject_text!r}>"


def _bounded(data: bytes) -> bytes:
    if isinstance(data, str):
        raise TypeError("certificate request data must be bytes")
    return bounded_input(data, limit=MAX_CSR_SIZE, what="certificate request")
