"""Hypothesis strategies for certificates and CMS signatures, valid and labelled broken.

Every value comes with what a verifier needs to judge it offline: the trust store, the
validation time and the revocation data (CRLs, OCSP responses).  Broken values also carry the
verdict (ETSI TS 119 102-1 indication and sub-indication) that a correct validator must give.

Development CAs are expensive next to a single certificate, so each process keeps a small
pool of them, created lazily on first draw (one per key algorithm and role) and shared by
every strategy here; drawing a certificate then costs one signature.

Import these from :mod:`huesign.testing.strategies`.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Sequence

import attrs
from asn1crypto import cms as asn1_cms
from asn1crypto import x509 as asn1_x509
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from huesign.pki.algorithms import KeyAlgorithm
from huesign.pki.certificates import Certificate, KeyUsage
from huesign.pki.cms import sign_cms
from huesign.pki.devca import DevelopmentCA, IssuedCertificate, RevocationReason
from huesign.pki.identity import CitizenIdentity
from huesign.pki.indications import Indication, SubIndication
from huesign.pki.profiles import CertificateProfile
from huesign.pki.revocation import RevocationData, RevocationSource, build_ocsp_request
from huesign.pki.signers import KeySigner
from huesign.pki.trust import TrustStore
from huesign.testing._identity_strategies import citizen_identities, private_keys

__all__ = [
    "CMSAttack",
    "CertificateChain",
    "CertificateDefect",
    "LabelledCertificate",
    "SignedCMS",
    "TamperedCMS",
    "broken_certificates",
    "certificate_chains",
    "certificates",
    "signed_cms",
    "tampered_cms",
]

#: How far back the pooled CAs start, so that labelled validation times lie in the past.
_CA_AGE = dt.timedelta(days=60)
_HOUR = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)
_CA_ALGORITHMS = (KeyAlgorithm.EC_P256, KeyAlgorithm.EC_P384, KeyAlgorithm.RSA_2048)
_MAX_DATA = 1 << 16
_ENCRYPTION_ONLY = frozenset({KeyUsage.KEY_ENCIPHERMENT, KeyUsage.DATA_ENCIPHERMENT})


class CertificateDefect(enum.Enum):
    """What is wrong with a :class:`LabelledCertificate`."""

    #: The certificate's validity ended before the validation time.
    EXPIRED = "expired"
    #: The certificate's validity starts after the validation time.
    NOT_YET_VALID = "not_yet_valid"
    #: The key usage allows only encipherment: an encryption certificate, not a signing one.
    WRONG_KEY_USAGE = "wrong_key_usage"
    #: The issuing CA revoked the certificate before the validation time (key compromise).
    REVOKED = "revoked"
    #: The certificate chains to a root that the trust store does not hold.
    UNTRUSTED_ROOT = "untrusted_root"

    @property
    def verdict(self) -> tuple[Indication, SubIndication]:
        """The indication and sub-indication a validator must give for this defect."""
        return _DEFECT_VERDICTS[self]


_DEFECT_VERDICTS = {
    CertificateDefect.EXPIRED: (Indication.INDETERMINATE, SubIndication.OUT_OF_BOUNDS_NO_POE),
    CertificateDefect.NOT_YET_VALID: (Indication.TOTAL_FAILED, SubIndication.NOT_YET_VALID),
    CertificateDefect.WRONG_KEY_USAGE: (
        Indication.TOTAL_FAILED,
        SubIndication.SIG_CONSTRAINTS_FAILURE,
    ),
    CertificateDefect.REVOKED: (Indication.TOTAL_FAILED, SubIndication.REVOKED),
    CertificateDefect.UNTRUSTED_ROOT: (
        Indication.INDETERMINATE,
        SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
    ),
}


class CMSAttack(enum.Enum):
    """How a :class:`TamperedCMS` was changed after signing."""

    #: One byte of the signed data was changed.
    DATA_BYTE_FLIPPED = "data_byte_flipped"
    #: Bytes were appended to the signed data.
    DATA_APPENDED = "data_appended"
    #: One byte of the signature value was changed.
    SIGNATURE_VALUE_ALTERED = "signature_value_altered"
    #: The embedded signer certificate was replaced by another holder's certificate.
    CERTIFICATE_REPLACED = "certificate_replaced"
    #: The signature file was cut short.
    TRUNCATED = "truncated"

    @property
    def verdict(self) -> tuple[Indication, SubIndication]:
        """The indication and sub-indication a validator must give for this attack."""
        return _ATTACK_VERDICTS[self]


_ATTACK_VERDICTS = {
    CMSAttack.DATA_BYTE_FLIPPED: (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
    CMSAttack.DATA_APPENDED: (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
    CMSAttack.SIGNATURE_VALUE_ALTERED: (
        Indication.TOTAL_FAILED,
        SubIndication.SIG_CRYPTO_FAILURE,
    ),
    CMSAttack.CERTIFICATE_REPLACED: (
        Indication.INDETERMINATE,
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    ),
    CMSAttack.TRUNCATED: (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE),
}


@attrs.frozen(kw_only=True)
class CertificateChain:
    """A valid certificate with everything needed to validate it offline.

    Attributes:
        issued: the certificate, its key and its issuing chain (nearest first, root last).
        trust: a trust store holding only the issuing root.
        at: the validation time at which the certificate is valid.
        revocation: CRLs of the issuing CA and the root, current at :attr:`at`.
    """

    issued: IssuedCertificate
    trust: TrustStore
    at: dt.datetime
    revocation: RevocationData

    def revocation_source(self) -> RevocationSource:
        """:attr:`revocation` as the source that validators take."""
        return RevocationSource(self.revocation)


@attrs.frozen(kw_only=True)
class LabelledCertificate:
    """A certificate with one defect and the verdict a validator must give at :attr:`at`.

    Validate ``issued.certificate`` with ``trust``, ``at``, the intermediates in
    ``issued.chain`` and ``revocation_source()``: the result must be
    ``expected_indication`` / ``expected_sub_indication``.

    Attributes:
        issued: the certificate, its key and its issuing chain (nearest first, root last).
        trust: the trust store to validate against.
        at: the validation time.
        revocation: CRLs (and, for a revoked certificate, an OCSP response) current at
            :attr:`at`, so that nothing needs the network.
        kind: what is wrong.
        expected_indication: the main verdict.
        expected_sub_indication: why it does not pass.
    """

    issued: IssuedCertificate
    trust: TrustStore
    at: dt.datetime
    revocation: RevocationData
    kind: CertificateDefect
    expected_indication: Indication
    expected_sub_indication: SubIndication

    def revocation_source(self) -> RevocationSource:
        """:attr:`revocation` as the source that validators take."""
        return RevocationSource(self.revocation)


@attrs.frozen(kw_only=True, repr=False)
class SignedCMS:
    """Data with a valid detached CAdES signature (B-B) and what is needed to verify it.

    Attributes:
        data: the signed bytes.
        signature: the DER CMS ``ContentInfo``.
        chain: the signer's certificate, trust store, validation time and revocation data.
    """

    data: bytes
    signature: bytes
    chain: CertificateChain

    def __repr__(self) -> str:
        return f"<SignedCMS {len(self.data)} bytes signed by {self.chain.issued!r}>"


@attrs.frozen(kw_only=True, repr=False)
class TamperedCMS:
    """A detached CMS signature and data changed after signing, labelled with the verdict.

    Attributes:
        data: the (possibly changed) data to verify against.
        signature: the (possibly changed) DER signature.
        chain: the original signer's certificate, trust, validation time and revocation data.
        attack: what was changed.
        expected_indication: the main verdict a verifier must give.
        expected_sub_indication: why it does not pass.
    """

    data: bytes
    signature: bytes
    chain: CertificateChain
    attack: CMSAttack
    expected_indication: Indication
    expected_sub_indication: SubIndication

    def __repr__(self) -> str:
        return f"<TamperedCMS {self.attack.value} -> {self.expected_sub_indication.value}>"


# --- the per-process pool of development CAs ----------------------------------------------


@attrs.frozen
class _PooledCA:
    ca: DevelopmentCA
    start: dt.datetime


@functools.lru_cache(maxsize=16)
def _pooled_ca(algorithm: KeyAlgorithm, role: str) -> _PooledCA:
    # Created once per process, algorithm and role; the start lies _CA_AGE in the past so
    # that labelled times (a few days after the start) are past times.
    start = (dt.datetime.now(dt.UTC) - _CA_AGE).replace(microsecond=0)
    ca = DevelopmentCA.create(
        name=f"Huesign Strategies {role.title()}", key_algorithm=algorithm, now=start
    )
    return _PooledCA(ca=ca, start=start)


def _crls(ca: DevelopmentCA, at: dt.datetime) -> tuple[bytes, ...]:
    this_update = at - _HOUR
    return (ca.crl("issuing", now=this_update), ca.crl("root", now=this_update))


def _trusting(ca: DevelopmentCA) -> TrustStore:
    return TrustStore.from_certificates([ca.root])


def _check_ca_algorithm(key_algorithm: KeyAlgorithm) -> None:
    if key_algorithm not in _CA_ALGORITHMS:
        raise InvalidArgument(
            f"ca_algorithm={key_algorithm!r} must be one of "
            + ", ".join(a.name for a in _CA_ALGORITHMS)
        )


def _check_key_algorithms(key_algorithms: Sequence[KeyAlgorithm]) -> tuple[KeyAlgorithm, ...]:
    chosen = tuple(key_algorithms)
    if not chosen or not all(isinstance(a, KeyAlgorithm) for a in chosen):
        raise InvalidArgument("key_algorithms must be a non-empty sequence of KeyAlgorithm")
    return chosen


def _default_identities(profile: CertificateProfile) -> st.SearchStrategy[CitizenIdentity]:
    if profile is CertificateProfile.CITIZEN:
        return citizen_identities(max_identifiers=3)
    return citizen_identities(max_identifiers=3, with_organization=True)


# --- certificates -------------------------------------------------------------------------


def certificates(
    *,
    profile: CertificateProfile = CertificateProfile.CITIZEN,
    ca: DevelopmentCA | None = None,
    identities: st.SearchStrategy[CitizenIdentity] | None = None,
    key_algorithms: Sequence[KeyAlgorithm] = (KeyAlgorithm.EC_P256,),
) -> st.SearchStrategy[IssuedCertificate]:
    """End-entity certificates issued now, with their keys, by ``ca`` or a pooled CA.

    ``profile`` is an end-entity :class:`CertificateProfile` (citizen, officer, seal...);
    ``identities`` draws the subjects (default: :func:`citizen_identities`, with an
    organisation for officers and seals); keys come from :func:`private_keys` over
    ``key_algorithms``.  Without ``ca``, an EC P-256 development CA shared by the process
    issues them.
    """
    if not isinstance(profile, CertificateProfile) or not profile.is_end_entity:
        raise InvalidArgument(f"profile={profile!r} must be an end-entity CertificateProfile")
    if ca is not None and not isinstance(ca, DevelopmentCA):
        raise InvalidArgument("ca must be a DevelopmentCA or None")
    algorithms = _check_key_algorithms(key_algorithms)
    subjects = identities if identities is not None else _default_identities(profile)
    if not isinstance(subjects, st.SearchStrategy):
        raise InvalidArgument("identities must be a SearchStrategy of CitizenIdentity")
    return _issued(profile, ca, subjects, algorithms)


@st.composite
def _issued(
    draw: st.DrawFn,
    profile: CertificateProfile,
    ca: DevelopmentCA | None,
    subjects: st.SearchStrategy[CitizenIdentity],
    algorithms: tuple[KeyAlgorithm, ...],
) -> IssuedCertificate:
    issuer = ca if ca is not None else _pooled_ca(KeyAlgorithm.EC_P256, "trusted").ca
    identity = draw(subjects)
    key = draw(private_keys(algorithms=algorithms))
    return issuer.issue(identity, profile=profile, key=key)


def certificate_chains(
    *,
    profile: CertificateProfile = CertificateProfile.CITIZEN,
    ca_algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
    key_algorithms: Sequence[KeyAlgorithm] = (KeyAlgorithm.EC_P256,),
) -> st.SearchStrategy[CertificateChain]:
    """Valid certificates with their chain, trust store, validation time and CRLs.

    Issued by a pooled development CA whose keys are ``ca_algorithm`` (EC P-256, EC P-384
    or RSA-2048); ``validate_path`` passes for every value, offline.
    """
    if not isinstance(profile, CertificateProfile) or not profile.is_end_entity:
        raise InvalidArgument(f"profile={profile!r} must be an end-entity CertificateProfile")
    _check_ca_algorithm(ca_algorithm)
    algorithms = _check_key_algorithms(key_algorithms)
    return _chains(profile, ca_algorithm, algorithms)


@st.composite
def _chains(
    draw: st.DrawFn,
    profile: CertificateProfile,
    ca_algorithm: KeyAlgorithm,
    algorithms: tuple[KeyAlgorithm, ...],
) -> CertificateChain:
    pool = _pooled_ca(ca_algorithm, "trusted")
    issued = draw(certificates(profile=profile, ca=pool.ca, key_algorithms=algorithms))
    at = issued.certificate.not_before + _HOUR
    return CertificateChain(
        issued=issued,
        trust=_trusting(pool.ca),
        at=at,
        revocation=RevocationData(crls=_crls(pool.ca, at)),
    )


def broken_certificates(
    *,
    kinds: Sequence[CertificateDefect] = tuple(CertificateDefect),
    ca_algorithm: KeyAlgorithm = KeyAlgorithm.EC_P256,
) -> st.SearchStrategy[LabelledCertificate]:
    """Certificates with exactly one defect, labelled with the verdict they must get.

    ``kinds`` chooses the defects (default: all of :class:`CertificateDefect`).  Each value
    holds the trust store, validation time and revocation data for an offline validation.
    """
    chosen = tuple(kinds)
    if not chosen or not all(isinstance(k, CertificateDefect) for k in chosen):
        raise InvalidArgument("kinds must be a non-empty sequence of CertificateDefect members")
    _check_ca_algorithm(ca_algorithm)
    return _broken(chosen, ca_algorithm)


@st.composite
def _broken(
    draw: st.DrawFn, kinds: tuple[CertificateDefect, ...], ca_algorithm: KeyAlgorithm
) -> LabelledCertificate:
    kind = draw(st.sampled_from(kinds))
    identity = draw(citizen_identities(max_identifiers=2))
    key = draw(private_keys(algorithms=(KeyAlgorithm.EC_P256,)))
    pool = _pooled_ca(ca_algorithm, "trusted")
    ca = pool.ca
    at = pool.start + dt.timedelta(days=10)
    ocsp: tuple[bytes, ...] = ()
    if kind is CertificateDefect.EXPIRED:
        issued = ca.issue(identity, key=key, now=pool.start, validity=_DAY)
    elif kind is CertificateDefect.NOT_YET_VALID:
        issued = ca.issue(identity, key=key, now=at + dt.timedelta(days=10))
    elif kind is CertificateDefect.REVOKED:
        issued = ca.issue(identity, key=key, now=pool.start)
        ca.revoke(
            issued.certificate, reason=RevocationReason.KEY_COMPROMISE, when=pool.start + _DAY
        )
        request = build_ocsp_request(issued.certificate, ca.intermediate)
        ocsp = (ca.ocsp_response(request, now=at - _HOUR),)
    elif kind is CertificateDefect.WRONG_KEY_USAGE:
        issued = ca.issue(identity, key=key, now=pool.start, key_usage=_ENCRYPTION_ONLY)
    else:
        rogue = _pooled_ca(ca_algorithm, "untrusted").ca
        issued = rogue.issue(identity, key=key, now=pool.start)
    indication, sub = kind.verdict
    return LabelledCertificate(
        issued=issued,
        trust=_trusting(ca),
        at=at,
        revocation=RevocationData(crls=_crls(ca, at), ocsp_responses=ocsp),
        kind=kind,
        expected_indication=indication,
        expected_sub_indication=sub,
    )


# --- CMS signatures -----------------------------------------------------------------------


def _check_data(data: st.SearchStrategy[bytes] | None) -> st.SearchStrategy[bytes]:
    if data is None:
        return st.binary(min_size=1, max_size=2048)
    if not isinstance(data, st.SearchStrategy):
        raise InvalidArgument("data must be a SearchStrategy of bytes or None")
    return data


def signed_cms(
    *,
    data: st.SearchStrategy[bytes] | None = None,
    profile: CertificateProfile = CertificateProfile.CITIZEN,
) -> st.SearchStrategy[SignedCMS]:
    """Data with a valid detached CAdES B-B signature made by :func:`~huesign.pki.sign_cms`.

    ``data`` draws what is signed (default: 1 to 2048 random bytes, at most 64 KiB); the
    signer is drawn from :func:`certificate_chains` with ``profile``.  ``verify_cms`` passes
    for every value with the value's trust, time and revocation data.
    """
    content = _check_data(data)
    if not isinstance(profile, CertificateProfile) or not profile.is_end_entity:
        raise InvalidArgument(f"profile={profile!r} must be an end-entity CertificateProfile")
    return _signed(content, profile)


@st.composite
def _signed(
    draw: st.DrawFn, content: st.SearchStrategy[bytes], profile: CertificateProfile
) -> SignedCMS:
    payload = draw(content)
    if not isinstance(payload, bytes) or len(payload) > _MAX_DATA:
        raise InvalidArgument(f"data must draw bytes of at most {_MAX_DATA} bytes")
    chain = draw(certificate_chains(profile=profile))
    issued = chain.issued
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    signature = sign_cms(payload, signer, signing_time=chain.at)
    return SignedCMS(data=payload, signature=signature, chain=chain)


def tampered_cms(
    *,
    attacks: Sequence[CMSAttack] = tuple(CMSAttack),
    data: st.SearchStrategy[bytes] | None = None,
) -> st.SearchStrategy[TamperedCMS]:
    """Signed data changed after signing by one of ``attacks``, labelled with the verdict.

    Starts from :func:`signed_cms` values; ``verify_cms`` must give exactly the labelled
    indication and sub-indication with the value's trust, time and revocation data.
    """
    chosen = tuple(attacks)
    if not chosen or not all(isinstance(a, CMSAttack) for a in chosen):
        raise InvalidArgument("attacks must be a non-empty sequence of CMSAttack members")
    return _tampered(chosen, _check_data(data))


@st.composite
def _tampered(
    draw: st.DrawFn, attacks: tuple[CMSAttack, ...], content: st.SearchStrategy[bytes]
) -> TamperedCMS:
    attack = draw(st.sampled_from(attacks))
    original = draw(signed_cms(data=content))
    data, signature = original.data, original.signature
    if attack is CMSAttack.DATA_BYTE_FLIPPED:
        data = _flip(data, draw(st.integers(0, len(data) - 1)), draw(st.integers(1, 255)))
    elif attack is CMSAttack.DATA_APPENDED:
        data += draw(st.binary(min_size=1, max_size=64))
    elif attack is CMSAttack.SIGNATURE_VALUE_ALTERED:
        signature = _alter_signature_value(signature, draw(st.integers(1, 255)))
    elif attack is CMSAttack.CERTIFICATE_REPLACED:
        other = draw(certificates())
        signature = _replace_certificates(signature, other.certificate)
    else:
        # ECDSA signatures vary in length: draw a fraction, not an index.
        keep = draw(st.integers(0, 999))
        signature = signature[: 1 + keep * (len(signature) - 2) // 1000]
    indication, sub = attack.verdict
    return TamperedCMS(
        data=data,
        signature=signature,
        chain=original.chain,
        attack=attack,
        expected_indication=indication,
        expected_sub_indication=sub,
    )


def _flip(data: bytes, index: int, mask: int) -> bytes:
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1 :]


def _alter_signature_value(signature: bytes, mask: int) -> bytes:
    info = asn1_cms.ContentInfo.load(signature)
    value = info["content"]["signer_infos"][0]["signature"].native
    start = signature.rindex(value)
    # The last byte lies inside the value of every signature encoding (RSA, ECDSA, EdDSA).
    return _flip(signature, start + len(value) - 1, mask)


def _replace_certificates(signature: bytes, certificate: Certificate) -> bytes:
    signed = asn1_cms.ContentInfo.load(signature)["content"]
    replacement = asn1_cms.CertificateSet(
        [
            asn1_cms.CertificateChoices(
                name="certificate", value=asn1_x509.Certificate.load(certificate.der)
            )
        ]
    )
    # A new structure around the parsed fields keeps their encodings: nothing is re-encoded.
    rebuilt = asn1_cms.SignedData(
        {
            "version": signed["version"],
            "digest_algorithms": signed["digest_algorithms"],
            "encap_content_info": signed["encap_content_info"],
            "certificates": replacement,
            "signer_infos": signed["signer_infos"],
        }
    )
    info = asn1_cms.ContentInfo({"content_type": "signed_data", "content": rebuilt})
    return bytes(info.dump())
