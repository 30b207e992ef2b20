"""The steps of :func:`huesign.pki.cms.verify_cms`: integrity first, then time and path.

Kept apart from the recipe so that each file reads in one sitting; nothing here is public.
"""

from __future__ import annotations

import datetime as dt

import attrs
from asn1crypto import cms

from huesign.pki import _cms_asn1 as raw
from huesign.pki._cms_asn1 import Content, Failure
from huesign.pki.certificates import Certificate, KeyUsage
from huesign.pki.indications import Indication, SubIndication
from huesign.pki.path import PathValidationResult, validate_path
from huesign.pki.policy import ValidationPolicy
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
from huesign.pki.revocation import RevocationCheck, RevocationSource, RevocationStatus
from huesign.pki.trust import TrustStore
from huesign.pki.tsp import TIME_STAMPING_EKU, TimestampInfo, check_timestamp_token

_SERVICE_ONLY_EKUS = frozenset({TIME_STAMPING_EKU, "1.3.6.1.5.5.7.3.9"})  # TSA, OCSP signing


def has_signing_usage(certificate: Certificate) -> bool:
    """Whether the certificate may sign documents.

    The key usage (when present) must allow digitalSignature or nonRepudiation, and a TSA or
    OCSP responder certificate (whose extended key usages are only those services) may not.
    """
    usage = certificate.key_usage
    if usage is not None and not usage & {KeyUsage.DIGITAL_SIGNATURE, KeyUsage.NON_REPUDIATION}:
        return False
    eku = certificate.extended_key_usage
    return not eku or not set(eku) <= _SERVICE_ONLY_EKUS


_MESSAGES: dict[str, tuple[str, str]] = {
    "cms_unreadable": (
        "Tệp chữ ký bị hỏng hoặc không phải chữ ký CMS.",
        "The signature file is damaged or is not a CMS signature.",
    ),
    "no_signed_data": (
        "Không tìm thấy dữ liệu đã ký: hãy cung cấp tệp gốc.",
        "The signed data was not found: give the original file.",
    ),
    Failure.NO_CERTIFICATE.value: (
        "Không tìm thấy chứng thư số của người ký.",
        "The signer's certificate was not found.",
    ),
    Failure.CERTIFICATE_BINDING.value: (
        "Chứng thư số đi kèm không khớp với chứng thư người ký đã cam kết.",
        "The certificate does not match the one the signer committed to.",
    ),
    Failure.MISSING_ATTRIBUTE.value: (
        "Chữ ký thiếu thuộc tính bắt buộc.",
        "The signature lacks a required attribute.",
    ),
    Failure.CONTENT_TYPE.value: (
        "Loại nội dung đã ký không khớp.",
        "The signed content type does not match.",
    ),
    Failure.ALGORITHM_PROTECTION.value: (
        "Thuật toán ký đã bị thay đổi sau khi ký.",
        "The signature algorithm was changed after signing.",
    ),
    Failure.UNSUPPORTED_ALGORITHM.value: (
        "Chữ ký dùng thuật toán không được chấp nhận.",
        "The signature uses an algorithm that is not accepted.",
    ),
    Failure.HASH.value: (
        "Nội dung đã bị thay đổi sau khi ký.",
        "The content was changed after it was signed.",
    ),
    Failure.SIGNATURE.value: (
        "Giá trị chữ ký không đúng.",
        "The signature value is not correct.",
    ),
    Failure.FORMAT.value: (
        "Cấu trúc chữ ký không đúng chuẩn.",
        "The signature structure is not well formed.",
    ),
    "key_usage": (
        "Chứng thư số không được phép dùng để ký.",
        "The certificate may not be used for signing.",
    ),
    "path": (
        "Chứng thư số của người ký không hợp lệ hoặc không được tin cậy.",
        "The signer's certificate is not valid or not trusted.",
    ),
    "path_revoked": (
        "Chứng thư số của người ký đã bị thu hồi.",
        "The signer's certificate has been revoked.",
    ),
    "path_revoked_ca_no_poe": (
        "Chứng thư số của tổ chức cấp đã bị thu hồi.",
        "The certificate of the issuing authority has been revoked.",
    ),
    "path_expired": (
        "Chứng thư số đã hết hạn.",
        "The certificate has expired.",
    ),
    "path_out_of_bounds_no_poe": (
        "Chứng thư số không còn hiệu lực tại thời điểm kiểm tra và không có dấu thời gian.",
        "The certificate was not valid at the validation time and no timestamp helps.",
    ),
    "path_no_certificate_chain_found": (
        "Chứng thư số không do tổ chức được tin cậy cấp.",
        "The certificate was not issued by a trusted authority.",
    ),
    "path_try_later": (
        "Chưa kiểm tra được tình trạng thu hồi của chứng thư số; hãy thử lại sau.",
        "The revocation status of the certificate could not be checked; try again later.",
    ),
    "revoked_no_poe": (
        "Chứng thư số đã bị thu hồi sau thời điểm ký khai báo, nhưng không có dấu thời gian"
        " chứng minh chữ ký có trước đó.",
        "The certificate was revoked after the claimed signing time, but no timestamp proves"
        " the signature existed before.",
    ),
    "timestamp_invalid": (
        "Dấu thời gian của chữ ký không hợp lệ và đã bị bỏ qua.",
        "The signature timestamp is not valid and was ignored.",
    ),
    "timestamp_unverified": (
        "Chưa kiểm tra được dấu thời gian của chữ ký nên chưa thể dùng nó.",
        "The signature timestamp could not be validated, so it was not used.",
    ),
    "no_signing_certificate_v2": (
        "Chữ ký không theo chuẩn CAdES (thiếu thuộc tính signing-certificate-v2).",
        "The signature is not CAdES (no signing-certificate-v2 attribute).",
    ),
    "several_signers": (
        "Tệp có nhiều chữ ký; chỉ chữ ký đầu tiên được kiểm tra.",
        "The file holds several signatures; only the first was checked.",
    ),
    "timestamp_before_signing_time": (
        "Thời điểm ký khai báo muộn hơn dấu thời gian.",
        "The claimed signing time is later than the timestamp.",
    ),
}


def message(code: str, detail: str = "") -> ReportMessage:
    """The bilingual message for ``code``, with an optional technical detail appended."""
    vi, en = _MESSAGES.get(code, _MESSAGES[Failure.FORMAT.value])
    if detail:
        vi, en = f"{vi} ({detail})", f"{en} ({detail})"
    return ReportMessage(code=code, message_vi=vi, message_en=en)


_FAILURE_VERDICT: dict[Failure, tuple[Indication, SubIndication]] = {
    Failure.NO_CERTIFICATE: (
        Indication.INDETERMINATE,
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    ),
    Failure.CERTIFICATE_BINDING: (
        Indication.INDETERMINATE,
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    ),
    Failure.MISSING_ATTRIBUTE: (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE),
    Failure.CONTENT_TYPE: (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE),
    Failure.ALGORITHM_PROTECTION: (Indication.TOTAL_FAILED, SubIndication.SIG_CRYPTO_FAILURE),
    Failure.UNSUPPORTED_ALGORITHM: (
        Indication.INDETERMINATE,
        SubIndication.CRYPTO_CONSTRAINTS_FAILURE_NO_POE,
    ),
    Failure.HASH: (Indication.TOTAL_FAILED, SubIndication.HASH_FAILURE),
    Failure.SIGNATURE: (Indication.TOTAL_FAILED, SubIndication.SIG_CRYPTO_FAILURE),
    Failure.FORMAT: (Indication.TOTAL_FAILED, SubIndication.FORMAT_FAILURE),
}

ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


def now() -> dt.datetime:
    """The current time in UTC."""
    return dt.datetime.now(dt.UTC)


@attrs.frozen(kw_only=True)
class Facts:
    """What the integrity phase established, handed to :func:`conclude`."""

    check: raw.SignerCheck | None
    verdict: tuple[Indication, SubIndication] | None
    errors: tuple[ReportMessage, ...]
    warnings: tuple[ReportMessage, ...]
    certificates: tuple[Certificate, ...]
    scope: SignatureScope | None
    digest_algorithm: str | None
    tokens: tuple[bytes, ...]
    signature_value: bytes


def integrity(
    signed: cms.SignedData, data: Content | None, extra: tuple[Certificate, ...]
) -> Facts:
    """Check the first SignerInfo of ``signed`` over ``data`` (or the attached content).

    May raise asn1crypto's parse errors on hostile input; the caller turns them into a
    FORMAT_FAILURE report.
    """
    sd = signed
    signer_info = sd["signer_infos"][0]
    warnings: list[ReportMessage] = []
    if len(sd["signer_infos"]) > 1:
        warnings.append(message("several_signers"))
    certificates = (*raw.certificates_of(sd), *extra)
    signature_value: bytes = signer_info["signature"].native
    tokens = tuple(
        v.dump()
        for v in raw.attribute_values(signer_info["unsigned_attrs"], "1.2.840.113549.1.9.16.2.14")
        or ()
    )[:4]
    content_type = sd["encap_content_info"]["content_type"].dotted
    attached = raw.encapsulated_content(sd)

    def stop(
        failure: Failure | str,
        verdict: tuple[Indication, SubIndication],
        detail: str = "",
        check: raw.SignerCheck | None = None,
        digest: str | None = None,
        scope: SignatureScope | None = None,
    ) -> Facts:
        code = failure.value if isinstance(failure, Failure) else failure
        return Facts(
            check=check,
            verdict=verdict,
            errors=(message(code, detail),),
            warnings=tuple(warnings),
            certificates=certificates,
            scope=scope,
            digest_algorithm=digest,
            tokens=tokens,
            signature_value=signature_value,
        )

    try:
        hash_algorithm = raw.content_hash_algorithm(signer_info)
    except raw.UnsupportedAlgorithmError as exc:
        return stop(
            Failure.UNSUPPORTED_ALGORITHM, _FAILURE_VERDICT[Failure.UNSUPPORTED_ALGORITHM], str(exc)
        )
    content = data if data is not None else attached
    if content is None:
        return stop(
            "no_signed_data",
            (Indication.INDETERMINATE, SubIndication.SIGNED_DATA_NOT_FOUND),
            digest=hash_algorithm.value,
        )
    raw_content = content if isinstance(content, bytes) else None
    digest, size = raw.digest_content(content, hash_algorithm)
    scope = SignatureScope(
        kind=ScopeKind.DETACHED if data is not None else ScopeKind.ATTACHED, size=size
    )
    check = raw.check_signer_info(
        signer_info,
        content_digest=digest,
        content_type=content_type,
        candidates=certificates,
        raw_content=raw_content,
    )
    if check.failure is not None:
        return stop(
            check.failure,
            _FAILURE_VERDICT[check.failure],
            check.detail,
            check=check,
            digest=hash_algorithm.value,
            scope=scope,
        )
    if not check.has_signing_certificate_v2:
        warnings.append(message("no_signing_certificate_v2"))
    return Facts(
        check=check,
        verdict=None,
        errors=(),
        warnings=tuple(warnings),
        certificates=certificates,
        scope=scope,
        digest_algorithm=hash_algorithm.value,
        tokens=tokens,
        signature_value=signature_value,
    )


def conclude(
    facts: Facts,
    *,
    trust: TrustStore,
    policy: ValidationPolicy | None,
    revocation: RevocationSource | None,
    at: dt.datetime | None,
) -> ValidationReport:
    """Turn the integrity facts into a verdict: timestamps, signer usage, then the path."""
    check = facts.check
    cert = check.certificate if check else None
    indication, sub = facts.verdict or (
        Indication.INDETERMINATE,
        SubIndication.NO_SIGNING_CERTIFICATE_FOUND,
    )
    base = ValidationReport(
        indication=indication,
        sub_indication=sub,
        validation_time=at or now(),
        signer=cert.identity if cert else None,
        signer_certificate=CertificateSummary.from_certificate(cert) if cert else None,
        claimed_signing_time=check.signing_time if check else None,
        digest_algorithm=facts.digest_algorithm,
        signature_algorithm=check.algorithm.value if check and check.algorithm else None,
        scope=facts.scope,
        errors=facts.errors,
        warnings=facts.warnings,
    )
    if facts.verdict is not None or cert is None or check is None:
        return base
    warnings = list(facts.warnings)
    # Signature timestamp: proves the signature existed at its genTime.
    timestamps: list[TimestampSummary] = []
    unused: list[ReportMessage] = []
    proven: dt.datetime | None = None
    for token in facts.tokens:
        summary, why = _check_timestamp(
            token, facts, trust=trust, policy=policy, revocation=revocation, at=at
        )
        timestamps.append(summary)
        if why is not None and why not in unused:
            unused.append(why)
        if summary.valid and (proven is None or summary.time < proven):
            proven = summary.time
    if proven is None:
        warnings.extend(unused)
    if proven and check.signing_time and check.signing_time > proven + dt.timedelta(minutes=5):
        warnings.append(message("timestamp_before_signing_time"))
    level = None
    if check.has_signing_certificate_v2:
        level = SignatureLevel.B_T if proven else SignatureLevel.B_B
    validation_time = at or proven or now()
    base = attrs.evolve(
        base,
        timestamps=timestamps,
        proven_signing_time=proven,
        level=level,
        validation_time=validation_time,
        warnings=warnings,
    )
    if not has_signing_usage(cert):
        return attrs.evolve(
            base,
            indication=Indication.TOTAL_FAILED,
            sub_indication=SubIndication.SIG_CONSTRAINTS_FAILURE,
            errors=[message("key_usage")],
        )
    result = validate_path(
        cert,
        trust=trust,
        intermediates=[c for c in facts.certificates if c != cert],
        at=validation_time,
        policy=policy,
        revocation=revocation,
    )
    evidence = tuple(_evidence(r) for r in result.revocation)
    signer_summary = base.signer_certificate
    chain = tuple(
        signer_summary
        if c == cert and signer_summary is not None
        else CertificateSummary.from_certificate(c)
        for c in result.chain
    )
    warnings.extend(_message_from(w, "path_warning") for w in result.warnings)
    if result.valid:
        return attrs.evolve(
            base,
            indication=Indication.TOTAL_PASSED,
            sub_indication=None,
            validation_time=result.validation_time,
            chain=chain,
            revocation=evidence,
            warnings=warnings,
        )
    indication, sub = result.indication, result.sub_indication or SubIndication.GENERIC
    code = f"path_{sub.value.lower()}"
    detail = "; ".join(str(e) for e in result.errors)[:300]
    errors = [message(code if code in _MESSAGES else "path", detail)]
    if (
        sub is SubIndication.REVOKED
        and proven is None
        and at is None
        and check.signing_time is not None
        and _good_at_claimed_time(
            result, cert, check.signing_time, facts, trust, policy, revocation
        )
    ):
        indication, sub = Indication.INDETERMINATE, SubIndication.REVOKED_NO_POE
        errors.append(message("revoked_no_poe"))
    return attrs.evolve(
        base,
        indication=indication,
        sub_indication=sub,
        validation_time=result.validation_time,
        chain=chain,
        revocation=evidence,
        errors=errors,
        warnings=warnings,
    )


def _message_from(value: object, code: str) -> ReportMessage:
    text = str(value)[:300]
    return ReportMessage(code=code, message_vi=text, message_en=text)


def _good_at_claimed_time(
    result: PathValidationResult,
    cert: Certificate,
    claimed: dt.datetime,
    facts: Facts,
    trust: TrustStore,
    policy: ValidationPolicy | None,
    revocation: RevocationSource | None,
) -> bool:
    """Whether the signer's certificate was still unrevoked at the claimed signing time.

    Uses the revocation time in the path result when it is there; otherwise validates the
    path again at the claimed time.
    """
    for item in result.revocation:
        if item.certificate == cert and item.status is RevocationStatus.REVOKED:
            return item.revocation_time is not None and item.revocation_time > claimed
    again = validate_path(
        cert,
        trust=trust,
        intermediates=[c for c in facts.certificates if c != cert],
        at=claimed,
        policy=policy,
        revocation=revocation,
    )
    return again.valid


def _evidence(check: RevocationCheck) -> RevocationEvidence:
    return RevocationEvidence(
        certificate_sha256=check.certificate.fingerprint("sha256").hex(),
        source=check.source.value if check.source else "none",
        status=check.status.value,
        revoked_at=check.revocation_time,
        reason=check.reason,
    )


def _check_timestamp(
    token: bytes,
    facts: Facts,
    *,
    trust: TrustStore,
    policy: ValidationPolicy | None,
    revocation: RevocationSource | None,
    at: dt.datetime | None,
) -> tuple[TimestampSummary, ReportMessage | None]:
    """Check one signature timestamp: its summary, and why it cannot be used (if it cannot).

    A token that is broken (imprint, signature, TSA certificate) or whose TSA path failed is
    *not valid*; one whose TSA path is indeterminate (e.g. revocation unknown in hard-fail
    mode) *could not be validated*.  Either way the reason is kept in the summary.
    """
    tcheck = check_timestamp_token(
        token, data=facts.signature_value, extra_certificates=facts.certificates
    )
    info = tcheck.info
    tsa = tcheck.tsa_certificate
    if info is None or not tcheck.ok or tsa is None:
        reason = tcheck.problem or "timestamp_no_tsa_certificate"
        summary = (
            TimestampSummary(time=at or now(), valid=False, reason=reason)
            if info is None
            else _timestamp_summary(info, tsa, reason=reason)
        )
        return summary, message("timestamp_invalid", reason)
    tsa_policy = attrs.evolve(
        policy or ValidationPolicy.public_service(),
        required_extended_key_usages=frozenset({TIME_STAMPING_EKU}),
    )
    result = validate_path(
        tsa,
        trust=trust,
        intermediates=[*info.certificates, *facts.certificates],
        at=at or now(),
        policy=tsa_policy,
        revocation=revocation,
    )
    if result.valid:
        return _timestamp_summary(info, tsa, reason=None), None
    sub = result.sub_indication or SubIndication.GENERIC
    reason = f"TSA certificate {sub.value}: {'; '.join(result.errors)}"[:300]
    code = (
        "timestamp_unverified"
        if result.indication is Indication.INDETERMINATE
        else "timestamp_invalid"
    )
    return _timestamp_summary(info, tsa, reason=reason), message(code, reason)


def _timestamp_summary(
    info: TimestampInfo, tsa: Certificate | None, *, reason: str | None
) -> TimestampSummary:
    return TimestampSummary(
        time=info.time,
        valid=reason is None,
        reason=reason,
        tsa=CertificateSummary.from_certificate(tsa) if tsa else None,
        hash_algorithm=info.hash_algorithm.value,
        policy=info.policy,
    )
