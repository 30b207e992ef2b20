"""What a certificate path must satisfy: revocation mode, algorithms, key sizes, usages.

:class:`ValidationPolicy` gathers every knob of :func:`huesign.pki.validate_path`.  The
preset :meth:`ValidationPolicy.public_service` is the strict default for citizen signatures
(hard-fail revocation, SHA-256 or stronger, RSA >= 2048 bits, EC >= 256 bits, nonRepudiation or
digitalSignature on the signer).

>>> ValidationPolicy.public_service().revocation_mode
<RevocationMode.HARD_FAIL: 'hard_fail'>
"""

from __future__ import annotations

import enum

import attrs

from huesign.pki.certificates import KeyUsage

__all__ = ["ANY_POLICY", "RevocationMode", "ValidationPolicy"]

#: The anyPolicy OID (RFC 5280, 4.2.1.4).
ANY_POLICY = "2.5.29.32.0"


class RevocationMode(enum.Enum):
    """How revocation information is obtained and what its absence means."""

    #: Revocation status must be known for every certificate (fetched or supplied);
    #: unavailable information makes the validation INDETERMINATE / TRY_LATER.
    HARD_FAIL = "hard_fail"
    #: Revocation is checked when information can be found; its absence is a warning.
    SOFT_FAIL = "soft_fail"
    #: Only supplied (embedded) revocation data is used, never the network; its absence is
    #: a failure, as in hard-fail.
    OFFLINE = "offline"


def _frozen_strs(value: object) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    if not isinstance(value, frozenset | set | list | tuple):
        raise TypeError("expected a collection of strings")
    return frozenset(str(v) for v in value)


def _frozen_usages(value: object) -> frozenset[KeyUsage]:
    if isinstance(value, KeyUsage):
        return frozenset({value})
    if not isinstance(value, frozenset | set | list | tuple):
        raise TypeError("expected a collection of KeyUsage members")
    out = frozenset(value)
    if not all(isinstance(v, KeyUsage) for v in out):
        raise TypeError("required_key_usages must hold KeyUsage members")
    return out


def _positive(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1")


@attrs.frozen(kw_only=True)
class ValidationPolicy:
    """The rules a certification path and its signer certificate must satisfy.

    Attributes:
        revocation_mode: hard-fail, soft-fail or offline revocation checking.
        accepted_hash_algorithms: digest names (``sha256``...) accepted in certificate, CRL
            and OCSP signatures; Ed25519 signatures carry no separate digest and are accepted.
        min_rsa_key_size: smallest RSA modulus, in bits, on any certificate of the path.
        min_ec_key_size: smallest elliptic curve, in bits.
        required_key_usages: the end-entity certificate must carry at least one of these bits
            when it has a key usage extension (any-of); empty for no requirement.
        require_key_usage_extension: whether an end entity without key usage is rejected.
        required_extended_key_usages: dotted EKU OIDs the end entity must all carry (an EKU
            extension with anyExtendedKeyUsage satisfies any).
        initial_policy_set: RFC 5280 user-initial-policy-set.
        initial_explicit_policy: RFC 5280 initial-explicit-policy.
        initial_policy_mapping_inhibit: RFC 5280 initial-policy-mapping-inhibit.
        initial_any_policy_inhibit: RFC 5280 initial-any-policy-inhibit.
        max_path_length: most certificates between the end entity and the anchor.
        max_candidates: most issuer candidates considered per certificate.
        max_paths: most complete paths validated before giving up.
        max_signature_checks: most signature verifications in one validation call (certificates,
            CRLs and OCSP responses together).
        allow_leaf_outside_validity: accept an end entity whose validity period does not cover
            the validation time (for checking old signatures whose time is proven otherwise).
        reject_nonpositive_serial: reject certificates whose serial number is zero or negative
            (RFC 5280, 4.1.2.2 forbids them).
        strict_anchor: check trust anchors as certificates too: a v3 anchor must say ``cA``,
            carry ``keyCertSign`` when it has key usage and have no unknown critical extension.
        clock_skew_seconds: tolerance when comparing revocation data times.
    """

    revocation_mode: RevocationMode = RevocationMode.HARD_FAIL
    accepted_hash_algorithms: frozenset[str] = attrs.field(
        default=frozenset({"sha256", "sha384", "sha512"}), converter=_frozen_strs
    )
    min_rsa_key_size: int = 2048
    min_ec_key_size: int = 256
    required_key_usages: frozenset[KeyUsage] = attrs.field(
        default=frozenset({KeyUsage.NON_REPUDIATION, KeyUsage.DIGITAL_SIGNATURE}),
        converter=_frozen_usages,
    )
    require_key_usage_extension: bool = True
    required_extended_key_usages: frozenset[str] = attrs.field(
        default=frozenset(), converter=_frozen_strs
    )
    initial_policy_set: frozenset[str] = attrs.field(
        default=frozenset({ANY_POLICY}), converter=_frozen_strs
    )
    initial_explicit_policy: bool = False
    initial_policy_mapping_inhibit: bool = False
    initial_any_policy_inhibit: bool = False
    max_path_length: int = attrs.field(default=10, validator=_positive)
    max_candidates: int = attrs.field(default=16, validator=_positive)
    max_paths: int = attrs.field(default=16, validator=_positive)
    max_signature_checks: int = attrs.field(default=64, validator=_positive)
    allow_leaf_outside_validity: bool = False
    reject_nonpositive_serial: bool = True
    strict_anchor: bool = True
    clock_skew_seconds: int = 300

    def __attrs_post_init__(self) -> None:
        if not self.initial_policy_set:
            raise ValueError("initial_policy_set must not be empty (use {ANY_POLICY})")
        if self.min_rsa_key_size < 0 or self.min_ec_key_size < 0:
            raise ValueError("minimum key sizes must not be negative")
        if self.max_path_length > 64:
            raise ValueError("max_path_length must be at most 64")
        if max(self.max_candidates, self.max_paths) > 1024 or self.max_signature_checks > 65536:
            raise ValueError("work bounds are capped (1024 candidates or paths, 65536 checks)")

    @classmethod
    def public_service(cls) -> ValidationPolicy:
        """The strict default for signatures on public-service forms."""
        return cls()

    @classmethod
    def pkits(
        cls,
        *,
        initial_policy_set: frozenset[str] | None = None,
        initial_explicit_policy: bool = False,
        initial_policy_mapping_inhibit: bool = False,
        initial_any_policy_inhibit: bool = False,
    ) -> ValidationPolicy:
        """Plain RFC 5280 validation as the NIST PKITS suite expects it.

        Hard-fail revocation from the supplied CRLs, no key usage requirement on the end
        entity, and RFC 5280 4.1.2.2's tolerance of negative serial numbers.
        """
        return cls(
            revocation_mode=RevocationMode.OFFLINE,
            required_key_usages=frozenset(),
            require_key_usage_extension=False,
            initial_policy_set=initial_policy_set or frozenset({ANY_POLICY}),
            initial_explicit_policy=initial_explicit_policy,
            initial_policy_mapping_inhibit=initial_policy_mapping_inhibit,
            initial_any_policy_inhibit=initial_any_policy_inhibit,
            reject_nonpositive_serial=False,
        )
