"""Trust anchors and intermediates: the :class:`TrustStore`.

A store holds several anchors, each in a :class:`TrustDomain`, and optional intermediate
certificates.  :meth:`TrustStore.vietnam` loads the bundled pack: the Vietnam National Root CA
(public domain, with VNPT-CA SHA2 as an intermediate) and, only when asked, the Government
Cipher Committee's specialised root G2 (government domain).  The two domains are separate: a
citizen's signature chains to the national root, an agency seal to the government root, and a
caller always sees which anchor a chain ended at.

Stores are immutable; :meth:`~TrustStore.with_anchors` and
:meth:`~TrustStore.with_intermediates` return new ones.  :meth:`~TrustStore.chain_for` finds a
chain by names, key identifiers and signatures only; validity periods, revocation and policies
are checked by the path validator.

>>> store = TrustStore.vietnam()
>>> [a.identity.common_name for a in store.anchors]
['Vietnam National Root CA']
>>> vnpt = store.intermediates[0]
>>> [c.identity.common_name for c in store.chain_for(vnpt)]
['VNPT-CA SHA2', 'Vietnam National Root CA']
"""

from __future__ import annotations

import enum
import importlib.resources
import os
from collections.abc import Iterable

import attrs

from huesign.errors import CertificateError
from huesign.pki.certificates import Certificate, load_certificates, load_certificates_file

__all__ = ["MAX_CHAIN_LENGTH", "TrustAnchor", "TrustDomain", "TrustStore"]

#: Longest chain :meth:`TrustStore.chain_for` builds, counting the certificate and the anchor.
MAX_CHAIN_LENGTH = 8

_PACKAGE = "huesign.pki"
_NATIONAL_ROOT = "vietnam-national-root-ca.pem"
_VNPT_CA = "vnpt-ca-sha2.pem"
_GOVERNMENT_ROOT = "government-specialized-root-g2.pem"


class TrustDomain(enum.Enum):
    """Which trust hierarchy an anchor belongs to."""

    #: Licensed public CAs under the Vietnam National Root CA (citizens, businesses).
    PUBLIC = "public"
    #: The government's specialised PKI (civil servants, agency seals).
    GOVERNMENT = "government"
    #: Anchors the caller added (a development CA, a foreign root).
    CUSTOM = "custom"


@attrs.frozen
class TrustAnchor:
    """A trusted certificate and the domain it anchors.

    Attributes:
        certificate: the anchor certificate (usually a self-signed root).
        domain: the trust domain it anchors.
    """

    certificate: Certificate = attrs.field(validator=attrs.validators.instance_of(Certificate))
    domain: TrustDomain = attrs.field(
        default=TrustDomain.CUSTOM, validator=attrs.validators.instance_of(TrustDomain)
    )


def _anchors(values: Iterable[TrustAnchor]) -> tuple[TrustAnchor, ...]:
    seen: dict[Certificate, TrustAnchor] = {}
    for anchor in values:
        if not isinstance(anchor, TrustAnchor):
            raise TypeError("anchors must be TrustAnchor objects")
        seen.setdefault(anchor.certificate, anchor)
    return tuple(seen.values())


def _certificates(values: Iterable[Certificate]) -> tuple[Certificate, ...]:
    if isinstance(values, Certificate):
        raise TypeError("give an iterable of certificates, not one certificate")
    found = tuple(dict.fromkeys(values))
    if not all(isinstance(c, Certificate) for c in found):
        raise TypeError("expected Certificate objects")
    return found


def _same_key(a: Certificate, b: Certificate) -> bool:
    try:
        return a.subject == b.subject and a.public_key == b.public_key
    except CertificateError:
        return False


@attrs.frozen(repr=False)
class TrustStore:
    """Trust anchors (with their domains) and intermediate certificates.

    Attributes:
        trust_anchors: the anchors, each with its :class:`TrustDomain`.
        intermediates: certificates that may link a leaf to an anchor; not trusted themselves.
    """

    trust_anchors: tuple[TrustAnchor, ...] = attrs.field(converter=_anchors)
    intermediates: tuple[Certificate, ...] = attrs.field(default=(), converter=_certificates)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def vietnam(cls, *, government: bool = False) -> TrustStore:
        """The bundled Vietnamese trust pack.

        Holds the Vietnam National Root CA (:attr:`TrustDomain.PUBLIC`) with VNPT-CA SHA2 as
        an intermediate.  With ``government=True`` it also holds the Government specialised
        root G2 as a separate :attr:`TrustDomain.GOVERNMENT` anchor.
        """
        anchors = [TrustAnchor(_bundled(_NATIONAL_ROOT), TrustDomain.PUBLIC)]
        if government:
            anchors.append(TrustAnchor(_bundled(_GOVERNMENT_ROOT), TrustDomain.GOVERNMENT))
        return cls(anchors, intermediates=(_bundled(_VNPT_CA),))

    @classmethod
    def from_certificates(
        cls,
        anchors: Iterable[Certificate],
        *,
        intermediates: Iterable[Certificate] = (),
        domain: TrustDomain = TrustDomain.CUSTOM,
    ) -> TrustStore:
        """A store trusting ``anchors`` (all in ``domain``), with optional intermediates."""
        return cls(
            [TrustAnchor(c, domain) for c in _certificates(anchors)],
            intermediates=intermediates,
        )

    @classmethod
    def from_pem_files(
        cls,
        anchors: Iterable[str | os.PathLike[str]],
        *,
        intermediates: Iterable[str | os.PathLike[str]] = (),
        domain: TrustDomain = TrustDomain.CUSTOM,
    ) -> TrustStore:
        """A store from certificate files (PEM bundles, ``.p7b`` or DER; several per file)."""
        if isinstance(anchors, str | os.PathLike):
            raise TypeError("anchors must be an iterable of paths, not one path")
        if isinstance(intermediates, str | os.PathLike):
            raise TypeError("intermediates must be an iterable of paths, not one path")
        return cls.from_certificates(
            [c for path in anchors for c in load_certificates_file(path)],
            intermediates=[c for path in intermediates for c in load_certificates_file(path)],
            domain=domain,
        )

    def with_anchors(
        self, anchors: Iterable[Certificate], *, domain: TrustDomain = TrustDomain.CUSTOM
    ) -> TrustStore:
        """A new store that also trusts ``anchors`` in ``domain``."""
        added = [TrustAnchor(c, domain) for c in _certificates(anchors)]
        return attrs.evolve(self, trust_anchors=(*self.trust_anchors, *added))

    def with_intermediates(self, intermediates: Iterable[Certificate]) -> TrustStore:
        """A new store that also knows ``intermediates``."""
        added = _certificates(intermediates)
        return attrs.evolve(self, intermediates=(*self.intermediates, *added))

    # -- queries ----------------------------------------------------------------------------

    @property
    def anchors(self) -> tuple[Certificate, ...]:
        """The anchor certificates, in the order they were added."""
        return tuple(a.certificate for a in self.trust_anchors)

    def is_anchor(self, certificate: Certificate) -> bool:
        """Whether ``certificate`` is an anchor (same certificate, or same name and key)."""
        return self._anchor_for(certificate) is not None

    def domain_of(self, anchor: Certificate) -> TrustDomain | None:
        """The domain of ``anchor``, or ``None`` when it is not an anchor of this store."""
        found = self._anchor_for(anchor)
        return found.domain if found else None

    def _anchor_for(self, certificate: Certificate) -> TrustAnchor | None:
        for anchor in self.trust_anchors:
            if anchor.certificate == certificate:
                return anchor
        for anchor in self.trust_anchors:
            if _same_key(anchor.certificate, certificate):
                return anchor
        return None

    def find_issuers(
        self, certificate: Certificate, *, extra: Iterable[Certificate] = ()
    ) -> tuple[Certificate, ...]:
        """Candidate issuers of ``certificate`` among anchors, intermediates and ``extra``.

        A candidate's subject equals the certificate's issuer and, when both key identifiers
        are present, its subject key identifier equals the certificate's authority key
        identifier.  Signatures are not checked; anchors come first.
        """
        aki = _key_id(certificate, authority=True)
        found: list[Certificate] = []
        for candidate in (*self.anchors, *self.intermediates, *_certificates(extra)):
            if candidate.subject != certificate.issuer or candidate in found:
                continue
            ski = _key_id(candidate, authority=False)
            if aki is not None and ski is not None and aki != ski:
                continue
            found.append(candidate)
        return tuple(found)

    def chain_for(
        self, certificate: Certificate, *, extra: Iterable[Certificate] = ()
    ) -> tuple[Certificate, ...] | None:
        """A chain from ``certificate`` to an anchor, checked by signature only.

        Returns ``(certificate, intermediates..., anchor)`` ending with the store's own anchor
        certificate (a certificate with an anchor's name and key is that anchor, so an anchor
        alone gives a chain of one), or ``None`` when no chain of at most
        :data:`MAX_CHAIN_LENGTH` certificates exists.  ``extra`` adds untrusted
        certificates (for example those embedded in a signature).  No validity, revocation or
        policy checks.
        """
        if not isinstance(certificate, Certificate):
            raise TypeError("certificate must be a Certificate")
        pool = _certificates(extra)
        return self._walk((certificate,), pool)

    def _walk(
        self, chain: tuple[Certificate, ...], pool: tuple[Certificate, ...]
    ) -> tuple[Certificate, ...] | None:
        current = chain[-1]
        anchor = self._anchor_for(current)
        if anchor is not None:
            return (*chain[:-1], anchor.certificate)
        if len(chain) >= MAX_CHAIN_LENGTH:
            return None
        for issuer in self.find_issuers(current, extra=pool):
            if issuer in chain or not current.is_signed_by(issuer):
                continue
            found = self._walk((*chain, issuer), pool)
            if found is not None:
                return found
        return None

    def domain_for(
        self, certificate: Certificate, *, extra: Iterable[Certificate] = ()
    ) -> TrustDomain | None:
        """The domain of the anchor :meth:`chain_for` reaches, or ``None`` without a chain."""
        chain = self.chain_for(certificate, extra=extra)
        return self.domain_of(chain[-1]) if chain else None

    def __repr__(self) -> str:
        domains = sorted({a.domain.value for a in self.trust_anchors})
        return (
            f"<TrustStore anchors={len(self.trust_anchors)} "
            f"intermediates={len(self.intermediates)} domains={domains}>"
        )


def _key_id(certificate: Certificate, *, authority: bool) -> bytes | None:
    try:
        if authority:
            return certificate.authority_key_identifier
        return certificate.subject_key_identifier
    except CertificateError:  # a malformed extension counts as absent
        return None


def _bundled(name: str) -> Certificate:
    resource = importlib.resources.files(_PACKAGE).joinpath("data", "trust", name)
    try:
        data = resource.read_bytes()
    except OSError as exc:
        raise CertificateError(f"the bundled trust pack lacks {name}") from exc
    found = load_certificates(data)
    if len(found) != 1:
        raise CertificateError(f"bundled {name} holds {len(found)} certificates, expected one")
    return found[0]
