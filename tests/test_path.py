"""Certification path validation on hand-built chains: every failure mode, named.

Includes the chains pyhanko-certvalidator wrongly accepts (DN and e-mail name constraints,
missing AKI/SKI, a root that is not a CA, serial number 0, duplicate extensions, an unknown
critical extension on a root) and pathological graphs that must finish quickly.  ``openssl
verify`` is the independent judge for the ordinary verdicts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import time
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.pkihelpers import NOW, YEAR, Chain, Node, crl, issue, resign, standard_chain

from huesign.errors import CertificateError
from huesign.pki import (
    Certificate,
    Indication,
    KeyUsage,
    RevocationData,
    RevocationMode,
    RevocationSource,
    SubIndication,
    TrustStore,
    ValidationPolicy,
    validate_path,
)
from huesign.pki._names import normalize_name
from judges import require_program

SOFT = ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL)


@pytest.fixture(scope="session")
def chain() -> Chain:
    return standard_chain()


def check(
    leaf: Node | Certificate,
    root: Node,
    *intermediates: Node,
    policy: ValidationPolicy = SOFT,
    at: dt.datetime = NOW,
    **kwargs: object,
):
    cert = leaf.cert if isinstance(leaf, Node) else leaf
    return validate_path(
        cert,
        trust=TrustStore.from_certificates([root.cert]),
        intermediates=[n.cert for n in intermediates],
        at=at,
        policy=policy,
        **kwargs,  # type: ignore[arg-type]
    )


# -- the ordinary path ---------------------------------------------------------------------


def test_valid_chain_passes_with_chain_leaf_first(chain: Chain) -> None:
    result = check(chain.leaf, chain.root, chain.intermediate)
    assert result.valid
    assert result.indication is Indication.TOTAL_PASSED
    assert result.sub_indication is None
    assert result.chain == (chain.leaf.cert, chain.intermediate.cert, chain.root.cert)
    assert result.validation_time == NOW


def test_soft_fail_without_revocation_data_warns_about_each_certificate(chain: Chain) -> None:
    result = check(chain.leaf, chain.root, chain.intermediate)
    assert len([w for w in result.warnings if "revocation status unknown" in w]) == 2


def test_hard_fail_without_revocation_data_is_try_later(chain: Chain) -> None:
    result = check(chain.leaf, chain.root, chain.intermediate, policy=ValidationPolicy())
    assert not result.valid
    assert result.indication is Indication.INDETERMINATE
    assert result.sub_indication is SubIndication.TRY_LATER


def test_hard_fail_with_crls_passes(chain: Chain) -> None:
    data = RevocationData(crls=(crl(chain.root), crl(chain.intermediate)))
    result = check(
        chain.leaf,
        chain.root,
        chain.intermediate,
        policy=ValidationPolicy(),
        revocation=RevocationSource(data),
    )
    assert result.valid, result.errors
    assert [c.status.value for c in result.revocation] == ["good", "good"]


def test_intermediates_from_the_trust_store_are_used(chain: Chain) -> None:
    store = TrustStore.from_certificates([chain.root.cert], intermediates=[chain.intermediate.cert])
    result = validate_path(chain.leaf.cert, trust=store, at=NOW, policy=SOFT)
    assert result.valid


def test_no_path_to_an_anchor_is_no_certificate_chain_found(chain: Chain) -> None:
    result = check(chain.leaf, chain.root)
    assert result.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND
    assert result.chain == ()


def test_naive_validation_time_is_refused(chain: Chain) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check(chain.leaf, chain.root, chain.intermediate, at=dt.datetime(2026, 1, 1))


# -- validity periods ----------------------------------------------------------------------


def test_expired_leaf_is_out_of_bounds_no_poe(chain: Chain) -> None:
    leaf = issue("CN=Expired", chain.intermediate, ca=False, not_after=NOW - dt.timedelta(days=1))
    result = check(leaf, chain.root, chain.intermediate)
    assert result.sub_indication is SubIndication.OUT_OF_BOUNDS_NO_POE
    assert "expired" in result.errors[0]


def test_leaf_not_yet_valid_is_not_yet_valid(chain: Chain) -> None:
    leaf = issue("CN=Future", chain.intermediate, ca=False, not_before=NOW + YEAR / 2)
    result = check(leaf, chain.root, chain.intermediate)
    assert result.sub_indication is SubIndication.NOT_YET_VALID
    assert result.indication is Indication.TOTAL_FAILED


def test_policy_may_allow_a_leaf_outside_its_validity_with_a_warning(chain: Chain) -> None:
    leaf = issue("CN=Old", chain.intermediate, ca=False, not_after=NOW - dt.timedelta(days=1))
    policy = ValidationPolicy(
        revocation_mode=RevocationMode.SOFT_FAIL, allow_leaf_outside_validity=True
    )
    result = check(leaf, chain.root, chain.intermediate, policy=policy)
    assert result.valid
    assert any("expired" in w for w in result.warnings)


def test_expired_intermediate_fails_even_when_leaf_outside_validity_is_allowed(
    chain: Chain,
) -> None:
    inter = issue("CN=Expired CA", chain.root, not_after=NOW - dt.timedelta(days=1))
    leaf = issue("CN=Leaf", inter, ca=False)
    policy = ValidationPolicy(
        revocation_mode=RevocationMode.SOFT_FAIL, allow_leaf_outside_validity=True
    )
    result = check(leaf, chain.root, inter, policy=policy)
    assert result.sub_indication is SubIndication.OUT_OF_BOUNDS_NO_POE
    assert "Expired CA" in result.errors[0]


# -- basic constraints, key usage, path length ---------------------------------------------


def test_intermediate_with_ca_false_is_chain_constraints_failure(chain: Chain) -> None:
    inter = issue("CN=Not A CA", chain.root, ca=False, key_usage="ca")
    leaf = issue("CN=Leaf", inter, ca=False)
    result = check(leaf, chain.root, inter)
    assert result.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert "not a CA" in result.errors[0]


def test_path_length_zero_forbids_a_further_ca(chain: Chain) -> None:
    sub = issue("CN=Sub CA", chain.intermediate)
    leaf = issue("CN=Leaf", sub, ca=False)
    result = check(leaf, chain.root, chain.intermediate, sub)
    assert result.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert "path length" in result.errors[0]


def test_intermediate_without_key_cert_sign_is_rejected(chain: Chain) -> None:
    inter = issue("CN=No CertSign", chain.root, key_usage="sign")
    leaf = issue("CN=Leaf", inter, ca=False)
    result = check(leaf, chain.root, inter)
    assert result.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert "keyCertSign" in result.errors[0]


def test_signer_without_non_repudiation_or_digital_signature_is_sig_constraints_failure(
    chain: Chain,
) -> None:
    leaf = issue("CN=Encryption Only", chain.intermediate, ca=False, key_usage="encrypt")
    result = check(leaf, chain.root, chain.intermediate)
    assert result.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE
    assert result.indication is Indication.TOTAL_FAILED


def test_required_extended_key_usage_is_enforced(chain: Chain) -> None:
    policy = ValidationPolicy(
        revocation_mode=RevocationMode.SOFT_FAIL,
        required_extended_key_usages={ExtendedKeyUsageOID.TIME_STAMPING.dotted_string},
    )
    result = check(chain.leaf, chain.root, chain.intermediate, policy=policy)
    assert result.sub_indication is SubIndication.SIG_CONSTRAINTS_FAILURE


def test_required_key_usages_can_be_relaxed(chain: Chain) -> None:
    leaf = issue("CN=Encryption Only", chain.intermediate, ca=False, key_usage="encrypt")
    policy = ValidationPolicy(
        revocation_mode=RevocationMode.SOFT_FAIL, required_key_usages=frozenset()
    )
    assert check(leaf, chain.root, chain.intermediate, policy=policy).valid


def test_policy_refuses_an_empty_required_usage_type() -> None:
    with pytest.raises(TypeError):
        ValidationPolicy(required_key_usages={"digital_signature"})  # type: ignore[arg-type]
    assert ValidationPolicy(required_key_usages=KeyUsage.DIGITAL_SIGNATURE).required_key_usages


# -- algorithms and key sizes --------------------------------------------------------------


def test_leaf_signed_with_a_weak_digest_is_crypto_constraints_failure(chain: Chain) -> None:
    leaf = issue("CN=SHA224", chain.intermediate, ca=False, hash_algorithm=hashes.SHA224())
    result = check(leaf, chain.root, chain.intermediate)
    assert result.sub_indication is SubIndication.CRYPTO_CONSTRAINTS_FAILURE
    assert "sha224" in result.errors[0]


def test_small_rsa_key_is_crypto_constraints_failure(chain: Chain) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    leaf = issue("CN=Weak RSA", chain.intermediate, ca=False, key=weak)
    result = check(leaf, chain.root, chain.intermediate)
    assert result.sub_indication is SubIndication.CRYPTO_CONSTRAINTS_FAILURE
    assert "1024" in result.errors[0]


# -- signatures and best failure -------------------------------------------------------------


def test_forged_intermediate_signature_is_general_failure(chain: Chain) -> None:
    impostor = issue("CN=Test Root,O=Huesign Tests,C=VN")  # same name, other key
    inter = issue("CN=Forged CA", impostor, aki=False)
    leaf = issue("CN=Leaf", inter, ca=False)
    result = check(leaf, chain.root, inter)
    assert result.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "signature does not verify" in result.errors[0] or "authority key" in result.errors[0]


def test_a_good_path_wins_over_a_bad_candidate(chain: Chain) -> None:
    twin = issue("CN=Test Issuing CA,O=Huesign Tests,C=VN", chain.root, path_length=0)
    result = check(chain.leaf, chain.root, twin, chain.intermediate)
    assert result.valid
    assert result.chain[1] == chain.intermediate.cert


# -- checks pyhanko-certvalidator misses ------------------------------------------------------


def test_dn_name_constraints_reject_a_subject_outside_the_permitted_subtree(chain: Chain) -> None:
    permitted = x509.NameConstraints(
        permitted_subtrees=[x509.DirectoryName(x509.Name.from_rfc4514_string("O=Hue,C=VN"))],
        excluded_subtrees=None,
    )
    inter = issue("CN=Hue CA,O=Hue,C=VN", chain.root, extensions=[(permitted, True)])
    inside = issue("CN=Citizen,O=Hue,C=VN", inter, ca=False)
    outside = issue("CN=Citizen,O=Da Nang,C=VN", inter, ca=False)
    assert check(inside, chain.root, inter).valid
    result = check(outside, chain.root, inter)
    assert result.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert "outside the permitted subtrees" in result.errors[0]


def test_dn_constraints_compare_case_and_whitespace_insensitively(chain: Chain) -> None:
    permitted = x509.NameConstraints(
        permitted_subtrees=[
            x509.DirectoryName(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                        x509.NameAttribute(
                            NameOID.ORGANIZATION_NAME,
                            "Thanh Pho Hue",
                            x509.name._ASN1Type.PrintableString,
                        ),
                    ]
                )
            )
        ],
        excluded_subtrees=None,
    )
    inter = issue("CN=Hue CA,O=Thanh Pho Hue,C=VN", chain.root, extensions=[(permitted, True)])
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "  thanh   PHO hue "),
            x509.NameAttribute(NameOID.COMMON_NAME, "Citizen"),
        ]
    )
    leaf = issue(subject, inter, ca=False)
    assert check(leaf, chain.root, inter).valid


def test_email_name_constraints_cover_alt_names_and_the_subject_email(chain: Chain) -> None:
    permitted = x509.NameConstraints(
        permitted_subtrees=[x509.RFC822Name("hue.gov.vn")], excluded_subtrees=None
    )
    inter = issue("CN=Mail CA", chain.root, extensions=[(permitted, True)])
    good = issue(
        "CN=A",
        inter,
        ca=False,
        extensions=[(x509.SubjectAlternativeName([x509.RFC822Name("a@hue.gov.vn")]), False)],
    )
    bad_alt = issue(
        "CN=B",
        inter,
        ca=False,
        extensions=[(x509.SubjectAlternativeName([x509.RFC822Name("b@evil.example")]), False)],
    )
    bad_subject = issue("CN=C,E=c@evil.example", inter, ca=False)
    assert check(good, chain.root, inter).valid
    assert check(bad_alt, chain.root, inter).sub_indication is (
        SubIndication.CHAIN_CONSTRAINTS_FAILURE
    )
    result = check(bad_subject, chain.root, inter)
    assert result.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert "subject e-mail" in result.errors[0]


@pytest.mark.parametrize(
    ("constraint", "name", "allowed"),
    [
        (x509.DNSName("hue.gov.vn"), x509.DNSName("dichvucong.hue.gov.vn"), True),
        (x509.DNSName("hue.gov.vn"), x509.DNSName("nothue.gov.vn"), False),
        (
            x509.UniformResourceIdentifier(".hue.gov.vn"),
            x509.UniformResourceIdentifier("https://portal.hue.gov.vn/x"),
            True,
        ),
        (
            x509.UniformResourceIdentifier(".hue.gov.vn"),
            x509.UniformResourceIdentifier("https://hue.gov.vn.evil.example/"),
            False,
        ),
        (
            x509.IPAddress(ipaddress.ip_network("10.46.0.0/16")),
            x509.IPAddress(ipaddress.ip_address("10.46.1.2")),
            True,
        ),
        (
            x509.IPAddress(ipaddress.ip_network("10.46.0.0/16")),
            x509.IPAddress(ipaddress.ip_address("10.47.1.2")),
            False,
        ),
    ],
)
def test_dns_uri_and_ip_name_constraints(
    chain: Chain, constraint: x509.GeneralName, name: x509.GeneralName, allowed: bool
) -> None:
    nc = x509.NameConstraints(permitted_subtrees=[constraint], excluded_subtrees=None)
    inter = issue("CN=Constrained CA", chain.root, extensions=[(nc, True)])
    leaf = issue(
        "CN=Leaf", inter, ca=False, extensions=[(x509.SubjectAlternativeName([name]), False)]
    )
    assert check(leaf, chain.root, inter).valid is allowed


def test_excluded_subtree_rejects_a_matching_name(chain: Chain) -> None:
    nc = x509.NameConstraints(
        permitted_subtrees=None, excluded_subtrees=[x509.DNSName("evil.example")]
    )
    inter = issue("CN=Excluding CA", chain.root, extensions=[(nc, True)])
    leaf = issue(
        "CN=Leaf",
        inter,
        ca=False,
        extensions=[(x509.SubjectAlternativeName([x509.DNSName("www.evil.example")]), False)],
    )
    result = check(leaf, chain.root, inter)
    assert "excluded subtree" in result.errors[0]


def test_ca_without_authority_key_identifier_is_rejected(chain: Chain) -> None:
    inter = issue("CN=No AKI CA", chain.root, aki=False)
    leaf = issue("CN=Leaf", inter, ca=False)
    result = check(leaf, chain.root, inter)
    assert result.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "authority key identifier" in result.errors[0]


def test_ca_without_subject_key_identifier_is_rejected(chain: Chain) -> None:
    inter = issue("CN=No SKI CA", chain.root, ski=False)
    leaf = issue("CN=Leaf", inter, ca=False)
    result = check(leaf, chain.root, inter)
    assert result.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "subject key identifier" in result.errors[0]


def test_root_without_basic_constraints_ca_is_not_an_anchor(chain: Chain) -> None:
    root = issue("CN=Bare Root", basic_constraints=False)
    inter = issue("CN=CA", root)
    leaf = issue("CN=Leaf", inter, ca=False)
    result = check(leaf, root, inter)
    assert result.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert "trust anchor" in result.errors[0]
    lenient = ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL, strict_anchor=False)
    assert check(leaf, root, inter, policy=lenient).valid


def test_unknown_critical_extension_on_a_root_is_rejected() -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    root = issue("CN=Odd Root", extensions=[(odd, True)])
    inter = issue("CN=CA", root)
    leaf = issue("CN=Leaf", inter, ca=False)
    result = check(leaf, root, inter)
    assert result.sub_indication is SubIndication.CHAIN_CONSTRAINTS_FAILURE
    assert "1.3.6.1.4.1.99999.1" in result.errors[0]


def test_unknown_critical_extension_on_an_intermediate_is_rejected(chain: Chain) -> None:
    odd = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.2"), b"\x05\x00")
    inter = issue("CN=Odd CA", chain.root, extensions=[(odd, True)])
    leaf = issue("CN=Leaf", inter, ca=False)
    assert "unknown critical" in check(leaf, chain.root, inter).errors[0]


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_serial_number_zero_is_rejected(chain: Chain) -> None:
    def zero(tbs: asn1_x509.TbsCertificate) -> None:
        tbs["serial_number"] = 0

    leaf = resign(issue("CN=Zero", chain.intermediate, ca=False), chain.intermediate.key, zero)
    result = check(leaf, chain.root, chain.intermediate)
    assert result.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "serial number" in result.errors[0]


def test_duplicate_extension_is_rejected(chain: Chain) -> None:
    def duplicate(tbs: asn1_x509.TbsCertificate) -> None:
        exts = tbs["extensions"]
        tbs["extensions"] = asn1_x509.Extensions([*exts, exts[0].copy()])

    leaf = resign(issue("CN=Dup", chain.intermediate, ca=False), chain.intermediate.key, duplicate)
    result = check(leaf, chain.root, chain.intermediate)
    assert result.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "duplicate" in result.errors[0]


def test_malformed_extension_yields_a_failed_result_not_an_exception(chain: Chain) -> None:
    garbage = x509.UnrecognizedExtension(
        x509.oid.ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\x03\x87\x01"
    )
    leaf = issue("CN=Garbage", chain.intermediate, ca=False, extensions=[(garbage, False)])
    result = check(leaf, chain.root, chain.intermediate)
    assert not result.valid
    assert result.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE


def test_malformed_name_constraints_on_a_ca_yield_a_failed_result(chain: Chain) -> None:
    broken = x509.UnrecognizedExtension(x509.oid.ExtensionOID.NAME_CONSTRAINTS, b"\x30\x02\xa0\x05")
    inter = issue("CN=Broken NC CA", chain.root, extensions=[(broken, True)])
    leaf = issue("CN=Leaf", inter, ca=False)
    result = check(leaf, chain.root, inter)
    assert result.sub_indication is SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE
    assert "Broken NC CA" in result.errors[0]


# -- pathological graphs ---------------------------------------------------------------------


def test_two_cas_signing_each_other_do_not_loop(chain: Chain) -> None:
    key_a, key_b = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    a_self = issue("CN=Loop A", key=key_a)
    b = issue("CN=Loop B", a_self, key=key_b)
    a = issue("CN=Loop A", b, key=key_a)
    leaf = issue("CN=Leaf", b, ca=False)
    started = time.perf_counter()
    result = check(leaf, chain.root, a, b)
    assert time.perf_counter() - started < 1.0
    assert result.sub_indication is SubIndication.NO_CERTIFICATE_CHAIN_FOUND


def test_mesh_of_cross_signed_cas_finishes_within_the_work_bound(chain: Chain) -> None:
    levels = 6
    width = 4
    keys = [[ec.generate_private_key(ec.SECP256R1()) for _ in range(width)] for _ in range(levels)]
    nodes: list[Node] = []
    # every CA of level i is certified by every CA of level i-1 (and level 0 by nothing
    # trusted): width**levels candidate paths, none reaching the anchor.
    parents = [issue(f"CN=Mesh 0-{j}", key=keys[0][j]) for j in range(width)]
    nodes.extend(parents)
    for i in range(1, levels):
        current = []
        for j in range(width):
            for parent in parents:
                current.append(issue(f"CN=Mesh {i}-{j}", parent, key=keys[i][j], aki=False))
        nodes.extend(current)
        parents = current[::width]
    leaf = issue("CN=Leaf", parents[0], ca=False, aki=False)
    started = time.perf_counter()
    result = check(leaf, chain.root, *nodes)
    assert time.perf_counter() - started < 2.0
    assert not result.valid


def test_signature_budget_stops_work_on_many_failing_candidates(chain: Chain) -> None:
    impostors = [
        issue("CN=Test Issuing CA,O=Huesign Tests,C=VN", chain.root, ski=True, aki=False)
        for _ in range(3)
    ]
    leaf = issue("CN=Orphan", impostors[0], ca=False, aki=False)
    policy = ValidationPolicy(revocation_mode=RevocationMode.SOFT_FAIL, max_signature_checks=2)
    result = check(leaf, chain.root, *impostors[1:], policy=policy)
    assert not result.valid


# -- name comparison properties --------------------------------------------------------------

_words = st.lists(
    st.text(alphabet="abcdefghiklmnopqrstuvxyđươăâêôàáảãạ", min_size=1, max_size=8),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None)
@given(words=_words, pad=st.integers(min_value=0, max_value=3))
def test_names_differing_in_case_and_spacing_compare_equal(words: list[str], pad: int) -> None:
    plain = " ".join(words)
    noisy = " " * pad + ("  " + " " * pad).join(w.upper() for w in words) + " " * pad
    a = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, plain)])
    b = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, noisy)])
    assert normalize_name(a) == normalize_name(b)


@settings(max_examples=40, deadline=None)
@given(words=_words, other=_words)
def test_names_with_different_words_compare_unequal(words: list[str], other: list[str]) -> None:
    if [w.casefold() for w in words] == [w.casefold() for w in other]:
        return
    a = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, " ".join(words))])
    b = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, " ".join(other))])
    assert normalize_name(a) != normalize_name(b)


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_mutated_certificates_never_raise(chain: Chain, position: int, value: int) -> None:
    der = bytearray(chain.leaf.cert.der)
    der[position % len(der)] = value
    try:
        mutated = Certificate.from_der(bytes(der))
    except CertificateError:
        return
    result = check(mutated, chain.root, chain.intermediate)
    original_tbs = chain.leaf.crypto.tbs_certificate_bytes
    if mutated.to_cryptography().tbs_certificate_bytes != original_tbs:
        assert not result.valid
    assert result.valid or result.errors


# -- speed ----------------------------------------------------------------------------------


def test_ordinary_validation_takes_about_a_millisecond(chain: Chain) -> None:
    store = TrustStore.from_certificates([chain.root.cert])
    inters = [chain.intermediate.cert]
    timings = []
    for _ in range(30):
        started = time.perf_counter()
        validate_path(chain.leaf.cert, trust=store, intermediates=inters, at=NOW, policy=SOFT)
        timings.append(time.perf_counter() - started)
    # Two ECDSA P-256 verifications dominate; generous bound for loaded CI machines.
    assert sorted(timings)[len(timings) // 2] < 0.01


# -- the independent judge -------------------------------------------------------------------


def _openssl_verify(tmp_path: Path, leaf: Node, root: Node, *inters: Node) -> bool:
    (tmp_path / "root.pem").write_bytes(root.cert.to_pem())
    (tmp_path / "chain.pem").write_bytes(b"".join(n.cert.to_pem() for n in inters))
    (tmp_path / "leaf.pem").write_bytes(leaf.cert.to_pem())
    args = [require_program("openssl"), "verify", "-CAfile", "root.pem", "-purpose", "any"]
    if inters:
        args += ["-untrusted", "chain.pem"]
    args += ["-attime", str(int(NOW.timestamp())), "leaf.pem"]
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    return done.returncode == 0


def test_openssl_agrees_on_a_valid_chain(chain: Chain, tmp_path: Path) -> None:
    assert _openssl_verify(tmp_path, chain.leaf, chain.root, chain.intermediate)
    assert check(chain.leaf, chain.root, chain.intermediate).valid


def test_openssl_agrees_on_a_dns_name_constraint_violation(chain: Chain, tmp_path: Path) -> None:
    nc = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("hue.gov.vn")], excluded_subtrees=None
    )
    inter = issue("CN=Judge CA", chain.root, extensions=[(nc, True)])
    leaf = issue(
        "CN=Leaf",
        inter,
        ca=False,
        extensions=[(x509.SubjectAlternativeName([x509.DNSName("evil.example")]), False)],
    )
    assert not _openssl_verify(tmp_path, leaf, chain.root, inter)
    assert not check(leaf, chain.root, inter).valid


def test_openssl_agrees_on_a_path_length_violation(chain: Chain, tmp_path: Path) -> None:
    sub = issue("CN=Judge Sub CA", chain.intermediate)
    leaf = issue("CN=Leaf", sub, ca=False)
    assert not _openssl_verify(tmp_path, leaf, chain.root, chain.intermediate, sub)
    assert not check(leaf, chain.root, chain.intermediate, sub).valid
