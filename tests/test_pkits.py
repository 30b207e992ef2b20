"""The NIST PKITS suite (2011 edition): every one of its 249 cases.

Each case validates its end-entity certificate against its trust anchor with the case's
certificates as the pool, its CRLs as the only revocation data (offline, hard-fail) and its
RFC 5280 policy inputs, and must reach the expected verdict and, when valid, the expected
user-constrained policy set.

Two cases are deliberately not passed, and the tests assert how they are rejected:

* 4.1.4 "Valid DSA Signatures": huesign accepts RSA, ECDSA and EdDSA keys only; DSA is
  rejected by policy with CRYPTO_CONSTRAINTS_FAILURE.
* 4.1.5 "Valid DSA Parameter Inheritance": the CA certificate omits its DSA parameters
  (inherited from the issuer), which the certificate parser refuses to load at all; the
  certificate is rejected as unreadable (CertificateError) before validation starts.

The data set lives in ``tests/data/pkits`` (public domain); ``HUESIGN_PKITS_DIR`` may point
elsewhere.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from huesign.errors import CertificateError
from huesign.pki import (
    Certificate,
    PathValidationResult,
    RevocationData,
    RevocationSource,
    SubIndication,
    TrustStore,
    ValidationPolicy,
    validate_path,
)

PKITS = Path(os.environ.get("HUESIGN_PKITS_DIR", Path(__file__).parent / "data" / "pkits"))
_CASES_FILE = PKITS / "pkits_testcases.json"
CASES: list[dict[str, Any]] = json.loads(_CASES_FILE.read_text()) if _CASES_FILE.exists() else []

#: Cases not passed on purpose, with the rejection asserted instead.
DELIBERATE = {
    "4.1.4": "DSA keys are rejected by policy (CRYPTO_CONSTRAINTS_FAILURE)",
    "4.1.5": "DSA parameter inheritance: the CA certificate cannot be parsed (CertificateError)",
}


def _certificate(name: str) -> Certificate:
    with warnings.catch_warnings():  # two PKITS certificates have negative serial numbers
        warnings.simplefilter("ignore")
        return Certificate.from_der((PKITS / "certs" / f"{name}.crt").read_bytes())


def _run(case: dict[str, Any]) -> PathValidationResult:
    certs = [_certificate(n) for n in case["certs"]]
    crls = tuple((PKITS / "crls" / f"{n}.crl").read_bytes() for n in case["crls"])
    policy = ValidationPolicy.pkits(
        initial_policy_set=frozenset(case["initial_policy_set"]),
        initial_explicit_policy=case["initial_explicit_policy"],
        initial_policy_mapping_inhibit=case["initial_policy_mapping_inhibit"],
        initial_any_policy_inhibit=case["initial_inhibit_any_policy"],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_path(
            certs[-1],
            trust=TrustStore.from_certificates([certs[0]]),
            intermediates=certs[1:-1],
            at=dt.datetime.fromisoformat(case["validation_time"].replace("Z", "+00:00")),
            policy=policy,
            revocation=RevocationSource(RevocationData(crls=crls)),
        )


@pytest.mark.skipif(not CASES, reason="the PKITS data set is not available")
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_pkits_case(case: dict[str, Any]) -> None:
    if case["test_number"] == "4.1.5":
        with pytest.raises(CertificateError):
            _run(case)
        return
    result = _run(case)
    if case["test_number"] == "4.1.4":
        assert not result.valid
        assert result.sub_indication is SubIndication.CRYPTO_CONSTRAINTS_FAILURE
        assert "DSA" in result.errors[0]
        return
    assert result.valid is case["should_validate"], result.errors
    if result.valid:
        assert result.user_constrained_policy_set == frozenset(case["user_constrained_policy_set"])
    else:
        assert result.errors
        assert result.sub_indication is not None


@pytest.mark.skipif(not CASES, reason="the PKITS data set is not available")
def test_pkits_summary(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes: dict[str, bool] = {}
    for case in CASES:
        try:
            result = _run(case)
        except CertificateError:
            outcomes[case["id"]] = False
            continue
        outcomes[case["id"]] = result.valid is case["should_validate"] and (
            not result.valid
            or result.user_constrained_policy_set == frozenset(case["user_constrained_policy_set"])
        )
    by_section: dict[str, list[bool]] = collections.defaultdict(list)
    for case in CASES:
        by_section[case["suite"]].append(outcomes[case["id"]])
    passed = sum(outcomes.values())
    with capsys.disabled():
        print(f"\nPKITS: {passed}/{len(CASES)} cases reach the expected verdict")
        for suite, results in by_section.items():
            print(f"  {suite}: {sum(results)}/{len(results)}")
        for number, why in DELIBERATE.items():
            print(f"  not passed on purpose: {number}: {why}")
    failed = {c["test_number"] for c in CASES if not outcomes[c["id"]]}
    assert failed == set(DELIBERATE)
