"""A development certificate authority with a Vietnamese certificate profile.

:class:`DevelopmentCA` builds a two-level PKI (root, issuing intermediate), a timestamping
authority and a delegated OCSP responder, then issues citizen, officer and agency-seal
certificates, revokes them, and answers with CRLs, OCSP responses (RFC 6960) and RFC 3161
timestamps.  Tests, the sandbox and the demo use it.  It is **not** a production CA: its
keys are saved unencrypted and its policies are placeholders.

>>> from huesign.pki import CitizenIdentity, Identifier
>>> ca = DevelopmentCA.create(name="Demo")
>>> citizen = ca.issue(CitizenIdentity(common_name="Lê Thị Hoa",
...                                    identifiers=[Identifier.cccd("046190001234")]))
>>> citizen.certificate.identity.cccd
'046190001234'

Name lengths: RFC 5280 bounds ``CN``, ``O``, ``OU`` and ``T`` at 64 characters and ``L``,
``ST`` at 128 (characters of the NFC text, not UTF-8 bytes).  Real Vietnamese certificates
sometimes exceed them, so :meth:`DevelopmentCA.issue` refuses longer values by default with a
``ValueError`` and issues them unchanged with ``allow_long_names=True``, for tests of
validators that must cope with such certificates.  Values are never truncated.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from huesign.errors import CertificateError
from huesign.pki import _devca_build as bld
from huesign.pki import _devca_services as svc
from huesign.pki._devca_build import DEVELOPMENT_CERTIFICATE_POLICY
from huesign.pki.algorithms import HashAlgorithm, KeyAlgorithm
from huesign.pki.certificates import Certificate, KeyUsage
from huesign.pki.identity import CitizenIdentity
from huesign.pki.keys import PrivateKey, PublicKey
from huesign.pki.profiles import CertificateProfile

__all__ = [
    "DEVELOPMENT_CERTIFICATE_POLICY",
    "DEVELOPMENT_TSA_POLICY",
    "DevelopmentCA",
    "IssuedCertificate",
    "Revocation",
    "RevocationReason",
]

#: TSA policy of the development CA's timestamps.  The arc 1.3.6.1.4.1.55555 is a
#: development placeholder, not a registered enterprise number: never trust it in production.
DEVELOPMENT_TSA_POLICY = "1.3.6.1.4.1.55555.1.1"
_SKEW = dt.timedelta(hours=1)


class RevocationReason(enum.Enum):
    """Why a certificate was revoked (RFC 5280 CRLReason); values are the RFC's names."""

    UNSPECIFIED = "unspecified"
    KEY_COMPROMISE = "keyCompromise"
    CA_COMPROMISE = "cACompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"
    CERTIFICATE_HOLD = "certificateHold"
    PRIVILEGE_WITHDRAWN = "privilegeWithdrawn"

    def to_cryptography(self) -> x509.ReasonFlags:
        """The matching ``cryptography`` reason flag."""
        return x509.ReasonFlags(self.value)


@attrs.frozen(kw_only=True)
class Revocation:
    """A revoked certificate.

    Attributes:
        serial_number: the certificate's serial number.
        issuer: RFC 4514 text of the issuing CA's subject.
        revoked_at: when it was revoked (UTC).
        reason: why.
    """

    serial_number: int
    issuer: str
    revoked_at: dt.datetime = attrs.field()
    reason: RevocationReason = RevocationReason.UNSPECIFIED

    @revoked_at.validator
    def _check_aware(self, _attr: object, value: dt.datetime) -> None:
        if value.tzinfo is None:
            raise ValueError("revoked_at must be timezone-aware")


@attrs.frozen(kw_only=True, repr=False)
class IssuedCertificate:
    """A certificate with its private key and the chain of CAs above it.

    Attributes:
        certificate: the certificate.
        key: its private key (development only: the CA generated it).
        chain: the issuing CAs, nearest first, ending with the root; empty for the root.
        profile: the profile it was issued under.
    """

    certificate: Certificate
    key: PrivateKey
    chain: tuple[Certificate, ...]
    profile: CertificateProfile

    @property
    def full_chain(self) -> tuple[Certificate, ...]:
        """The certificate followed by :attr:`chain`."""
        return (self.certificate, *self.chain)

    def chain_pem(self) -> bytes:
        """The :attr:`chain` as concatenated PEM blocks."""
        return b"".join(c.to_pem() for c in self.chain)

    def to_pkcs12(self, *, password: str | bytes | None = None, friendly_name: str = "") -> bytes:
        """A PKCS#12 file holding the key, the certificate and the chain.

        Encrypted with the best available scheme when ``password`` is given.
        """
        secret = password.encode("utf-8") if isinstance(password, str) else password
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(secret)
            if secret
            else serialization.NoEncryption()
        )
        return pkcs12.serialize_key_and_certificates(
            friendly_name.encode("utf-8") or None,
            self.key.to_cryptography(),
            self.certificate.to_cryptography(),
            [c.to_cryptography() for c in self.chain] or None,
            encryption,
        )

    def __repr__(self) -> str:
        return f"<IssuedCertificate {self.profile.value} subject={self.certificate.subject_text!r}>"


_Issuer = Literal["issuing", "root"]


class DevelopmentCA:
    """A throwaway Vietnamese-profile PKI: root, issuing CA, TSA and OCSP responder.

    Create one with :meth:`create`, or reuse one across runs with :meth:`save` and
    :meth:`load` (or :meth:`load_or_create`).  Keys are saved **unencrypted**: this CA is for
    development and tests only.  The object is safe to share between threads: its mutable
    state (issued serials, revocations) sits behind a lock.

    Distribution URLs in the certificates hang off ``base_url``:
    ``{base_url}/crl/root.crl``, ``{base_url}/crl/issuing.crl``, ``{base_url}/ocsp``,
    ``{base_url}/certs/root.cer``, ``{base_url}/certs/issuing.cer`` and ``{base_url}/tsa``.
    """

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        root: IssuedCertificate,
        intermediate: IssuedCertificate,
        tsa: IssuedCertificate,
        ocsp_responder: IssuedCertificate,
        issued: Iterable[Certificate] = (),
        revocations: Iterable[Revocation] = (),
    ) -> None:
        """Assemble a CA from its parts; use :meth:`create` or :meth:`load` instead."""
        self._name = name
        self._base_url = base_url.rstrip("/")
        self._root = root
        self._intermediate = intermediate
        self._tsa = tsa
        self._ocsp = ocsp_responder
        self._lock = threading.RLock()
        self._issued: dict[int, Certificate] = {}
        for cert in (intermediate.certificate, tsa.certificate, ocsp_responder.certificate):
            if cert != root.certificate:
                self._issued[cert.serial_number] = cert
        for cert in issued:
            self._issued[cert.serial_number] = cert
        self._revocations = {r.serial_number: r for r in revocations}
        self._tsa_identity: svc.TSAIdentity | None = None

    # -- construction --------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        name: str = "Huesign Development",
        base_url: str = "http://localhost:8000/pki",
        key_algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
        now: dt.datetime | None = None,
    ) -> DevelopmentCA:
        """Generate a new CA.

        The root (``CN=<name> Root CA``, path length 1, 10 years) signs the issuing CA
        (``CN=<name> Issuing CA``, path length 0, 5 years), which signs the TSA and OCSP
        responder certificates (1 year).  Everything starts one hour before ``now``.
        """
        if not isinstance(key_algorithm, KeyAlgorithm):
            raise TypeError("key_algorithm must be a KeyAlgorithm")
        if key_algorithm.family not in ("rsa", "ec"):
            raise ValueError("the development CA signs with RSA or ECDSA keys, not Ed25519")
        if not name.strip():
            raise ValueError("name must not be empty")
        base = base_url.rstrip("/")
        start = bld.utcnow(now) - _SKEW
        root_key = PrivateKey.generate(key_algorithm)
        root_cert = bld.build_certificate(
            bld.CertSpec(
                subject=bld.ca_name(f"{name} Root CA", name),
                public_key=root_key.public_key,
                profile=CertificateProfile.ROOT,
                not_before=start,
                not_after=start + dt.timedelta(days=3652),
                path_length=1,
            ),
            None,
            root_key,
        )
        root = IssuedCertificate(
            certificate=root_cert, key=root_key, chain=(), profile=CertificateProfile.ROOT
        )
        int_key = PrivateKey.generate(key_algorithm)
        int_cert = bld.build_certificate(
            bld.CertSpec(
                subject=bld.ca_name(f"{name} Issuing CA", name),
                public_key=int_key.public_key,
                profile=CertificateProfile.INTERMEDIATE,
                not_before=start,
                not_after=start + dt.timedelta(days=1826),
                path_length=0,
                crl_url=f"{base}/crl/root.crl",
                ocsp_url=f"{base}/ocsp",
                ca_issuers_url=f"{base}/certs/root.cer",
            ),
            svc.Authority(certificate=root_cert, key=root_key),
            root_key,
        )
        intermediate = IssuedCertificate(
            certificate=int_cert,
            key=int_key,
            chain=(root_cert,),
            profile=CertificateProfile.INTERMEDIATE,
        )
        # The TSA and the OCSP responder are issued by the CA itself, so start with the root
        # in their places.
        ca = cls(
            name=name, base_url=base, root=root, intermediate=intermediate,
            tsa=root, ocsp_responder=root,
        )  # fmt: skip
        ca._tsa = ca.issue(
            bld.ca_identity(f"{name} Timestamping Authority", name),
            profile=CertificateProfile.TSA,
            key=PrivateKey.generate(key_algorithm),
            now=now,
        )
        ca._ocsp = ca.issue(
            bld.ca_identity(f"{name} OCSP Responder", name),
            profile=CertificateProfile.OCSP,
            key=PrivateKey.generate(key_algorithm),
            now=now,
        )
        return ca

    # -- parts -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The CA's name, used in its certificates' ``O`` and ``CN``."""
        return self._name

    @property
    def base_url(self) -> str:
        """The base of the CRL, OCSP, CA-issuer and TSA addresses (no trailing slash)."""
        return self._base_url

    @property
    def root(self) -> Certificate:
        """The self-signed root certificate: the trust anchor to give verifiers."""
        return self._root.certificate

    @property
    def intermediate(self) -> Certificate:
        """The issuing CA's certificate; it signs every end-entity certificate."""
        return self._intermediate.certificate

    @property
    def chain(self) -> tuple[Certificate, ...]:
        """The CA certificates above an end entity: issuing CA, then root."""
        return (self._intermediate.certificate, self._root.certificate)

    @property
    def tsa_certificate(self) -> Certificate:
        """The timestamping authority's certificate (issued by the issuing CA)."""
        return self._tsa.certificate

    @property
    def ocsp_responder_certificate(self) -> Certificate:
        """The delegated OCSP responder's certificate (issued by the issuing CA)."""
        return self._ocsp.certificate

    @property
    def ocsp_url(self) -> str:
        """Where the OCSP responder is expected to listen."""
        return f"{self._base_url}/ocsp"

    @property
    def tsa_url(self) -> str:
        """Where the timestamping authority is expected to listen."""
        return f"{self._base_url}/tsa"

    def crl_url(self, issuer: _Issuer = "issuing") -> str:
        """The CRL address of the issuing CA or of the root."""
        return f"{self._base_url}/crl/{_issuer_label(issuer)}.crl"

    def certificate_url(self, issuer: _Issuer = "issuing") -> str:
        """The CA-issuers address of the issuing CA's or the root's certificate."""
        return f"{self._base_url}/certs/{_issuer_label(issuer)}.cer"

    @property
    def issued(self) -> tuple[Certificate, ...]:
        """Every certificate this CA issued below the root, in issuance order."""
        with self._lock:
            return tuple(self._issued.values())

    # -- issuance ------------------------------------------------------------------------

    def certify(
        self,
        public_key: PublicKey,
        identity: CitizenIdentity,
        *,
        profile: CertificateProfile = CertificateProfile.CITIZEN,
        validity: dt.timedelta = dt.timedelta(days=365),
        now: dt.datetime | None = None,
        allow_long_names: bool = False,
        key_usage: Iterable[KeyUsage] | None = None,
        extended_key_usage: Iterable[str] | None = None,
    ) -> Certificate:
        """Issue an end-entity certificate for a key held elsewhere (a token, a provider).

        The subject is ``identity.to_name()``; extensions follow ``profile.rules``.  Validity
        starts one hour before ``now`` and never outlasts the issuing CA.

        ``key_usage`` replaces the profile's key usage bits and ``extended_key_usage`` its
        extended key usages (dotted OIDs; empty for no extension).  They make certificates
        that no profile allows, such as an encryption-only certificate for testing that a
        validator checks the purpose.  Impossible combinations raise ``ValueError``: no bit
        at all, ``KEY_CERT_SIGN`` (an end entity is no CA), ``ENCIPHER_ONLY`` or
        ``DECIPHER_ONLY`` without ``KEY_AGREEMENT``.
        """
        if not isinstance(public_key, PublicKey):
            raise TypeError("public_key must be a huesign PublicKey")
        if not isinstance(identity, CitizenIdentity):
            raise TypeError("identity must be a CitizenIdentity")
        if not isinstance(profile, CertificateProfile) or not profile.is_end_entity:
            raise ValueError("profile must be an end-entity CertificateProfile")
        if validity <= dt.timedelta(0):
            raise ValueError("validity must be positive")
        rules = bld.profile_rules(profile, key_usage, extended_key_usage)
        subject = identity.to_name(allow_long_names=allow_long_names)
        if not list(subject):
            raise ValueError("identity is empty: give at least a common name or an identifier")
        start = bld.utcnow(now) - _SKEW
        issuer = self._intermediate
        spec = bld.CertSpec(
            subject=subject,
            public_key=public_key,
            profile=profile,
            not_before=start,
            not_after=min(start + validity, issuer.certificate.not_after),
            crl_url=self.crl_url("issuing"),
            ocsp_url=None if profile is CertificateProfile.OCSP else self.ocsp_url,
            ca_issuers_url=self.certificate_url("issuing"),
            rules=rules,
        )
        authority = svc.Authority(certificate=issuer.certificate, key=issuer.key)
        cert = bld.build_certificate(spec, authority, issuer.key)
        with self._lock:
            self._issued[cert.serial_number] = cert
        return cert

    def issue(
        self,
        identity: CitizenIdentity,
        *,
        profile: CertificateProfile = CertificateProfile.CITIZEN,
        key: PrivateKey | None = None,
        key_algorithm: KeyAlgorithm | None = None,
        validity: dt.timedelta = dt.timedelta(days=365),
        now: dt.datetime | None = None,
        allow_long_names: bool = False,
        key_usage: Iterable[KeyUsage] | None = None,
        extended_key_usage: Iterable[str] | None = None,
    ) -> IssuedCertificate:
        """Issue an end-entity certificate with a new key (or ``key``) for ``identity``.

        ``key_algorithm`` defaults to the CA's own.  See :meth:`certify` for the rest,
        including ``key_usage`` and ``extended_key_usage``, which override the profile's.
        """
        if key is not None and key_algorithm is not None:
            raise ValueError("give key or key_algorithm, not both")
        if key is None:
            algorithm = key_algorithm or self._intermediate.key.algorithm or KeyAlgorithm.EC_P256
            key = PrivateKey.generate(algorithm)
        cert = self.certify(
            key.public_key,
            identity,
            profile=profile,
            validity=validity,
            now=now,
            allow_long_names=allow_long_names,
            key_usage=key_usage,
            extended_key_usage=extended_key_usage,
        )
        return IssuedCertificate(certificate=cert, key=key, chain=self.chain, profile=profile)

    # -- revocation ----------------------------------------------------------------------

    def revoke(
        self,
        certificate: Certificate | int,
        *,
        reason: RevocationReason = RevocationReason.UNSPECIFIED,
        when: dt.datetime | None = None,
    ) -> Revocation:
        """Revoke a certificate this CA issued (given as certificate or serial number).

        Raises ``ValueError`` for a certificate it never issued or one already revoked.
        """
        serial = certificate.serial_number if isinstance(certificate, Certificate) else certificate
        if not isinstance(reason, RevocationReason):
            raise TypeError("reason must be a RevocationReason")
        revoked_at = bld.utcnow(when)
        with self._lock:
            cert = self._issued.get(serial)
            if cert is None:
                raise ValueError(f"serial {serial:#x} was not issued by this CA")
            if serial in self._revocations:
                raise ValueError(f"serial {serial:#x} is already revoked")
            entry = Revocation(
                serial_number=serial, issuer=cert.issuer_text, revoked_at=revoked_at, reason=reason
            )
            self._revocations[serial] = entry
        return entry

    def revocation(self, certificate: Certificate | int) -> Revocation | None:
        """The revocation of a certificate, or ``None`` when it is not revoked."""
        serial = certificate.serial_number if isinstance(certificate, Certificate) else certificate
        with self._lock:
            return self._revocations.get(serial)

    @property
    def revocations(self) -> tuple[Revocation, ...]:
        """Every revocation, oldest first."""
        with self._lock:
            return tuple(sorted(self._revocations.values(), key=lambda r: r.revoked_at))

    # -- services ------------------------------------------------------------------------

    def _authority(self, issuer: _Issuer) -> IssuedCertificate:
        return self._root if _issuer_label(issuer) == "root" else self._intermediate

    def _revoked_by(self, authority: IssuedCertificate) -> dict[int, svc.RevokedEntry]:
        issuer_text = authority.certificate.subject_text
        with self._lock:
            return {
                r.serial_number: svc.RevokedEntry(
                    serial_number=r.serial_number,
                    revoked_at=r.revoked_at,
                    reason=r.reason.to_cryptography(),
                )
                for r in self._revocations.values()
                if r.issuer == issuer_text
            }

    def crl(
        self,
        issuer: _Issuer = "issuing",
        *,
        now: dt.datetime | None = None,
        validity: dt.timedelta = dt.timedelta(days=7),
    ) -> bytes:
        """A DER CRL of the issuing CA (or the root), valid from ``now`` for ``validity``.

        Entries carry their reason (except ``unspecified``); the CRL number is the issue
        time in seconds, so later CRLs have larger numbers.
        """
        authority = self._authority(issuer)
        this_update = bld.utcnow(now)
        entries = [e for e in self._revoked_by(authority).values() if e.revoked_at <= this_update]
        return svc.build_crl(
            authority=svc.Authority(certificate=authority.certificate, key=authority.key),
            revoked=entries,
            this_update=this_update,
            next_update=this_update + validity,
            number=int(this_update.timestamp()),
        )

    def ocsp_response(
        self,
        request: bytes,
        *,
        now: dt.datetime | None = None,
        validity: dt.timedelta = dt.timedelta(hours=12),
    ) -> bytes:
        """Answer a DER OCSP request (RFC 6960) with a DER OCSP response.

        Certificates of the issuing CA are answered by the delegated responder, the issuing
        CA itself by the root.  Status is ``good``, ``revoked`` (with time and reason) or
        ``unknown`` for serials this CA never issued; a nonce is echoed.  Bad request bytes
        give ``malformedRequest`` and requests about other CAs ``unauthorized``: this
        method never raises on what a client sends.
        """
        at = bld.utcnow(now)
        with self._lock:
            issued = list(self._issued.values())
        authorities = []
        for ca, responder in ((self._intermediate, self._ocsp), (self._root, self._root)):
            subject = ca.certificate.subject
            authorities.append(
                svc.OCSPAuthority(
                    issuer=ca.certificate,
                    responder=svc.Authority(certificate=responder.certificate, key=responder.key),
                    issued=frozenset(c.serial_number for c in issued if c.issuer == subject),
                    revoked=self._revoked_by(ca),
                )
            )
        return svc.build_ocsp_response(request, authorities=authorities, now=at, validity=validity)

    def timestamp(
        self,
        message_imprint: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        nonce: int | None = None,
        include_certificate: bool = True,
        now: dt.datetime | None = None,
    ) -> bytes:
        """An RFC 3161 TimeStampToken (DER CMS ContentInfo) over a message digest.

        Policy :data:`DEVELOPMENT_TSA_POLICY`, accuracy one second, ESSCertIDv2 over the TSA
        certificate, which is embedded when ``include_certificate`` is true.
        """
        if not isinstance(hash_algorithm, HashAlgorithm):
            raise TypeError("hash_algorithm must be a HashAlgorithm")
        if len(message_imprint) != hash_algorithm.digest_size:
            raise ValueError(
                f"message_imprint is {len(message_imprint)} bytes, a {hash_algorithm.name} "
                f"digest is {hash_algorithm.digest_size}"
            )
        request = svc.TimestampRequest(
            imprint=bytes(message_imprint),
            hash_algorithm=hash_algorithm,
            nonce=nonce,
            cert_req=include_certificate,
        )
        return self._stamp(request, now)

    def _stamp(self, request: svc.TimestampRequest, now: dt.datetime | None) -> bytes:
        with self._lock:
            if self._tsa_identity is None or self._tsa_identity.authority.key != self._tsa.key:
                authority = svc.Authority(certificate=self._tsa.certificate, key=self._tsa.key)
                self._tsa_identity = svc.TSAIdentity.of(authority)
            tsa = self._tsa_identity
        return svc.build_timestamp_token(
            tsa=tsa,
            request=request,
            policy=DEVELOPMENT_TSA_POLICY,
            serial_number=bld.new_serial(),
            gen_time=bld.utcnow(now),
        )

    def timestamp_response(self, request: bytes, *, now: dt.datetime | None = None) -> bytes:
        """Answer a DER RFC 3161 TimeStampReq with a DER TimeStampResp.

        A usable request is ``granted`` (nonce echoed, certificate included when asked);
        anything else, including garbage bytes or a policy other than
        :data:`DEVELOPMENT_TSA_POLICY`, gets ``rejection`` with a failure bit.  Never raises
        on what a client sends.
        """
        try:
            parsed = svc.parse_timestamp_request(request)
            if parsed.policy is not None and parsed.policy != DEVELOPMENT_TSA_POLICY:
                raise svc.TimestampRejected("unaccepted_policy", "unknown TSA policy")
        except svc.TimestampRejected as rejected:
            return svc.timestamp_rejection(rejected.failure, rejected.text)
        return svc.timestamp_granted(self._stamp(parsed, now))

    # -- persistence -----------------------------------------------------------------------

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write the CA to ``directory`` (created if needed); keys are **unencrypted** PEM.

        Files: ``ca.json``, ``{root,intermediate,tsa,ocsp}.pem`` and ``.key.pem``,
        ``issued.pem`` and ``revocations.json``.  Each file is replaced atomically.
        """
        parts = (self._root, self._intermediate, self._tsa, self._ocsp)
        with self._lock:
            issued = tuple(self._issued.values())
            records = tuple(
                bld.revocation_record(r.serial_number, r.issuer, r.revoked_at, r.reason.value)
                for r in self._revocations.values()
            )
        state = bld.SavedState(
            name=self._name,
            base_url=self._base_url,
            parts={k: (p.certificate, p.key) for k, p in zip(bld.PART_LABELS, parts, strict=True)},
            issued=issued,
            revocations=records,
        )
        bld.save_state(Path(directory), state)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> DevelopmentCA:
        """Read a CA written by :meth:`save`.

        Raises :class:`~huesign.errors.CertificateError` (or
        :class:`~huesign.errors.KeyLoadError`) when a file is missing or damaged.
        """
        source = Path(directory)
        state = bld.load_state(source)
        try:
            revocations = [
                Revocation(
                    serial_number=int(item["serial_number"], 16),
                    issuer=item["issuer"],
                    revoked_at=dt.datetime.fromisoformat(item["revoked_at"]),
                    reason=RevocationReason(item["reason"]),
                )
                for item in state.revocations
            ]
        except (ValueError, KeyError) as exc:
            raise CertificateError(f"{source}: damaged revocations.json") from exc
        (root_cert, root_key), (int_cert, int_key) = (
            state.parts["root"],
            state.parts["intermediate"],
        )
        chain = (int_cert, root_cert)
        services = [state.parts["tsa"][0], state.parts["ocsp"][0]]
        if not int_cert.is_issued_by(root_cert) or not all(
            c.is_issued_by(int_cert) for c in services
        ):
            raise CertificateError(f"{source}: certificates do not form one CA")

        def part(label: str, profile: CertificateProfile) -> IssuedCertificate:
            cert, key = state.parts[label]
            return IssuedCertificate(certificate=cert, key=key, chain=chain, profile=profile)

        return cls(
            name=state.name,
            base_url=state.base_url,
            root=IssuedCertificate(
                certificate=root_cert, key=root_key, chain=(), profile=CertificateProfile.ROOT
            ),
            intermediate=IssuedCertificate(
                certificate=int_cert,
                key=int_key,
                chain=(root_cert,),
                profile=CertificateProfile.INTERMEDIATE,
            ),
            tsa=part("tsa", CertificateProfile.TSA),
            ocsp_responder=part("ocsp", CertificateProfile.OCSP),
            issued=state.issued,
            revocations=revocations,
        )

    @classmethod
    def load_or_create(
        cls,
        directory: str | os.PathLike[str],
        *,
        name: str = "Huesign Development",
        base_url: str = "http://localhost:8000/pki",
        key_algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
    ) -> DevelopmentCA:
        """Load the CA saved in ``directory``, or create one and save it there."""
        if (Path(directory) / "ca.json").exists():
            return cls.load(directory)
        ca = cls.create(name=name, base_url=base_url, key_algorithm=key_algorithm)
        ca.save(directory)
        return ca

    def __repr__(self) -> str:
        return f"<DevelopmentCA {self._name!r} base_url={self._base_url!r}>"


def _issuer_label(issuer: _Issuer) -> str:
    if issuer not in ("issuing", "root"):
        raise ValueError("issuer must be 'issuing' or 'root'")
    return issuer
