"""Every huesign Hypothesis strategy, gathered in one module.

- identities and keys: Vietnamese names, CCCD, CMND, passport and tax (MST) numbers, typed
  identifiers, certificate identities and pooled private keys;
- PKI (defined in :mod:`huesign.testing.pki_strategies`): certificates, chains, labelled
  broken certificates, CMS signatures valid and tampered;
- documents (:mod:`huesign.testing.document_strategies`): PDFs, PAdES-signed PDFs and PDFs
  tampered after signing;
- forms (:mod:`huesign.testing.forms_strategies`): procedures, valid and invalid
  submissions, addresses and phone numbers.

Every strategy takes keyword-only options, checks them when it is called (raising
:class:`hypothesis.errors.InvalidArgument`), and does no work until Hypothesis draws from it.

>>> from hypothesis import given
>>> @given(cccd_numbers(province=46))
... def test_hue_numbers(number):
...     assert number.startswith("046")
>>> test_hue_numbers()
"""

from __future__ import annotations

from huesign.testing._identity_strategies import (
    PROVINCE_CODES,
    Gender,
    TaxCodeKind,
    cccd_numbers,
    citizen_identities,
    cmnd_numbers,
    identifiers,
    passport_numbers,
    private_keys,
    tax_codes,
    vietnamese_names,
)
from huesign.testing.document_strategies import (
    PDFAttack,
    SignedPDF,
    TamperedPDF,
    pdf_documents,
    signed_pdfs,
    tampered_pdfs,
)
from huesign.testing.forms_strategies import (
    InvalidSubmission,
    addresses,
    invalid_submissions,
    phone_numbers,
    procedures,
    submissions,
)
from huesign.testing.pki_strategies import (
    CertificateChain,
    CertificateDefect,
    CMSAttack,
    LabelledCertificate,
    SignedCMS,
    TamperedCMS,
    broken_certificates,
    certificate_chains,
    certificates,
    signed_cms,
    tampered_cms,
)

__all__ = [
    "PROVINCE_CODES",
    "CMSAttack",
    "CertificateChain",
    "CertificateDefect",
    "Gender",
    "InvalidSubmission",
    "LabelledCertificate",
    "PDFAttack",
    "SignedCMS",
    "SignedPDF",
    "TamperedCMS",
    "TamperedPDF",
    "TaxCodeKind",
    "addresses",
    "broken_certificates",
    "cccd_numbers",
    "certificate_chains",
    "certificates",
    "citizen_identities",
    "cmnd_numbers",
    "identifiers",
    "invalid_submissions",
    "passport_numbers",
    "pdf_documents",
    "phone_numbers",
    "private_keys",
    "procedures",
    "signed_cms",
    "signed_pdfs",
    "submissions",
    "tampered_cms",
    "tampered_pdfs",
    "tax_codes",
    "vietnamese_names",
]
