"""The CSC API client (v1.0.4.0 and v2) against the sandbox provider on loopback."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from huesign.client import CSCAuthMode, CSCClient, CSCVersion
from huesign.client.csc import csc_error, signature_algorithm_from_oids
from huesign.errors import (
    AuthenticationError,
    AuthorizationDeniedError,
    AuthorizationExpiredError,
    ConfirmationTimeoutError,
    RemoteSigningError,
    ServerError,
    UserRejectedError,
)
from huesign.pki import (
    CitizenIdentity,
    DevelopmentCA,
    HashAlgorithm,
    Identifier,
    IssuedCertificate,
    SignatureAlgorithm,
)
from huesign.sandbox import (
    BEHAVIOUR_HEADER,
    RunningSigningSandbox,
    SandboxCredential,
    create_signing_app,
    serve_signing_sandbox,
)

ECDSA = SignatureAlgorithm.ECDSA_SHA256


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


@pytest.fixture(scope="module")
def holder(huesign_pki: DevelopmentCA) -> IssuedCertificate:
    identity = CitizenIdentity(
        common_name="Phan Thị Thu Hà", identifiers=(Identifier.cccd("046195004321"),)
    )
    return huesign_pki.issue(identity)


@pytest.fixture(scope="module")
def provider(
    huesign_pki: DevelopmentCA, holder: IssuedCertificate
) -> Iterator[RunningSigningSandbox]:
    credentials = [
        SandboxCredential.for_citizen(holder, multisign=5),
        SandboxCredential.for_citizen(holder, credential_id="scal1", scal=1),
        SandboxCredential.for_citizen(holder, credential_id="otp", otp=True),
        SandboxCredential.for_citizen(holder, credential_id="implicit", auth_mode="implicit"),
    ]
    app = create_signing_app(huesign_pki, citizens=credentials)
    with serve_signing_sandbox(app) as running:
        yield running


def _client(
    provider: RunningSigningSandbox,
    version: CSCVersion = CSCVersion.V1,
    behaviour: str | None = None,
    **options: float,
) -> CSCClient:
    headers = {BEHAVIOUR_HEADER: behaviour} if behaviour else None
    client = CSCClient(provider.base_url, version=version, headers=headers, **options)  # type: ignore[arg-type]
    client.login("046195004321", "password")
    return client


CRED = "cred-046195004321"


# --- pure protocol logic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "description", "expected"),
    [
        ("invalid_pin", "The PIN is invalid", AuthorizationDeniedError),
        ("invalid_otp", "The OTP is invalid", AuthorizationDeniedError),
        ("invalid_request", "SAD expired", AuthorizationExpiredError),
        ("expired_token", "", AuthorizationExpiredError),
        ("access_denied", "The user refused", UserRejectedError),
        ("invalid_request", "Invalid parameter hash", RemoteSigningError),
    ],
)
def test_csc_error_bodies_map_to_typed_errors(
    code: str, description: str, expected: type[Exception]
) -> None:
    error = csc_error(400, {"error": code, "error_description": description})
    assert type(error) is expected
    assert isinstance(error, RemoteSigningError)
    assert error.provider_code == code


def test_a_401_without_a_body_is_an_authentication_error() -> None:
    assert isinstance(csc_error(401, {}), AuthenticationError)


@pytest.mark.parametrize(
    ("sign_algo", "hash_algo", "expected"),
    [
        ("1.2.840.10045.4.3.2", None, SignatureAlgorithm.ECDSA_SHA256),
        ("1.2.840.10045.2.1", HashAlgorithm.SHA384.oid, SignatureAlgorithm.ECDSA_SHA384),
        ("1.2.840.113549.1.1.11", None, SignatureAlgorithm.RSA_PKCS1V15_SHA256),
        ("1.2.840.113549.1.1.1", HashAlgorithm.SHA512.oid, SignatureAlgorithm.RSA_PKCS1V15_SHA512),
        ("1.2.840.113549.1.1.10", HashAlgorithm.SHA256.oid, SignatureAlgorithm.RSA_PSS_SHA256),
    ],
)
def test_sign_algo_oids_name_huesign_algorithms(
    sign_algo: str, hash_algo: str | None, expected: SignatureAlgorithm
) -> None:
    assert signature_algorithm_from_oids(sign_algo, hash_algo) is expected


def test_a_key_only_sign_algo_without_hash_algo_is_refused() -> None:
    with pytest.raises(ValueError, match="hashAlgo"):
        signature_algorithm_from_oids("1.2.840.10045.2.1")


# --- against the sandbox -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "specs"), [(CSCVersion.V1, "1.0.4.0"), (CSCVersion.V2, "2.0.0.2")]
)
def test_info_names_the_spec_version(
    provider: RunningSigningSandbox, version: CSCVersion, specs: str
) -> None:
    with CSCClient(provider.base_url, version=version) as client:
        assert client.info().specs == specs


def test_login_with_a_wrong_password_is_an_authentication_error(
    provider: RunningSigningSandbox,
) -> None:
    with CSCClient(provider.base_url) as client, pytest.raises(AuthenticationError):
        client.login("046195004321", "wrong")


def test_oauth2_client_credentials_list_a_users_credentials(
    provider: RunningSigningSandbox,
) -> None:
    with CSCClient(provider.base_url) as client:
        client.oauth2_token("huesign-app", "sandbox-client-secret")
        ids = client.list_credentials(user_id="046195004321")
    assert set(ids) == {CRED, "scal1", "otp", "implicit"}


def test_calls_without_a_token_are_refused(provider: RunningSigningSandbox) -> None:
    with CSCClient(provider.base_url) as client, pytest.raises(AuthenticationError):
        client.list_credentials(user_id="046195004321")


@pytest.mark.parametrize("version", list(CSCVersion))
def test_credential_info_gives_certificate_chain_scal_and_multisign(
    provider: RunningSigningSandbox, holder: IssuedCertificate, version: CSCVersion
) -> None:
    with _client(provider, version) as client:
        credential = client.credential(CRED)
    assert credential.certificate == holder.certificate
    assert credential.chain == holder.chain
    assert (credential.scal, credential.multisign) == (2, 5)
    assert credential.auth_mode is CSCAuthMode.EXPLICIT
    assert credential.pin is not None
    assert ECDSA in credential.algorithms


@pytest.mark.parametrize("version", list(CSCVersion))
def test_credential_info_describes_an_online_otp(
    provider: RunningSigningSandbox, version: CSCVersion
) -> None:
    with _client(provider, version) as client:
        otp = client.credential("otp").otp
    assert otp is not None
    assert otp.type == "online"


@pytest.mark.parametrize("version", list(CSCVersion))
def test_scal2_authorize_and_sign_hash_give_verifying_signatures(
    provider: RunningSigningSandbox, holder: IssuedCertificate, version: CSCVersion
) -> None:
    hashes = [_digest("tờ khai 1"), _digest("tờ khai 2")]
    with _client(provider, version) as client:
        sad = client.authorize(CRED, hashes=hashes, pin="123456")
        signatures = client.sign_hash(CRED, sad, hashes, algorithm=ECDSA)
    key = holder.certificate.public_key
    assert all(key.verify(s, h, prehashed=True) for s, h in zip(signatures, hashes, strict=True))


def test_the_sad_repr_hides_its_value(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client:
        sad = client.authorize(CRED, hashes=[_digest("x")], pin="123456")
    assert sad.sad not in repr(sad)


def test_a_wrong_pin_is_refused_as_invalid_pin(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client, pytest.raises(AuthorizationDeniedError) as caught:
        client.authorize(CRED, hashes=[_digest("x")], pin="000000")
    assert caught.value.provider_code == "invalid_pin"
    assert "000000" not in str(caught.value)


def test_an_expired_sad_is_an_authorization_expired_error(provider: RunningSigningSandbox) -> None:
    hashes = [_digest("late")]
    with _client(provider, behaviour="sad-ttl=0") as client:
        sad = client.authorize(CRED, hashes=hashes, pin="123456")
        with pytest.raises(AuthorizationExpiredError):
            client.sign_hash(CRED, sad, hashes, algorithm=ECDSA)


def test_a_hash_not_bound_to_the_sad_is_refused(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client:
        sad = client.authorize(CRED, hashes=[_digest("approved")], pin="123456")
        with pytest.raises(RemoteSigningError, match="not bound") as caught:
            client.sign_hash(CRED, sad, [_digest("swapped")], algorithm=ECDSA)
    assert caught.value.provider_code == "invalid_request"


def test_more_hashes_than_multisign_are_refused(provider: RunningSigningSandbox) -> None:
    hashes = [_digest(str(i)) for i in range(6)]
    with _client(provider) as client:
        sad = client.authorize(CRED, hashes=hashes, pin="123456")
        with pytest.raises(RemoteSigningError, match="Too many"):
            client.sign_hash(CRED, sad, hashes, algorithm=ECDSA)


def test_a_scal1_sad_covers_num_signatures_of_any_hashes(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client:
        sad = client.authorize("scal1", num_signatures=3, pin="123456")
        client.sign_hash("scal1", sad, [_digest("a"), _digest("b")], algorithm=ECDSA)
        client.sign_hash("scal1", sad, [_digest("c")], algorithm=ECDSA)
        with pytest.raises(RemoteSigningError):
            client.sign_hash("scal1", sad, [_digest("d")], algorithm=ECDSA)


def test_an_implicit_credential_needs_no_pin(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client:
        sad = client.authorize("implicit", hashes=[_digest("i")])
        assert len(client.sign_hash("implicit", sad, [_digest("i")], algorithm=ECDSA)) == 1


def test_send_otp_then_the_otp_authorizes(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client:
        client.send_otp("otp")
        otp = provider.state.otp("otp")
        assert otp is not None
        sad = client.authorize("otp", hashes=[_digest("o")], pin="123456", otp=otp)
        assert len(client.sign_hash("otp", sad, [_digest("o")], algorithm=ECDSA)) == 1


def test_a_wrong_otp_is_refused_as_invalid_otp(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client:
        client.send_otp("otp")
        with pytest.raises(AuthorizationDeniedError) as caught:
            client.authorize("otp", hashes=[_digest("o")], pin="123456", otp="not-it")
    assert caught.value.provider_code == "invalid_otp"


def test_extend_transaction_gives_a_new_usable_sad(provider: RunningSigningSandbox) -> None:
    hashes = [_digest("extend")]
    with _client(provider) as client:
        sad = client.authorize(CRED, hashes=hashes, pin="123456")
        renewed = client.extend_transaction(CRED, sad)
        assert renewed.sad != sad.sad
        assert len(client.sign_hash(CRED, renewed, hashes, algorithm=ECDSA)) == 1


def test_the_user_rejecting_in_the_app_is_user_rejected(provider: RunningSigningSandbox) -> None:
    with _client(provider, behaviour="reject") as client, pytest.raises(UserRejectedError):
        client.authorize(CRED, hashes=[_digest("no")], pin="123456")


def test_v2_asynchronous_signing_polls_until_the_signatures_are_ready(
    provider: RunningSigningSandbox, holder: IssuedCertificate
) -> None:
    hashes = [_digest("async")]
    with _client(provider, CSCVersion.V2, behaviour="delay=0.2") as client:
        sad = client.authorize(CRED, hashes=hashes, pin="123456")
        signatures = client.sign_hash(
            CRED, sad, hashes, algorithm=ECDSA, asynchronous=True, poll_interval=0.05
        )
    assert holder.certificate.public_key.verify(signatures[0], hashes[0], prehashed=True)


def test_v2_asynchronous_signing_gives_up_when_the_user_never_answers(
    provider: RunningSigningSandbox,
) -> None:
    hashes = [_digest("never")]
    with _client(provider, CSCVersion.V2) as client:
        sad = client.authorize(CRED, hashes=hashes, pin="123456")
    with (
        _client(provider, CSCVersion.V2, behaviour="never") as client,
        pytest.raises(ConfirmationTimeoutError),
    ):
        client.sign_hash(
            CRED, sad, hashes, algorithm=ECDSA, asynchronous=True, poll_interval=0.01, max_polls=3
        )


def test_asynchronous_operation_needs_v2(provider: RunningSigningSandbox) -> None:
    with _client(provider) as client:
        sad = client.authorize(CRED, hashes=[_digest("v1")], pin="123456")
        with pytest.raises(ValueError, match="v2"):
            client.sign_hash(CRED, sad, [_digest("v1")], algorithm=ECDSA, asynchronous=True)


def test_a_scal1_user_rejecting_at_sign_hash_is_user_rejected(
    provider: RunningSigningSandbox,
) -> None:
    with _client(provider) as client:
        sad = client.authorize("scal1", num_signatures=1, pin="123456")
    with _client(provider, behaviour="reject") as client, pytest.raises(UserRejectedError):
        client.sign_hash("scal1", sad, [_digest("no")], algorithm=ECDSA)


def _mock(status: int, content: bytes) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, content=content))


def test_a_server_failure_stays_a_server_error() -> None:
    transport = _mock(500, b'{"error": "server_error"}')
    with CSCClient("http://csc.test", transport=transport) as client, pytest.raises(ServerError):
        client.info()


def test_an_answer_that_is_not_json_is_a_remote_signing_error() -> None:
    with (
        CSCClient("http://csc.test", transport=_mock(200, b"<html>")) as client,
        pytest.raises(RemoteSigningError, match="not JSON"),
    ):
        client.info()


def test_a_signature_count_that_differs_from_the_hashes_is_refused() -> None:
    transport = _mock(200, b'{"SAD": "s", "signatures": ["AAAA", "AAAA"]}')
    with CSCClient("http://csc.test", transport=transport, token="t") as client:
        sad = client.authorize("c", hashes=[_digest("one")], pin="1")
        with pytest.raises(RemoteSigningError, match="2 signatures for 1"):
            client.sign_hash("c", sad, [_digest("one")], algorithm=ECDSA)
