"""Property: any valid generated submission renders, signs and opens back to an equal one."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huesign.forms import builtin_catalogue
from huesign.forms.dossier import open_dossier, sign_dossier
from huesign.pki import (
    DevelopmentCA,
    IssuedCertificate,
    KeySigner,
    RevocationData,
    RevocationSource,
    TrustStore,
)
from huesign.testing.forms_strategies import procedures, submissions

TODAY = dt.date(2026, 3, 1)
ANY_PROCEDURE = procedures(max_fields=5) | st.sampled_from(list(builtin_catalogue()))


@pytest.fixture(scope="module")
def setup(
    citizen: IssuedCertificate, huesign_pki: DevelopmentCA
) -> tuple[KeySigner, TrustStore, RevocationSource]:
    signer = KeySigner(key=citizen.key, certificate=citizen.certificate, chain=citizen.chain)
    trust = TrustStore.from_certificates([huesign_pki.root])
    crls = RevocationData(crls=[huesign_pki.crl(), huesign_pki.crl("root")])
    return signer, trust, RevocationSource(crls)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_any_valid_submission_signs_and_opens_back_equal(
    setup: tuple[KeySigner, TrustStore, RevocationSource], data: st.DataObject
) -> None:
    signer, trust, revocation = setup
    procedure = data.draw(ANY_PROCEDURE)
    submission = data.draw(submissions(procedure, today=TODAY))
    dossier = sign_dossier(submission, procedure, signer, today=TODAY)
    opened = open_dossier(
        dossier.pdf, trust=trust, revocation=revocation, procedure=procedure, today=TODAY
    )
    assert opened.reasons == ()
    assert opened.submission == submission.validate(procedure, today=TODAY)
    assert opened.sha256 == dossier.sha256
