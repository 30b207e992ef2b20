"""The CSC API protocol, free of I/O: models, request building, answers and errors.

Each operation is a small generator (a *flow*, see :mod:`huesign.client._remote_flow`) that
yields the HTTP calls it needs (and the pauses between polls) and receives the decoded
answers; :mod:`huesign.client.csc` drives the flows synchronously or asynchronously.

Field names follow the specification of each version: v1 sends ``hash``/``hashAlgo`` and
reads ``authMode``/``PIN``/``OTP``; v2 sends ``hashes``/``hashAlgorithmOID`` and reads
``auth.mode``/``auth.objects``.  CSC error bodies (``{"error", "error_description"}``) become
typed errors: ``invalid_pin``/``invalid_otp`` -> :class:`~huesign.errors.AuthorizationDeniedError`,
an expired SAD or token -> :class:`~huesign.errors.AuthorizationExpiredError`, ``access_denied``
-> :class:`~huesign.errors.UserRejectedError`, anything else ->
:class:`~huesign.errors.RemoteSigningError` with the provider's code.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Literal

import attrs
from asn1crypto import algos

from huesign.client._remote_flow import (
    Call,
    Flow,
    Reply,
    Wait,
    as_base64,
    as_int,
    as_list,
    as_mapping,
    as_str,
)
from huesign.errors import (
    AuthenticationError,
    AuthorizationDeniedError,
    AuthorizationExpiredError,
    ConfirmationTimeoutError,
    RemoteSigningError,
    UserRejectedError,
)
from huesign.pki.algorithms import HashAlgorithm, RSAPadding, SignatureAlgorithm
from huesign.pki.certificates import Certificate

__all__ = [
    "CSCAuthMode",
    "CSCCredential",
    "CSCProtocol",
    "CSCServiceInfo",
    "CSCVersion",
    "OTPDescriptor",
    "PINDescriptor",
    "SignatureActivation",
    "csc_error",
    "signature_algorithm_from_oids",
]

_MAX_HASHES = 1000


class CSCVersion(enum.Enum):
    """The CSC API version a service speaks (the path segment under ``/csc/``)."""

    V1 = "v1"
    V2 = "v2"


class CSCAuthMode(enum.Enum):
    """How a credential is authorized: no data, PIN/OTP from the caller, or an OAuth2 code."""

    IMPLICIT = "implicit"
    EXPLICIT = "explicit"
    OAUTH2CODE = "oauth2code"


@attrs.frozen(kw_only=True)
class CSCServiceInfo:
    """The answer of ``info``: who the service is and what it offers.

    Attributes:
        specs: the specification version the service implements.
        name: the service's name.
        region: ISO country code of the service.
        lang: the language of its messages.
        auth_types: accepted service authentication methods (``basic``, ``oauth2client``...).
        methods: the API methods it implements.
    """

    specs: str
    name: str
    region: str = ""
    lang: str = ""
    auth_types: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class PINDescriptor:
    """How a credential wants its PIN: ``presence`` is ``true``, ``false`` or ``optional``;
    ``format`` ``N`` (digits) or ``A`` (characters)."""

    presence: str = "true"
    format: str = "N"
    label: str = ""
    description: str = ""


@attrs.frozen(kw_only=True)
class OTPDescriptor:
    """How a credential wants its one-time password: ``type`` ``online`` (sent on request by
    ``credentials/sendOTP``) or ``offline`` (from a device the user holds)."""

    presence: str = "true"
    type: str = "online"
    format: str = "N"
    label: str = ""
    description: str = ""
    id: str = ""
    provider: str = ""


def _certs(values: Sequence[Certificate]) -> tuple[Certificate, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class CSCCredential:
    """A signing credential as ``credentials/info`` describes it.

    Attributes:
        credential_id: the service's identifier of the credential.
        certificate: the signing certificate (first of the returned certificates).
        chain: the other returned certificates, nearest issuer first.
        key_algorithms: the signature algorithm OIDs the key supports.
        key_status: ``enabled`` or ``disabled``.
        auth_mode: how :meth:`CSCClient.authorize` must be called.
        scal: sole-control assurance level: 2 binds the authorization to the hashes.
        multisign: how many hashes one ``signatures/signHash`` call may carry.
        pin: the PIN descriptor, when the credential asks for one.
        otp: the OTP descriptor, when the credential asks for one.
        description: the service's description of the credential.
    """

    credential_id: str
    certificate: Certificate
    chain: tuple[Certificate, ...] = attrs.field(default=(), converter=_certs)
    key_algorithms: tuple[str, ...] = ()
    key_status: str = "enabled"
    auth_mode: CSCAuthMode = CSCAuthMode.EXPLICIT
    scal: Literal[1, 2] = 1
    multisign: int = 1
    pin: PINDescriptor | None = None
    otp: OTPDescriptor | None = None
    description: str = ""

    @property
    def algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        """The huesign signature algorithms the key supports, in the service's order."""
        family = self.certificate.public_key.description.split("-", 1)[0]
        found: list[SignatureAlgorithm] = []
        for oid in self.key_algorithms:
            for hash_algorithm in HashAlgorithm:
                try:
                    algorithm = signature_algorithm_from_oids(oid, hash_algorithm.oid)
                except ValueError:
                    continue
                if algorithm.key_family == family and algorithm not in found:
                    found.append(algorithm)
        return tuple(found)


@attrs.frozen(kw_only=True, repr=False)
class SignatureActivation:
    """Signature activation data (SAD) from ``credentials/authorize``.

    Attributes:
        sad: the opaque SAD; treated as a secret and never printed.
        expires_at: when the service says it expires.
        num_signatures: how many signatures it allows.
        hashes: the hashes it is bound to (SCAL 2), empty when unbound.
    """

    sad: str
    expires_at: dt.datetime
    num_signatures: int
    hashes: tuple[bytes, ...] = ()

    def __repr__(self) -> str:
        return f"<SignatureActivation for {self.num_signatures} until {self.expires_at:%H:%M:%S}>"


# --- algorithm OIDs --------------------------------------------------------------------------

_RSA = "1.2.840.113549.1.1.1"
_RSA_PSS = "1.2.840.113549.1.1.10"
_EC = "1.2.840.10045.2.1"
_COMBINED = {
    algorithm.oid: algorithm
    for algorithm in SignatureAlgorithm
    if algorithm.prehashed and algorithm.rsa_padding is not RSAPadding.PSS
}


def signature_algorithm_from_oids(
    sign_algo: str, hash_algo: str | None = None
) -> SignatureAlgorithm:
    """The signature scheme named by a CSC ``signAlgo`` OID and ``hashAlgo`` OID.

    ``signAlgo`` may name the whole scheme (``1.2.840.10045.4.3.2``: ECDSA with SHA-256) or
    only the key type (``1.2.840.10045.2.1``, ``1.2.840.113549.1.1.1``, RSASSA-PSS), in which
    case ``hash_algo`` names the digest.  Raises ``ValueError`` for anything else.
    """
    if sign_algo in _COMBINED:
        algorithm = _COMBINED[sign_algo]
        if hash_algo and hash_algo != algorithm.hash_algorithm.oid:
            raise ValueError("signAlgo and hashAlgo name different digests")
        return algorithm
    if not hash_algo:
        raise ValueError(f"signAlgo {sign_algo} needs a hashAlgo")
    digest = HashAlgorithm.from_name(hash_algo)
    if sign_algo == _RSA:
        return SignatureAlgorithm.for_key("rsa", digest)
    if sign_algo == _RSA_PSS:
        return SignatureAlgorithm.for_key("rsa", digest, rsa_padding=RSAPadding.PSS)
    if sign_algo == _EC:
        return SignatureAlgorithm.for_key("ec", digest)
    raise ValueError(f"unsupported signAlgo {sign_algo}")


def _pss_params(hash_algorithm: HashAlgorithm) -> str:
    params = algos.RSASSAPSSParams(
        {
            "hash_algorithm": {"algorithm": hash_algorithm.value},
            "mask_gen_algorithm": {
                "algorithm": "mgf1",
                "parameters": {"algorithm": hash_algorithm.value},
            },
            "salt_length": hash_algorithm.digest_size,
        }
    )
    return base64.b64encode(params.dump()).decode("ascii")


# --- errors ----------------------------------------------------------------------------------

_DENIED = frozenset({"invalid_pin", "invalid_otp", "locked_pin", "access_denied_pin"})
_EXPIRED = frozenset({"expired_token", "expired_sad", "expired"})


def csc_error(status: int, body: Mapping[str, object]) -> RemoteSigningError | AuthenticationError:
    """The huesign error for a CSC error answer (HTTP ``status`` and its JSON ``body``)."""
    code = body.get("error")
    code = code if isinstance(code, str) else f"http_{status}"
    text = body.get("error_description")
    detail = text[:300] if isinstance(text, str) else ""
    message = f"CSC service error {code}" + (f": {detail}" if detail else "")
    lowered = detail.lower()
    if code in _DENIED:
        return AuthorizationDeniedError(message, provider_code=code)
    if code in _EXPIRED or ("expired" in lowered and "sad" in lowered):
        return AuthorizationExpiredError(message, provider_code=code)
    if code == "access_denied":
        return UserRejectedError(message, provider_code=code)
    if code in ("invalid_token", "unauthorized_client", "invalid_client") or status == 401:
        return AuthenticationError(message, status_code=status, problem=dict(body))
    if code in ("timeout", "expired_operation"):
        return ConfirmationTimeoutError(message, provider_code=code)
    return RemoteSigningError(message, provider_code=code)


def _ok(reply: Reply | None) -> Mapping[str, object]:
    if reply is None:  # pragma: no cover - drivers answer every call
        raise RemoteSigningError("no answer")
    if reply.status >= 400:
        raise csc_error(reply.status, reply.body)
    return reply.body


# --- parsing ----------------------------------------------------------------------------------


def _b64(value: object, what: str) -> bytes:
    return as_base64(value, what, sender="the CSC service")


def _parse_info(body: Mapping[str, object]) -> CSCServiceInfo:
    return CSCServiceInfo(
        specs=as_str(body.get("specs", ""), "specs"),
        name=as_str(body.get("name", ""), "name"),
        region=as_str(body.get("region", ""), "region"),
        lang=as_str(body.get("lang", ""), "lang"),
        auth_types=tuple(as_str(v, "authType") for v in as_list(body.get("authType", []))),
        methods=tuple(as_str(v, "methods") for v in as_list(body.get("methods", []))),
    )


def _descriptor_text(obj: Mapping[str, object], key: str) -> str:
    value = obj.get(key, "")
    return value if isinstance(value, str) else ""


def _parse_credential(credential_id: str, body: Mapping[str, object]) -> CSCCredential:
    cert = as_mapping(body.get("cert"), "cert")
    certs = [_b64(v, "certificate") for v in as_list(cert.get("certificates"))]
    if not certs:
        raise RemoteSigningError("the CSC service returned no certificate for the credential")
    try:
        parsed = [Certificate.from_der(der) for der in certs]
    except ValueError as exc:
        raise RemoteSigningError("the CSC service returned an unreadable certificate") from exc
    key = as_mapping(body.get("key"), "key")
    scal = as_int(body.get("SCAL", 1), "SCAL")
    pin: PINDescriptor | None = None
    otp: OTPDescriptor | None = None
    if "auth" in body:  # v2
        auth = as_mapping(body.get("auth"), "auth")
        mode = as_str(auth.get("mode", "explicit"), "auth.mode")
        for raw in as_list(auth.get("objects", [])):
            obj = as_mapping(raw, "auth.objects[]")
            ident = _descriptor_text(obj, "id")
            if ident == "PIN":
                pin = PINDescriptor(
                    format=_descriptor_text(obj, "format") or "N",
                    label=_descriptor_text(obj, "label"),
                    description=_descriptor_text(obj, "description"),
                )
            elif ident == "OTP":
                otp = OTPDescriptor(
                    type=_descriptor_text(obj, "generator") or "online",
                    format=_descriptor_text(obj, "format") or "N",
                    label=_descriptor_text(obj, "label"),
                    description=_descriptor_text(obj, "description"),
                    id=ident,
                )
    else:  # v1
        mode = as_str(body.get("authMode", "explicit"), "authMode")
        if isinstance(body.get("PIN"), Mapping):
            p = as_mapping(body["PIN"], "PIN")
            pin = PINDescriptor(
                presence=_descriptor_text(p, "presence") or "true",
                format=_descriptor_text(p, "format") or "N",
                label=_descriptor_text(p, "label"),
                description=_descriptor_text(p, "description"),
            )
        if isinstance(body.get("OTP"), Mapping):
            o = as_mapping(body["OTP"], "OTP")
            otp = OTPDescriptor(
                presence=_descriptor_text(o, "presence") or "true",
                type=_descriptor_text(o, "type") or "online",
                format=_descriptor_text(o, "format") or "N",
                label=_descriptor_text(o, "label"),
                description=_descriptor_text(o, "description"),
                id=_descriptor_text(o, "ID"),
                provider=_descriptor_text(o, "provider"),
            )
    try:
        auth_mode = CSCAuthMode(mode)
    except ValueError as exc:
        raise RemoteSigningError(f"the CSC service named an unknown authMode {mode!r}") from exc
    if scal not in (1, 2):
        raise RemoteSigningError(f"the CSC service named an unknown SCAL {scal}")
    multisign = as_int(body.get("multisign", 1), "multisign")
    return CSCCredential(
        credential_id=credential_id,
        certificate=parsed[0],
        chain=parsed[1:],
        key_algorithms=tuple(as_str(v, "key.algo") for v in as_list(key.get("algo", []))),
        key_status=as_str(key.get("status", "enabled"), "key.status"),
        auth_mode=auth_mode,
        scal=2 if scal == 2 else 1,
        multisign=max(1, min(multisign, _MAX_HASHES)),
        pin=pin,
        otp=otp,
        description=_descriptor_text(body, "description"),
    )


def _signatures(body: Mapping[str, object], expected: int) -> tuple[bytes, ...]:
    values = as_list(body.get("signatures"))
    if len(values) != expected:
        raise RemoteSigningError(
            f"the CSC service returned {len(values)} signatures for {expected} hashes"
        )
    return tuple(_b64(v, "signature") for v in values)


# --- the client ----------------------------------------------------------------------------------


class CSCProtocol:
    """The CSC operations as flows; shared by the sync and async clients."""

    def __init__(self, version: CSCVersion) -> None:
        self.version = version
        self.token: str | None = None

    def _call(self, method: str, body: Mapping[str, object], *, auth: str | None = None) -> Call:
        headers = {}
        bearer = auth or (f"Bearer {self.token}" if self.token else None)
        if bearer:
            headers["Authorization"] = bearer
        return Call(path=f"csc/{self.version.value}/{method}", json=dict(body), headers=headers)

    def info(self) -> Flow[CSCServiceInfo]:
        reply = yield self._call("info", {"lang": "vi"}, auth="")
        return _parse_info(_ok(reply))

    def login(self, username: str, password: str) -> Flow[None]:
        raw = f"{username}:{password}".encode()
        basic = "Basic " + base64.b64encode(raw).decode("ascii")
        reply = yield self._call("auth/login", {"rememberMe": False}, auth=basic)
        body = _ok(reply)
        self.token = as_str(body.get("access_token"), "access_token")

    def oauth2_token(self, client_id: str, client_secret: str) -> Flow[None]:
        reply = yield Call(
            path="oauth2/token",
            form={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
            },
        )
        body = _ok(reply)
        self.token = as_str(body.get("access_token"), "access_token")

    def list_credentials(self, user_id: str | None) -> Flow[tuple[str, ...]]:
        body: dict[str, object] = {"maxResults": 100}
        if user_id is not None:
            body["userID"] = user_id
        reply = yield self._call("credentials/list", body)
        ids = as_list(_ok(reply).get("credentialIDs"))
        return tuple(as_str(v, "credentialIDs[]") for v in ids)

    def credential(self, credential_id: str) -> Flow[CSCCredential]:
        body: dict[str, object] = {"credentialID": credential_id, "certificates": "chain"}
        body["certInfo" if self.version is CSCVersion.V1 else "authInfo"] = True
        reply = yield self._call("credentials/info", body)
        return _parse_credential(credential_id, _ok(reply))

    def send_otp(self, credential_id: str) -> Flow[None]:
        reply = yield self._call("credentials/sendOTP", {"credentialID": credential_id})
        _ok(reply)

    def authorize(
        self,
        credential_id: str,
        *,
        num_signatures: int,
        hashes: Sequence[bytes],
        hash_algorithm: HashAlgorithm,
        pin: str | None,
        otp: str | None,
        description: str | None,
        now: dt.datetime,
    ) -> Flow[SignatureActivation]:
        if num_signatures < 1 or (hashes and len(hashes) != num_signatures):
            raise ValueError("num_signatures must be positive and match the bound hashes")
        body: dict[str, object] = {"credentialID": credential_id, "numSignatures": num_signatures}
        if hashes:
            encoded = [base64.b64encode(h).decode("ascii") for h in hashes]
            if self.version is CSCVersion.V1:
                body["hash"] = encoded
            else:
                body["hashes"] = encoded
                body["hashAlgorithmOID"] = hash_algorithm.oid
        if pin is not None:
            body["PIN"] = pin
        if otp is not None:
            body["OTP"] = otp
        if description:
            body["description"] = description[:500]
        reply = yield self._call("credentials/authorize", body)
        answer = _ok(reply)
        lifetime = as_int(answer.get("expiresIn", 3600), "expiresIn")
        return SignatureActivation(
            sad=as_str(answer.get("SAD"), "SAD"),
            expires_at=now + dt.timedelta(seconds=max(0, lifetime)),
            num_signatures=num_signatures,
            hashes=tuple(hashes),
        )

    def extend(
        self,
        credential_id: str,
        activation: SignatureActivation,
        *,
        now: dt.datetime,
    ) -> Flow[SignatureActivation]:
        body: dict[str, object] = {"credentialID": credential_id, "SAD": activation.sad}
        if activation.hashes:
            encoded = [base64.b64encode(h).decode("ascii") for h in activation.hashes]
            body["hash" if self.version is CSCVersion.V1 else "hashes"] = encoded
        reply = yield self._call("credentials/extendTransaction", body)
        answer = _ok(reply)
        lifetime = as_int(answer.get("expiresIn", 3600), "expiresIn")
        return attrs.evolve(
            activation,
            sad=as_str(answer.get("SAD"), "SAD"),
            expires_at=now + dt.timedelta(seconds=max(0, lifetime)),
        )

    def sign_hash(
        self,
        credential_id: str,
        activation: SignatureActivation,
        hashes: Sequence[bytes],
        algorithm: SignatureAlgorithm,
        *,
        asynchronous: bool,
        poll_interval: float,
        max_polls: int,
    ) -> Flow[tuple[bytes, ...]]:
        if not hashes or len(hashes) > _MAX_HASHES:
            raise ValueError(f"give between 1 and {_MAX_HASHES} hashes")
        if not algorithm.prehashed:
            raise ValueError(f"{algorithm.value} cannot be made from a hash")
        if asynchronous and self.version is CSCVersion.V1:
            raise ValueError("asynchronous operation needs CSC v2")
        encoded = [base64.b64encode(h).decode("ascii") for h in hashes]
        digest = algorithm.hash_algorithm
        body: dict[str, object] = {
            "credentialID": credential_id,
            "SAD": activation.sad,
            "signAlgo": algorithm.oid,
        }
        if self.version is CSCVersion.V1:
            body.update(hash=encoded, hashAlgo=digest.oid)
        else:
            body.update(hashes=encoded, hashAlgorithmOID=digest.oid)
        if algorithm.rsa_padding is RSAPadding.PSS:
            body["signAlgoParams"] = _pss_params(digest)
        if asynchronous:
            body["operationMode"] = "A"
            body["validity_period"] = max(1, int(poll_interval * max_polls))
        reply = yield self._call("signatures/signHash", body)
        answer = _ok(reply)
        if not asynchronous or "signatures" in answer:
            return _signatures(answer, len(hashes))
        response_id = as_str(answer.get("responseID"), "responseID")
        for _ in range(max_polls):
            yield Wait(seconds=poll_interval)
            reply = yield self._call("signatures/signPolling", {"responseID": response_id})
            answer = _ok(reply)
            if "signatures" in answer:
                return _signatures(answer, len(hashes))
        raise ConfirmationTimeoutError("the CSC service did not finish the signature in time")
