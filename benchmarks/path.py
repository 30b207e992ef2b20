"""Milliseconds per NIST PKITS case: huesign vs pyhanko-certvalidator vs cryptography.

Run with ``python benchmarks/path.py [--rounds N] [--pkits DIR]``.  Every PKITS case is
prepared once (certificates parsed, CRLs read), then each engine validates it ``rounds``
times in alternation, in the same process; the script prints each engine's median time per
case, how many cases it gets right, and the median of the per-case ratios engine / huesign.

* huesign: :func:`huesign.pki.validate_path`, offline hard-fail revocation from the case's
  CRLs, the case's RFC 5280 policy inputs.
* pyhanko-certvalidator: ``ValidationContext`` (the case's CRLs, CRL or OCSP required for
  every certificate, no fetching) and
  ``CertificateValidator`` with ``PKIXValidationParams``.
* cryptography: ``PolicyBuilder`` with permissive extension policies and a client verifier.
  It has no CRL or policy processing, so it only "applies" to cases whose verdict does not
  depend on them; it is timed on every case and scored on all, for reference.

The last section times an ordinary three-certificate EC P-256 path without revocation.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    PKIXValidationParams,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

from huesign.errors import CertificateError
from huesign.pki import (
    Certificate,
    RevocationData,
    RevocationMode,
    RevocationSource,
    TrustStore,
    ValidationPolicy,
    validate_path,
)

DEFAULT_PKITS = Path(__file__).resolve().parent.parent / "tests" / "data" / "pkits"
_REVOCATION_SUITES = ("Revocation", "DistributionPoints", "DeltaCRL")


@dataclass
class Case:
    ident: str
    suite: str
    expected: bool
    certs: list[Certificate]
    crls: tuple[bytes, ...]
    at: dt.datetime
    policy: ValidationPolicy
    raw: dict[str, Any]


def _load(pkits: Path) -> list[Case]:
    cases = []
    for raw in json.loads((pkits / "pkits_testcases.json").read_text()):
        try:
            certs = [
                Certificate.from_der((pkits / "certs" / f"{n}.crt").read_bytes())
                for n in raw["certs"]
            ]
        except CertificateError:
            continue  # 4.1.5: DSA parameter inheritance, unreadable by cryptography
        crls = tuple((pkits / "crls" / f"{n}.crl").read_bytes() for n in raw["crls"])
        policy = ValidationPolicy.pkits(
            initial_policy_set=frozenset(raw["initial_policy_set"]),
            initial_explicit_policy=raw["initial_explicit_policy"],
            initial_policy_mapping_inhibit=raw["initial_policy_mapping_inhibit"],
            initial_any_policy_inhibit=raw["initial_inhibit_any_policy"],
        )
        at = dt.datetime.fromisoformat(raw["validation_time"].replace("Z", "+00:00"))
        cases.append(
            Case(raw["id"], raw["suite"], raw["should_validate"], certs, crls, at, policy, raw)
        )
    return cases


def huesign_engine(case: Case) -> Callable[[], bool]:
    trust = TrustStore.from_certificates([case.certs[0]])
    pool = case.certs[1:-1]
    source = RevocationSource(RevocationData(crls=case.crls))

    def run() -> bool:
        return validate_path(
            case.certs[-1],
            trust=trust,
            intermediates=pool,
            at=case.at,
            policy=case.policy,
            revocation=source,
        ).valid

    return run


_HARD_FAIL = CertRevTrustPolicy(
    RevocationCheckingPolicy(
        ee_certificate_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
        intermediate_ca_cert_rule=RevocationCheckingRule.CRL_OR_OCSP_REQUIRED,
    )
)


def pyhanko_engine(case: Case) -> Callable[[], bool]:
    as_asn1 = [asn1_x509.Certificate.load(c.der) for c in case.certs]
    raw = case.raw
    params = PKIXValidationParams(
        user_initial_policy_set=frozenset(
            "any_policy" if p == "2.5.29.32.0" else p for p in raw["initial_policy_set"]
        ),
        initial_explicit_policy=raw["initial_explicit_policy"],
        initial_policy_mapping_inhibit=raw["initial_policy_mapping_inhibit"],
        initial_any_policy_inhibit=raw["initial_inhibit_any_policy"],
    )

    def run() -> bool:
        context = ValidationContext(
            trust_roots=[as_asn1[0]],
            other_certs=as_asn1[1:-1],
            crls=list(case.crls),
            moment=case.at,
            revinfo_policy=_HARD_FAIL,
            allow_fetching=False,
        )
        validator = CertificateValidator(
            as_asn1[-1],
            intermediate_certs=as_asn1[1:-1],
            validation_context=context,
            pkix_params=params,
        )
        try:
            asyncio.run(validator.async_validate_path())
        except Exception:
            return False
        return True

    return run


def cryptography_engine(case: Case) -> Callable[[], bool]:
    store = verification.Store([case.certs[0].to_cryptography()])
    permissive = verification.ExtensionPolicy.permit_all()
    ca_policy = permissive.require_present(
        x509.BasicConstraints, verification.Criticality.AGNOSTIC, None
    )
    verifier = (
        verification.PolicyBuilder()
        .store(store)
        .time(case.at)
        .extension_policies(ca_policy=ca_policy, ee_policy=permissive)
        .build_client_verifier()
    )
    leaf = case.certs[-1].to_cryptography()
    pool: list[x509.Certificate] = [c.to_cryptography() for c in case.certs[1:-1]]

    def run() -> bool:
        try:
            verifier.verify(leaf, pool)
        except (verification.VerificationError, ValueError):
            return False
        return True

    return run


ENGINES = {
    "huesign": huesign_engine,
    "pyhanko-certvalidator": pyhanko_engine,
    "cryptography": cryptography_engine,
}


def _time(run: Callable[[], bool], rounds: int) -> tuple[float, bool]:
    samples = []
    verdict = False
    for _ in range(rounds):
        start = time.perf_counter()
        verdict = run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000, verdict


def _ordinary_path(rounds: int) -> float:
    now = dt.datetime.now(dt.UTC)

    def make(cn: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, ca: bool):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        issuer_name, issuer_key = issuer or (name, key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True, content_commitment=not ca, key_encipherment=False,
                    data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                    crl_sign=ca, encipher_only=False, decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                False,
            )
        )  # fmt: skip
        return builder.sign(issuer_key, hashes.SHA256()), key

    root, root_key = make("Bench Root", None, True)
    inter, inter_key = make("Bench CA", (root.subject, root_key), True)
    leaf, _ = make("Bench Citizen", (inter.subject, inter_key), False)
    trust = TrustStore.from_certificates([Certificate.from_cryptography(root)])
    pool = [Certificate.from_cryptography(inter)]
    target = Certificate.from_cryptography(leaf)
    policy = ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL)
    ms, valid = _time(
        lambda: validate_path(target, trust=trust, intermediates=pool, policy=policy).valid,
        rounds * 20,
    )
    assert valid
    return ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs per case and engine")
    parser.add_argument("--pkits", type=Path, default=DEFAULT_PKITS, help="PKITS directory")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)  # pyhanko-certvalidator logs every rejection
    cases = _load(args.pkits)
    times: dict[str, list[float]] = {name: [] for name in ENGINES}
    right: dict[str, int] = dict.fromkeys(ENGINES, 0)
    right_no_revocation: dict[str, int] = dict.fromkeys(ENGINES, 0)
    no_revocation = [c for c in cases if not any(s in c.suite for s in _REVOCATION_SUITES)]
    for case in cases:
        for name, engine in ENGINES.items():
            ms, verdict = _time(engine(case), args.rounds)
            times[name].append(ms)
            if verdict is case.expected:
                right[name] += 1
                if case in no_revocation:
                    right_no_revocation[name] += 1
    base = times["huesign"]
    print(f"PKITS: {len(cases)} readable cases, {args.rounds} rounds each (median per case)")
    print(f"{'engine':<24}{'ms/case':>10}{'ratio':>9}{'right':>9}{'right w/o rev.':>16}")
    for name in ENGINES:
        ratio = statistics.median(t / b for t, b in zip(times[name], base, strict=True))
        print(
            f"{name:<24}{statistics.median(times[name]):>10.3f}{ratio:>9.2f}"
            f"{right[name]:>5}/{len(cases):<4}{right_no_revocation[name]:>8}/{len(no_revocation)}"
        )
    print(f"huesign, ordinary 3-certificate EC P-256 path: {_ordinary_path(args.rounds):.3f} ms")


if __name__ == "__main__":
    main()
