"""The development CA's output, judged by openssl (see docs/judges.md).

Chains must pass ``openssl verify``, CRLs ``openssl crl``, OCSP responses ``openssl ocsp``
and timestamps ``openssl ts -verify``.  Without openssl these tests skip, unless
``HUESIGN_REQUIRE_JUDGES=1`` (as in CI), where they fail.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from huesign.pki import (
    DEVELOPMENT_TSA_POLICY,
    Certificate,
    CertificateProfile,
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    IssuedCertificate,
    KeyAlgorithm,
    RevocationReason,
)
from judges import Run


def _identity(name: str, cccd: str, **extra: str) -> CitizenIdentity:
    return CitizenIdentity(
        common_name=name, identifiers=(Identifier.cccd(cccd),), country="VN", **extra
    )


class PKI:
    """A development CA written out as the files openssl reads."""

    def __init__(self, ca: DevelopmentCA, directory: Path) -> None:
        self.ca = ca
        self.dir = directory
        self.write("root.pem", ca.root.to_pem())
        self.write("int.pem", ca.intermediate.to_pem())
        self.write("tsa.pem", ca.tsa_certificate.to_pem())
        self.write("ocsp.pem", ca.ocsp_responder_certificate.to_pem())

    def write(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        return path

    def cert(self, name: str, cert: Certificate) -> Path:
        return self.write(name, cert.to_pem())


@pytest.fixture(scope="module", params=[KeyAlgorithm.EC_P256, KeyAlgorithm.RSA_2048], ids=str)
def pki(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PKI:
    algorithm: KeyAlgorithm = request.param
    ca = DevelopmentCA.create(name="Sở Thông tin Huế", key_algorithm=algorithm)
    return PKI(ca, tmp_path_factory.mktemp(algorithm.value))


@pytest.fixture(scope="module")
def good(pki: PKI) -> IssuedCertificate:
    return pki.ca.issue(
        _identity("Phạm Thị Thu Hà", "046190004321"), key_algorithm=KeyAlgorithm.EC_P256
    )


@pytest.fixture(scope="module")
def revoked(pki: PKI) -> IssuedCertificate:
    issued = pki.ca.issue(
        _identity("Hồ Văn Lộc", "046088000777"), key_algorithm=KeyAlgorithm.EC_P256
    )
    pki.ca.revoke(issued.certificate, reason=RevocationReason.KEY_COMPROMISE)
    return issued


# --- certificates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "purpose"),
    [
        (CertificateProfile.CITIZEN, "any"),
        (CertificateProfile.OFFICER, "any"),
        (CertificateProfile.SEAL, "any"),
    ],
)
def test_issued_chain_verifies_with_openssl(
    openssl: Run, pki: PKI, profile: CertificateProfile, purpose: str
) -> None:
    issued = pki.ca.issue(
        _identity("Võ Thị Sáu", "046185000111", organization="UBND phường Phú Xuân"),
        profile=profile,
        key_algorithm=KeyAlgorithm.EC_P256,
    )
    leaf = pki.cert(f"{profile.value}.pem", issued.certificate)
    result = openssl(
        "verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "-purpose", purpose, leaf,
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": OK")


@pytest.mark.parametrize(
    ("name", "purpose"), [("tsa.pem", "timestampsign"), ("ocsp.pem", "ocsphelper")]
)
def test_service_certificates_verify_for_their_purpose(
    openssl: Run, pki: PKI, name: str, purpose: str
) -> None:
    result = openssl(
        "verify", "-CAfile", "root.pem", "-untrusted", "int.pem", "-purpose", purpose, name,
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_openssl_reads_the_vietnamese_subject(
    openssl: Run, pki: PKI, good: IssuedCertificate
) -> None:
    leaf = pki.cert("good.pem", good.certificate)
    result = openssl("x509", "-in", leaf, "-noout", "-subject", "-nameopt", "utf8", cwd=pki.dir)
    assert "Phạm Thị Thu Hà" in result.stdout
    assert "UID=CCCD:046190004321" in result.stdout


# --- CRLs ----------------------------------------------------------------------------------


def _crls(pki: PKI) -> Path:
    pem = b""
    for issuer in ("issuing", "root"):
        der = pki.write(f"{issuer}.crl", pki.ca.crl(issuer))  # type: ignore[arg-type]
        pem += subprocess.run(
            ["openssl", "crl", "-inform", "DER", "-in", der],
            capture_output=True,
            check=True,
        ).stdout
    return pki.write("crls.pem", pem)


def test_crl_parses_and_verifies_with_openssl(
    openssl: Run, pki: PKI, revoked: IssuedCertificate
) -> None:
    _crls(pki)
    result = openssl(
        "crl", "-inform", "DER", "-in", "issuing.crl", "-CAfile", "int.pem", "-noout", "-text",
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "verify OK" in result.stderr
    assert f"{revoked.certificate.serial_number:X}" in result.stdout.replace(":", "")
    assert "Key Compromise" in result.stdout
    assert "Next Update" in result.stdout


def test_openssl_rejects_a_revoked_certificate_with_the_crl(
    openssl: Run, pki: PKI, revoked: IssuedCertificate
) -> None:
    crls = _crls(pki)
    leaf = pki.cert("revoked.pem", revoked.certificate)
    result = openssl(
        "verify", "-crl_check_all", "-CRLfile", crls, "-CAfile", "root.pem",
        "-untrusted", "int.pem", "-purpose", "any", leaf,
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode != 0
    assert "certificate revoked" in result.stdout + result.stderr


def test_openssl_accepts_a_good_certificate_with_the_crls(
    openssl: Run, pki: PKI, good: IssuedCertificate, revoked: IssuedCertificate
) -> None:
    crls = _crls(pki)
    leaf = pki.cert("good.pem", good.certificate)
    result = openssl(
        "verify", "-crl_check_all", "-CRLfile", crls, "-CAfile", "root.pem",
        "-untrusted", "int.pem", "-purpose", "any", leaf,
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


# --- OCSP ------------------------------------------------------------------------------------


def _ocsp(openssl: Run, pki: PKI, target: list[str], issuer: str, *verify: str) -> str:
    """Ask with an openssl-made request (with nonce), verify the answer with openssl.

    The verifying call must not name the certificate again: openssl would then build a new
    request with a fresh nonce and report a nonce mismatch.
    """
    made = openssl("ocsp", "-issuer", issuer, *target, "-reqout", "req.der", cwd=pki.dir)
    assert made.returncode == 0, made.stderr
    pki.write("resp.der", pki.ca.ocsp_response((pki.dir / "req.der").read_bytes()))
    result = openssl(
        "ocsp", "-reqin", "req.der", "-respin", "resp.der", "-issuer", issuer,
        "-CAfile", "root.pem", *verify, "-resp_text",
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Response verify OK" in result.stderr
    assert "Nonce" not in result.stderr  # no "Nonce Verify error", no "no nonce" warning
    assert "OCSP Nonce" in result.stdout
    return result.stdout


def _cert(pki: PKI, cert: Certificate) -> list[str]:
    return ["-cert", str(pki.cert("asked.pem", cert))]


def test_ocsp_good_verifies_with_the_responder_as_va_file(
    openssl: Run, pki: PKI, good: IssuedCertificate
) -> None:
    out = _ocsp(openssl, pki, _cert(pki, good.certificate), "int.pem", "-VAfile", "ocsp.pem")
    assert "Cert Status: good" in out


def test_ocsp_good_verifies_through_the_chain_with_verify_other(
    openssl: Run, pki: PKI, good: IssuedCertificate
) -> None:
    out = _ocsp(openssl, pki, _cert(pki, good.certificate), "int.pem", "-verify_other", "int.pem")
    assert "Cert Status: good" in out
    assert f"Serial Number: {_openssl_hex(good.certificate.serial_number)}" in out


def _openssl_hex(value: int) -> str:
    # openssl prints an INTEGER's bytes: an odd number of hex digits gets a leading 0.
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big").hex().upper()


def test_openssl_hex_matches_openssl_for_odd_length_serials(openssl: Run, tmp_path: Path) -> None:
    serial = 0x97D6B0A3357BAA8610B117EAB24DCE67FB0FA51  # 39 hex digits
    result = openssl("asn1parse", "-genstr", f"INTEGER:0x{serial:X}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _openssl_hex(serial) == "0" + f"{serial:X}"
    assert f":{_openssl_hex(serial)}" in result.stdout


def test_ocsp_revoked_verifies_and_states_the_reason(
    openssl: Run, pki: PKI, revoked: IssuedCertificate
) -> None:
    target = _cert(pki, revoked.certificate)
    out = _ocsp(openssl, pki, target, "int.pem", "-verify_other", "int.pem")
    assert "Cert Status: revoked" in out
    assert "Revocation Reason: keyCompromise" in out


def test_ocsp_for_the_intermediate_is_answered_by_the_root(openssl: Run, pki: PKI) -> None:
    out = _ocsp(openssl, pki, _cert(pki, pki.ca.intermediate), "root.pem")
    assert "Cert Status: good" in out


def test_ocsp_unknown_serial_verifies_as_unknown(openssl: Run, pki: PKI) -> None:
    never_issued = 0x1234_5678_9ABC_DEF0_1234
    target = ["-serial", str(never_issued)]
    out = _ocsp(openssl, pki, target, "int.pem", "-verify_other", "int.pem")
    assert "Cert Status: unknown" in out


def test_ocsp_garbage_gets_malformed_request(openssl: Run, pki: PKI) -> None:
    pki.write("bad.der", pki.ca.ocsp_response(b"not an OCSP request"))
    result = openssl("ocsp", "-respin", "bad.der", "-resp_text", "-noverify", cwd=pki.dir)
    assert "malformedrequest" in (result.stdout + result.stderr).lower()


# --- RFC 3161 --------------------------------------------------------------------------------

DATA = "Tờ khai đăng ký khai sinh — phường Phú Xuân, Huế".encode()


def test_timestamp_token_verifies_with_openssl(openssl: Run, pki: PKI) -> None:
    data = pki.write("data.bin", DATA)
    pki.write("token.der", pki.ca.timestamp(hashlib.sha256(DATA).digest(), nonce=12345))
    result = openssl(
        "ts", "-verify", "-token_in", "-in", "token.der", "-data", data,
        "-CAfile", "root.pem", "-untrusted", "int.pem",
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout


def test_openssl_query_is_granted_and_verifies_against_the_query(openssl: Run, pki: PKI) -> None:
    data = pki.write("data.bin", DATA)
    made = openssl("ts", "-query", "-data", data, "-sha256", "-cert", "-out", "q.tsq", cwd=pki.dir)
    assert made.returncode == 0, made.stderr
    pki.write("r.tsr", pki.ca.timestamp_response((pki.dir / "q.tsq").read_bytes()))
    result = openssl(
        "ts", "-verify", "-queryfile", "q.tsq", "-in", "r.tsr",
        "-CAfile", "root.pem", "-untrusted", "int.pem",
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Verification: OK" in result.stdout


def test_openssl_reads_policy_accuracy_and_nonce(openssl: Run, pki: PKI) -> None:
    data = pki.write("data.bin", DATA)
    openssl("ts", "-query", "-data", data, "-sha256", "-out", "q.tsq", cwd=pki.dir)
    pki.write("r.tsr", pki.ca.timestamp_response((pki.dir / "q.tsq").read_bytes()))
    text = openssl("ts", "-reply", "-in", "r.tsr", "-text", cwd=pki.dir).stdout
    query = openssl("ts", "-query", "-in", "q.tsq", "-text", cwd=pki.dir).stdout
    assert "Status: Granted." in text
    assert f"Policy OID: {DEVELOPMENT_TSA_POLICY}" in text
    assert "Accuracy: 0x01 seconds" in text
    nonce = next(line for line in query.splitlines() if line.startswith("Nonce:"))
    assert nonce in text


def test_openssl_reads_a_rejection(openssl: Run, pki: PKI) -> None:
    pki.write("rej.tsr", pki.ca.timestamp_response(b"\x30\x03\x02\x01\x07"))
    result = openssl("ts", "-reply", "-in", "rej.tsr", "-text", cwd=pki.dir)
    assert result.returncode == 0, result.stderr
    assert "Status: Rejected." in result.stdout
    assert "transaction not permitted or supported" in result.stdout  # openssl's badRequest


def test_pkcs12_export_opens_in_openssl(openssl: Run, pki: PKI, good: IssuedCertificate) -> None:
    pki.write("id.p12", good.to_pkcs12(password="1234"))
    result = openssl(
        "pkcs12", "-in", "id.p12", "-passin", "pass:1234", "-nodes", "-out", "all.pem",
        cwd=pki.dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    all_pem = (pki.dir / "all.pem").read_text()
    assert all_pem.count("BEGIN CERTIFICATE") == 3
    assert "PRIVATE KEY" in all_pem
