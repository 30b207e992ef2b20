"""Certification path building and validation (RFC 5280, 6.1) with revocation (6.3, RFC 6960).

:func:`validate_path` builds every candidate path (within hard bounds on candidates, depth,
paths and signature checks) from a certificate to an anchor of a
:class:`~huesign.pki.TrustStore`, validates each one at the validation time and returns the
first that passes, or the most informative failure, as a :class:`PathValidationResult` in
ETSI TS 119 102-1 terms.  Hostile input never raises: it yields a failed result with a reason.

Checks beyond the letter of RFC 5280, on purpose (documents must be held to more than TLS):
every non-self-signed certificate must carry an authority key identifier and every CA a
subject key identifier; serial numbers must be positive (unless the policy says otherwise);
duplicate or malformed extensions reject the certificate; and trust anchors are checked as
certificates too (a v3 anchor must be a CA by basic constraints, sign certificates by key
usage, be within its validity period and carry no unknown critical extension), because an
anchor that breaks these rules is a configuration mistake worth stopping on.

>>> from huesign.pki import TrustStore, validate_path
>>> store = TrustStore.vietnam()
>>> validate_path(store.intermediates[0], trust=store).valid  # revocation unknown offline
False
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

import attrs
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.x509.oid import ExtendedKeyUsageOID

from huesign.errors import CertificateError, PKIError
from huesign.pki._certinfo import CertInfo, key_problem, label, same_key
from huesign.pki._names import NameConstraintsState, NormName
from huesign.pki._policies import PolicyError, PolicyState
from huesign.pki.certificates import Certificate, KeyUsage
from huesign.pki.indications import Indication, SubIndication
from huesign.pki.policy import RevocationMode, ValidationPolicy
from huesign.pki.revocation import (
    RevocationCheck,
    RevocationContext,
    RevocationSource,
    RevocationStatus,
    WorkLimitExceeded,
    check_revocation,
    verify_signature,
)
from huesign.pki.trust import TrustStore

__all__ = ["PathValidationResult", "validate_path"]

_ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE.dotted_string
_OCSP_SIGNING = ExtendedKeyUsageOID.OCSP_SIGNING.dotted_string
_MAX_SIGNER_DEPTH = 2
_MAX_STEPS = 2048


@attrs.frozen(kw_only=True)
class PathValidationResult:
    """The outcome of :func:`validate_path`.

    Attributes:
        valid: whether a path validated (indication TOTAL_PASSED).
        indication: the main verdict.
        sub_indication: why it did not pass (``None`` when valid).
        chain: the path found, end entity first and anchor last (the best failing path when
            none validated; empty when no path reached an anchor).
        errors: short English sentences naming the certificate and the broken rule.
        warnings: things that did not fail the validation but deserve a look.
        revocation: one check per certificate of :attr:`chain` that was checked.
        validation_time: the time the path was validated for.
        user_constrained_policy_set: RFC 5280's output policy set (dotted OIDs).
    """

    valid: bool
    indication: Indication
    sub_indication: SubIndication | None
    chain: tuple[Certificate, ...]
    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    revocation: tuple[RevocationCheck, ...]
    validation_time: dt.datetime
    user_constrained_policy_set: frozenset[str]

    def raise_for_failure(self) -> None:
        """Raise :class:`~huesign.errors.CertificateError` unless the path is valid."""
        if not self.valid:
            reason = self.sub_indication.value if self.sub_indication else "INVALID"
            raise CertificateError(f"{reason}: " + "; ".join(self.errors))


# -- one validation call ---------------------------------------------------------------------


@attrs.frozen
class _Failure:
    sub: SubIndication
    message: str
    rank: tuple[int, int]


class _PathFailed(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _Run:
    """State of one validate_path call: parsed certificates, indexes and work counters."""

    def __init__(
        self,
        trust: TrustStore,
        intermediates: Iterable[Certificate],
        policy: ValidationPolicy,
        at: dt.datetime,
        revocation: RevocationSource,
    ) -> None:
        self.policy = policy
        self.at = at
        self.source = revocation
        self.infos: dict[Certificate, CertInfo] = {}
        self.anchors: dict[NormName, list[Certificate]] = {}
        self.pool: dict[NormName, list[Certificate]] = {}
        for anchor in trust.anchors:
            self.anchors.setdefault(self.info(anchor).subject, []).append(anchor)
        for cert in (*intermediates, *trust.intermediates):
            bucket = self.pool.setdefault(self.info(cert).subject, [])
            if cert not in bucket:
                bucket.append(cert)
        self.signatures = 0
        self.signature_memo: dict[tuple[Certificate, Certificate], bool] = {}
        self.steps = 0
        self.in_progress: set[Certificate] = set()
        self.depth = 0
        self.revocation_ctx = RevocationContext(
            source=revocation,
            policy=policy,
            at=at,
            count_signature=self.count_signature,
            validate_signer=self.validate_signer,
            certificates_named=self.named,
            certificate_info=self.info,
        )
        self.signer_anchor: Certificate | None = None

    def info(self, cert: Certificate) -> CertInfo:
        found = self.infos.get(cert)
        if found is None:
            found = self.infos[cert] = CertInfo(cert)
        return found

    def named(self, subject: NormName) -> Sequence[Certificate]:
        return [*self.pool.get(subject, ()), *self.anchors.get(subject, ())]

    def count_signature(self) -> None:
        self.signatures += 1
        if self.signatures > self.policy.max_signature_checks:
            raise WorkLimitExceeded("signature check budget exhausted")

    def signed_by(self, child: Certificate, parent: Certificate) -> bool:
        key = (child, parent)
        memo = self.signature_memo.get(key)
        if memo is None:
            self.count_signature()
            c = child.to_cryptography()
            try:
                hash_algorithm = c.signature_hash_algorithm
                params = c.signature_algorithm_parameters
            except (UnsupportedAlgorithm, ValueError):
                hash_algorithm, params = None, None
            memo = verify_signature(
                self.info(parent).key, c.signature, c.tbs_certificate_bytes, hash_algorithm, params
            )
            self.signature_memo[key] = memo
        return memo

    # -- path building ----------------------------------------------------------------------

    def issuers(self, info: CertInfo) -> list[tuple[Certificate, bool]]:
        found: list[tuple[int, Certificate, bool]] = []
        for is_anchor, index in ((True, self.anchors), (False, self.pool)):
            for cand in index.get(info.issuer, ()):
                cand_info = self.info(cand)
                if info.aki is not None and cand_info.ski is not None and info.aki != cand_info.ski:
                    continue
                score = (0 if is_anchor else 2) + (
                    0 if cand.not_before <= self.at <= cand.not_after else 1
                )
                found.append((score, cand, is_anchor))
        found.sort(key=lambda item: item[0])
        return [(c, a) for _, c, a in found[: self.policy.max_candidates]]

    def paths(self, leaf: Certificate, anchor: Certificate | None) -> Iterator[list[Certificate]]:
        """Candidate paths, leaf first and anchor last (bounded depth-first search)."""
        if anchor is None and leaf in {a for v in self.anchors.values() for a in v}:
            yield [leaf]
            return
        yielded = 0

        def extend(path: list[Certificate]) -> Iterator[list[Certificate]]:
            nonlocal yielded
            for cand, is_anchor in self.issuers(self.info(path[-1])):
                self.steps += 1
                if yielded >= self.policy.max_paths or self.steps > _MAX_STEPS:
                    return
                if is_anchor:
                    if anchor is None or cand == anchor:
                        yielded += 1
                        yield [*path, cand]
                    continue
                if len(path) > self.policy.max_path_length or cand in path:
                    continue
                cand_info = self.info(cand)
                if any(
                    self.info(p).subject == cand_info.subject and same_key(p, cand) for p in path
                ):
                    continue
                yield from extend([*path, cand])

        yield from extend([leaf])

    # -- validation of one path ---------------------------------------------------------------

    def fail(self, sub: SubIndication, message: str, phase: int, index: int) -> _PathFailed:
        return _PathFailed(_Failure(sub, message, (phase, index)))

    def check_anchor(self, anchor: CertInfo) -> None:
        policy = self.policy
        if anchor.error:
            raise self.fail(SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE, anchor.error, 0, 0)
        problem = key_problem(anchor, policy)
        if problem:
            raise self.fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, problem, 0, 0)
        if not policy.strict_anchor:
            return
        cc = SubIndication.CHAIN_CONSTRAINTS_FAILURE
        broken: str | None = None
        if not anchor.v3:
            broken = "is not a version 3 certificate"
        elif not anchor.basic_ca:
            broken = "is not a CA (basic constraints cA is not set)"
        elif anchor.key_usage is not None and KeyUsage.KEY_CERT_SIGN not in anchor.key_usage:
            broken = "lacks the keyCertSign key usage"
        elif anchor.unknown_critical:
            broken = "has unknown critical extension " + ", ".join(anchor.unknown_critical)
        if broken is not None:
            raise self.fail(cc, f"trust anchor {anchor.label} {broken}", 0, 0)
        if not anchor.cert.not_before <= self.at <= anchor.cert.not_after:
            raise self.fail(
                SubIndication.OUT_OF_BOUNDS_NO_POE,
                f"trust anchor {anchor.label} is not valid at {self.at}",
                0,
                0,
            )

    def validate(
        self, chain: list[Certificate], *, signer: bool
    ) -> tuple[frozenset[str], list[str]]:
        """Run RFC 5280 6.1 over ``chain`` (leaf first, anchor last); raise _PathFailed."""
        policy = self.policy
        warnings: list[str] = []
        anchor = self.info(chain[-1])
        self.check_anchor(anchor)
        certs = [self.info(c) for c in reversed(chain[:-1])]
        n = len(certs)
        if n == 0:
            return policy.initial_policy_set, warnings
        at = self.at
        working_key_cert = anchor.cert
        working_issuer = anchor.subject
        max_path = n
        names = NameConstraintsState()
        if policy.strict_anchor:
            if anchor.path_len is not None:
                max_path = min(max_path, anchor.path_len + 1)
            if anchor.name_constraints is not None:
                names = names.add(anchor.name_constraints)
        state = PolicyState(
            n,
            initial_explicit_policy=policy.initial_explicit_policy,
            initial_any_policy_inhibit=policy.initial_any_policy_inhibit,
            initial_policy_mapping_inhibit=policy.initial_policy_mapping_inhibit,
        )
        general = SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
        constraints = SubIndication.CHAIN_CONSTRAINTS_FAILURE
        for i, info in enumerate(certs, 1):
            last = i == n
            if info.error:
                raise self.fail(general, info.error, 0, i)
            if info.issuer != working_issuer:
                raise self.fail(general, f"{info.label}: issuer name does not chain", 0, i)
            if not self.signed_by(info.cert, working_key_cert):
                raise self.fail(
                    general,
                    f"{info.label}: signature does not verify with the key of "
                    f"{self.info(working_key_cert).label}",
                    0,
                    i,
                )
            hash_name = info.cert.signature_hash_algorithm
            if hash_name is not None and hash_name not in policy.accepted_hash_algorithms:
                raise self.fail(
                    SubIndication.CRYPTO_CONSTRAINTS_FAILURE,
                    f"{info.label}: signed with {hash_name}, which the policy does not accept",
                    0,
                    i,
                )
            problem = key_problem(info, policy)
            if problem:
                raise self.fail(SubIndication.CRYPTO_CONSTRAINTS_FAILURE, problem, 0, i)
            if policy.reject_nonpositive_serial and info.cert.serial_number <= 0:
                raise self.fail(general, f"{info.label}: serial number is not positive", 0, i)
            if info.aki is None and not (
                info.self_issued and same_key(info.cert, working_key_cert)
            ):
                raise self.fail(general, f"{info.label}: no authority key identifier", 0, i)
            cert = info.cert
            if not cert.not_before <= at <= cert.not_after:
                when = "not yet valid" if at < cert.not_before else "expired"
                message = f"{info.label}: {when} at {at.isoformat()}"
                if last and policy.allow_leaf_outside_validity and not signer:
                    warnings.append(message)
                else:
                    sub = (
                        SubIndication.NOT_YET_VALID
                        if last and at < cert.not_before
                        else SubIndication.OUT_OF_BOUNDS_NO_POE
                    )
                    raise self.fail(sub, message, 0, i)
            if not (info.self_issued and not last):
                broken = names.check(info.subject, info.emails, info.san)
                if broken:
                    raise self.fail(constraints, f"{info.label}: {broken}", 0, i)
            try:
                state.process_certificate(i, info.policies, self_issued=info.self_issued)
                if not last:
                    state.process_mappings(i, info.mappings)
            except PolicyError as exc:
                raise self.fail(constraints, f"{info.label}: {exc}", 0, i) from None
            if info.unknown_critical:
                unknown = ", ".join(info.unknown_critical)
                raise self.fail(constraints, f"{info.label}: unknown critical {unknown}", 0, i)
            if last:
                break
            working_issuer = info.subject
            working_key_cert = info.cert
            if info.name_constraints is not None:
                names = names.add(info.name_constraints)
            state.decrement(self_issued=info.self_issued)
            state.apply_constraints(info.require_explicit, info.inhibit_mapping, info.inhibit_any)
            if not (info.v3 and info.basic_ca):
                raise self.fail(constraints, f"{info.label}: not a CA certificate", 0, i)
            if info.ski is None:
                raise self.fail(general, f"{info.label}: CA without subject key identifier", 0, i)
            if not info.self_issued:
                if max_path <= 0:
                    raise self.fail(constraints, f"{info.label}: path length exceeded", 0, i)
                max_path -= 1
            if info.path_len is not None and info.path_len < max_path:
                max_path = info.path_len
            if info.key_usage is not None and KeyUsage.KEY_CERT_SIGN not in info.key_usage:
                raise self.fail(constraints, f"{info.label}: key usage lacks keyCertSign", 0, i)
        leaf = certs[-1]
        try:
            ucps = state.wrap_up(leaf.require_explicit, policy.initial_policy_set)
        except PolicyError as exc:
            raise self.fail(constraints, f"{leaf.label}: {exc}", 0, n) from None
        return ucps, warnings

    def leaf_rules(self, leaf: CertInfo, n: int) -> None:
        policy = self.policy
        sig = SubIndication.SIG_CONSTRAINTS_FAILURE
        if policy.required_key_usages:
            if leaf.key_usage is None:
                if policy.require_key_usage_extension:
                    raise self.fail(sig, f"{leaf.label}: no key usage extension", 2, n)
            elif not leaf.key_usage & policy.required_key_usages:
                wanted = " or ".join(sorted(u.name for u in policy.required_key_usages))
                raise self.fail(sig, f"{leaf.label}: key usage lacks {wanted}", 2, n)
        if policy.required_extended_key_usages:
            eku = set(leaf.eku or ())
            if _ANY_EKU not in eku and not policy.required_extended_key_usages <= eku:
                raise self.fail(sig, f"{leaf.label}: extended key usage not allowed", 2, n)

    def check_revocation(
        self, chain: list[Certificate], checks: list[RevocationCheck]
    ) -> list[str]:
        """Check every certificate but the anchor, anchor side first; add to ``checks``.

        ``checks`` ends leaf first and keeps what was found when a check fails.
        """
        warnings: list[str] = []
        soft = self.policy.revocation_mode is RevocationMode.SOFT_FAIL
        n = len(chain) - 1
        for index in range(n - 1, -1, -1):
            cert, issuer = chain[index], chain[index + 1]
            info = self.info(cert)
            position = n - index
            if cert.has_ocsp_no_check and _OCSP_SIGNING in (info.eku or ()):
                checks.insert(
                    0,
                    RevocationCheck(
                        certificate=cert,
                        status=RevocationStatus.UNKNOWN,
                        detail="not checked: OCSP responder with id-pkix-ocsp-nocheck",
                    ),
                )
                continue
            check = check_revocation(cert, issuer, self.revocation_ctx)
            checks.insert(0, check)
            if check.status is RevocationStatus.REVOKED:
                when = check.revocation_time
                if when is not None and when > self.at:
                    warnings.append(f"{info.label}: revoked after the validation time ({when})")
                    continue
                reason = f" ({check.reason})" if check.reason else ""
                message = f"{info.label}: revoked at {when}{reason}"
                sub = SubIndication.REVOKED if index == 0 else SubIndication.REVOKED_CA_NO_POE
                raise self.fail(sub, message, 1, position)
            if check.status is RevocationStatus.UNKNOWN:
                message = f"{info.label}: revocation status unknown: {check.detail}"
                if soft:
                    warnings.append(message)
                else:
                    raise self.fail(SubIndication.TRY_LATER, message, 1, position)
        return warnings

    def validate_signer(self, signer: Certificate) -> str | None:
        """Validate a CRL signer's path to the anchor of the path being checked."""
        if signer == self.signer_anchor:
            return None
        if signer in self.in_progress:
            # The signer's own path passed structural validation further up the stack and its
            # revocation is now being checked against a CRL that it signed: accept the key.
            return None
        if self.depth >= _MAX_SIGNER_DEPTH:
            return "CRL signer validation nests too deeply"
        saved_policy = self.policy
        self.depth += 1
        self.in_progress.add(signer)
        try:
            self.policy = attrs.evolve(
                saved_policy,
                required_key_usages=frozenset(),
                required_extended_key_usages=frozenset(),
                initial_policy_set=saved_policy.initial_policy_set | {"2.5.29.32.0"},
                initial_explicit_policy=False,
            )
            failure = None
            for chain in self.paths(signer, self.signer_anchor):
                try:
                    self.validate(chain, signer=True)
                    self.check_revocation(chain, [])
                except _PathFailed as exc:
                    failure = exc.failure.message
                    continue
                return None
            return failure or "no path for the CRL signer"
        finally:
            self.policy = saved_policy
            self.depth -= 1
            self.in_progress.discard(signer)


def _result(
    *,
    at: dt.datetime,
    failure: _Failure | None = None,
    chain: Sequence[Certificate] = (),
    warnings: Sequence[str] = (),
    checks: Sequence[RevocationCheck] = (),
    ucps: frozenset[str] = frozenset(),
) -> PathValidationResult:
    if failure is None:
        indication, sub = Indication.TOTAL_PASSED, None
    else:
        sub = failure.sub
        indication = (
            Indication.TOTAL_FAILED
            if sub is SubIndication.SIG_CONSTRAINTS_FAILURE
            else sub.indication
        )
    return PathValidationResult(
        valid=failure is None,
        indication=indication,
        sub_indication=sub,
        chain=tuple(chain),
        errors=(failure.message,) if failure else (),
        warnings=tuple(dict.fromkeys(warnings)),
        revocation=tuple(checks),
        validation_time=at,
        user_constrained_policy_set=ucps if failure is None else frozenset(),
    )


def validate_path(
    certificate: Certificate,
    *,
    trust: TrustStore,
    intermediates: Iterable[Certificate] = (),
    at: dt.datetime | None = None,
    policy: ValidationPolicy | None = None,
    revocation: RevocationSource | None = None,
) -> PathValidationResult:
    """Validate ``certificate`` to an anchor of ``trust`` at time ``at`` (default: now).

    Builds the candidate paths through ``intermediates`` and the store's intermediates,
    validates each (RFC 5280 6.1, then revocation of every certificate, then the policy's
    rules for the end entity) and returns the first that passes or the best failure.
    Without ``revocation``, no revocation data is available: under the default hard-fail
    policy the result is then INDETERMINATE / TRY_LATER.
    """
    if not isinstance(certificate, Certificate):
        raise TypeError("certificate must be a huesign Certificate")
    if at is None:
        at = dt.datetime.now(dt.UTC)
    elif at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    policy = policy or ValidationPolicy.public_service()
    run = _Run(trust, intermediates, policy, at, revocation or RevocationSource())
    best: tuple[_Failure, list[Certificate], list[RevocationCheck]] | None = None
    try:
        for chain in run.paths(certificate, None):
            run.signer_anchor = chain[-1]
            checks: list[RevocationCheck] = []
            try:
                ucps, warnings = run.validate(chain, signer=False)
                more = run.check_revocation(chain, checks)
                run.leaf_rules(run.info(chain[0]), len(chain) - 1)
            except _PathFailed as exc:
                if best is None or exc.failure.rank > best[0].rank:
                    best = (exc.failure, chain, checks)
                continue
            return _result(
                at=at, chain=chain, warnings=[*warnings, *more], checks=checks, ucps=ucps
            )
    except WorkLimitExceeded:
        failure = _Failure(
            SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE,
            f"gave up after {policy.max_signature_checks} signature checks (work limit)",
            (-1, 0),
        )
        if best is not None:
            return _result(at=at, failure=best[0], chain=best[1], checks=best[2])
        return _result(at=at, failure=failure)
    except (ValueError, TypeError, UnsupportedAlgorithm, PKIError) as exc:
        failure = _Failure(
            SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE, f"unreadable input ({exc})", (-1, 0)
        )
        return _result(at=at, failure=failure)
    if best is not None:
        return _result(at=at, failure=best[0], chain=best[1], checks=best[2])
    return _result(
        at=at,
        failure=_Failure(
            SubIndication.NO_CERTIFICATE_CHAIN_FOUND,
            f"{label(certificate.to_cryptography())}: no path to a trust anchor",
            (-1, 0),
        ),
    )
