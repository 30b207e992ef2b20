"""Dossier speed: render + sign a birth registration vs rendering alone vs pyHanko signing.

Run with ``python benchmarks/forms.py [--rounds N]``.  One process, EC P-256 keys from a
development CA, the built-in birth-registration procedure with realistic values.  Each round
times, in alternation:

* render: :func:`huesign.forms.render.render_submission` (validate, lay out, embed the data);
* render + sign: :func:`huesign.forms.dossier.sign_dossier` (the same, then a PAdES B-B
  signature filling the field reserved at render time);
* huesign sign: :func:`huesign.pki.pades.sign_pdf` filling the rendered PDF's reserved field;
* pyHanko: ``pyhanko.sign.signers.PdfSigner`` signing the already rendered PDF's reserved
  field with the same key (B-B, no revocation), for scale;
* open: :func:`huesign.forms.dossier.open_dossier` (verify with offline CRLs, read back,
  re-validate).

The goal is render + sign under 2x render alone.  Prints medians in milliseconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import statistics
import time
from collections.abc import Callable

from asn1crypto import keys as a_keys
from asn1crypto import x509 as a_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers as ph_signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from huesign.forms import Attachment, Submission, builtin_catalogue
from huesign.forms.dossier import open_dossier, sign_dossier
from huesign.forms.render import CITIZEN_SIGNATURE_FIELD, render_submission
from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    Identifier,
    KeyAlgorithm,
    KeySigner,
    RevocationData,
    RevocationSource,
    TrustStore,
)
from huesign.pki.pades import sign_pdf

TODAY = dt.date(2026, 3, 1)
ADDRESS = {"province_code": "46", "ward_code": "46004", "street": "12 Lê Lợi"}
SCAN = b"%PDF-1.4 scan of the hospital's certificate of birth" * 100


def birth_submission() -> Submission:
    """A realistic birth registration with one attachment."""
    procedure = builtin_catalogue()["1.001193"]
    values = {
        "applicant": {
            "full_name": "Nguyễn Văn An",
            "birth_date": "15/04/1990",
            "cccd": "046090000123",
            "phone": "0905 123 456",
            "email": "an.nguyen@example.vn",
            "address": ADDRESS,
        },
        "applicant_relation": "father",
        "child": {
            "full_name": "Nguyễn Ngọc Hân",
            "birth_date": "2026-02-20",
            "sex": "female",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "place_of_birth": "Bệnh viện Trung ương Huế",
            "hometown": "Phường Kim Long, Thành phố Huế",
        },
        "mother": {
            "full_name": "Trần Thị Mai",
            "birth_date": "1992-08-01",
            "cccd": "046192000456",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "residence": ADDRESS,
        },
        "father_known": True,
        "father": {
            "full_name": "Nguyễn Văn An",
            "birth_date": "1990-04-15",
            "cccd": "046090000123",
            "ethnicity": "Kinh",
            "nationality": "Việt Nam",
            "residence": ADDRESS,
        },
        "late_registration": False,
        "birth_certificate": "att-1",
        "commitment": True,
    }
    attachment = Attachment(
        id="att-1",
        document_type="birth_certificate",
        file_name="giay-chung-sinh.pdf",
        media_type="application/pdf",
        size=len(SCAN),
        sha256=hashlib.sha256(SCAN).hexdigest(),
    )
    return Submission.for_procedure(procedure, values, attachments=[attachment])


def timed(fn: Callable[[], object]) -> float:
    """Milliseconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    """Run the comparison and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds

    ca = DevelopmentCA.create(name="Bench", key_algorithm=KeyAlgorithm.EC_P256)
    identity = CitizenIdentity(
        common_name="Nguyễn Văn An", identifiers=(Identifier.cccd("046090000123"),)
    )
    issued = ca.issue(identity)
    signer = KeySigner(key=issued.key, certificate=issued.certificate, chain=issued.chain)
    trust = TrustStore.from_certificates([ca.root])
    revocation = RevocationSource(RevocationData(crls=[ca.crl(), ca.crl("root")]))
    procedure = builtin_catalogue()["1.001193"]
    submission = birth_submission()
    rendered = render_submission(submission, procedure, today=TODAY)

    ph_signer = ph_signers.SimpleSigner(
        signing_cert=a_x509.Certificate.load(issued.certificate.der),
        signing_key=a_keys.PrivateKeyInfo.load(issued.key.to_der()),
        cert_registry=SimpleCertificateStore.from_certs(
            [a_x509.Certificate.load(c.der) for c in issued.chain]
        ),
    )

    def render() -> object:
        return render_submission(submission, procedure, today=TODAY)

    def render_and_sign() -> object:
        return sign_dossier(submission, procedure, signer, attachments={"att-1": SCAN}, today=TODAY)

    def huesign_sign() -> object:
        return sign_pdf(rendered.pdf, signer, field=CITIZEN_SIGNATURE_FIELD)

    def pyhanko_sign() -> object:
        writer = IncrementalPdfFileWriter(io.BytesIO(rendered.pdf))
        meta = ph_signers.PdfSignatureMetadata(field_name=CITIZEN_SIGNATURE_FIELD)
        out = ph_signers.PdfSigner(meta, signer=ph_signer).sign_pdf(writer)
        return out.getvalue()

    dossier = sign_dossier(submission, procedure, signer, attachments={"att-1": SCAN}, today=TODAY)

    def open_back() -> object:
        opened = open_dossier(dossier.pdf, trust=trust, revocation=revocation, today=TODAY)
        assert opened.accepted, opened.reasons
        return opened

    cases = {
        "render": render,
        "render + sign": render_and_sign,
        "huesign sign (rendered PDF)": huesign_sign,
        "pyHanko sign (rendered PDF)": pyhanko_sign,
        "open (verify + read back)": open_back,
    }
    for fn in cases.values():  # warm up caches (font parsing, imports)
        fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            samples[name].append(timed(fn))
    med = {name: statistics.median(values) for name, values in samples.items()}
    print(f"birth registration dossier, {len(rendered.pdf)} bytes rendered, {rounds} rounds")
    for name, value in med.items():
        print(f"  {name:30s} {value:8.1f} ms")
    ratio = med["render + sign"] / med["render"]
    print(f"render + sign / render:            {ratio:5.2f}x (goal < 2x)")
    ours, theirs = med["huesign sign (rendered PDF)"], med["pyHanko sign (rendered PDF)"]
    print(f"pyHanko signing / huesign signing: {theirs / ours:5.1f}x")


if __name__ == "__main__":
    main()
