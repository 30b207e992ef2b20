"""RFC 3161 timestamps: where they come from and whether a token is sound.

A :class:`TimestampSource` turns a digest into a DER ``TimeStampToken``.  The development CA
is one (``DevelopmentCA.timestamp``); :class:`HTTPTimestampClient` and
:class:`AsyncHTTPTimestampClient` ask a TSA over HTTP.  Request building and response
checking are written once, free of I/O, and shared by both clients.

:func:`check_timestamp_token` checks a token's integrity (signature, message imprint, TSA
certificate with a critical timeStamping EKU); certificate path validation of the TSA is the
caller's job (``verify_cms`` does it with the same trust store as the signer's).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import attrs
import httpx
from asn1crypto import cms, tsp

from huesign.errors import RevocationFetchError
from huesign.pki import _cms_asn1 as raw
from huesign.pki._cms_asn1 import Content
from huesign.pki.algorithms import HashAlgorithm
from huesign.pki.certificates import Certificate

__all__ = [
    "MAX_TIMESTAMP_RESPONSE_SIZE",
    "TIME_STAMPING_EKU",
    "AsyncHTTPTimestampClient",
    "AsyncTimestampSource",
    "HTTPTimestampClient",
    "TimestampCheck",
    "TimestampInfo",
    "TimestampSource",
    "check_timestamp_token",
]

#: Largest TSA response accepted.
MAX_TIMESTAMP_RESPONSE_SIZE = 1 << 20
#: The id-kp-timeStamping extended key usage.
TIME_STAMPING_EKU = "1.3.6.1.5.5.7.3.8"
_CONTENT_TYPE = "application/timestamp-query"
_REPLY_TYPE = "application/timestamp-reply"


@runtime_checkable
class TimestampSource(Protocol):
    """Anything that timestamps a digest: a TSA client, or the development CA in process."""

    def timestamp(
        self,
        message_imprint: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        nonce: int | None = None,
    ) -> bytes:
        """Return a DER TimeStampToken over ``message_imprint``."""
        ...


@runtime_checkable
class AsyncTimestampSource(Protocol):
    """The asynchronous twin of :class:`TimestampSource`."""

    async def timestamp(
        self,
        message_imprint: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        nonce: int | None = None,
    ) -> bytes:
        """Return a DER TimeStampToken over ``message_imprint``."""
        ...


# --- protocol logic (no I/O) ---------------------------------------------------------------


def _request(message_imprint: bytes, hash_algorithm: HashAlgorithm, nonce: int) -> bytes:
    if len(message_imprint) != hash_algorithm.digest_size:
        raise ValueError(f"message imprint must be a {hash_algorithm.name} digest")
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {
                "hash_algorithm": {"algorithm": hash_algorithm.value},
                "hashed_message": message_imprint,
            },
            "nonce": nonce,
            "cert_req": True,
        }
    )
    return bytes(request.dump())


def _token_from_response(
    body: bytes, *, url: str, message_imprint: bytes, hash_algorithm: HashAlgorithm, nonce: int
) -> bytes:
    if len(body) > MAX_TIMESTAMP_RESPONSE_SIZE:
        raise RevocationFetchError("the TSA response is too large", url=url)
    try:
        resp = tsp.TimeStampResp.load(body, strict=True)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = resp["status"]["status_string"].native
            detail = f": {'; '.join(text)}" if text else ""
            raise RevocationFetchError(f"the TSA refused the request ({status}){detail}", url=url)
        token = bytes(resp["time_stamp_token"].dump())
    except RevocationFetchError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise RevocationFetchError("the TSA sent an unreadable response", url=url) from exc
    info = _parse_info(token)
    if info is None:
        raise RevocationFetchError("the TSA sent an unreadable timestamp token", url=url)
    if info.imprint != message_imprint or info.hash_algorithm is not hash_algorithm:
        raise RevocationFetchError("the TSA timestamped a different digest", url=url)
    if info.nonce != nonce:
        raise RevocationFetchError("the TSA did not echo the request nonce", url=url)
    return token


def _check_http(response: httpx.Response, url: str) -> None:
    if response.status_code != 200:
        raise RevocationFetchError(f"the TSA answered HTTP {response.status_code}", url=url)
    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype and ctype != _REPLY_TYPE:
        raise RevocationFetchError(f"the TSA answered with content type {ctype!r}", url=url)


def _add_chunk(parts: list[bytes], chunk: bytes, url: str) -> None:
    parts.append(chunk)
    if sum(len(p) for p in parts) > MAX_TIMESTAMP_RESPONSE_SIZE:
        raise RevocationFetchError("the TSA response is too large", url=url)


def _limits(timeout: float) -> httpx.Timeout:
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    return httpx.Timeout(timeout)


class _TSAClient:
    """What the sync and async TSA clients share: the URL, request building, the answer."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("the TSA URL must be http:// or https://")
        self.url = url

    def _query(
        self, message_imprint: bytes, hash_algorithm: HashAlgorithm, nonce: int | None
    ) -> tuple[int, bytes]:
        nonce = secrets.randbits(63) if nonce is None else nonce
        return nonce, _request(message_imprint, hash_algorithm, nonce)

    def _token(
        self, parts: list[bytes], message_imprint: bytes, hash_algorithm: HashAlgorithm, nonce: int
    ) -> bytes:
        return _token_from_response(
            b"".join(parts),
            url=self.url,
            message_imprint=message_imprint,
            hash_algorithm=hash_algorithm,
            nonce=nonce,
        )

    def _unreachable(self, exc: httpx.HTTPError) -> RevocationFetchError:
        return RevocationFetchError(f"cannot reach the TSA: {exc}", url=self.url)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url!r}>"


class HTTPTimestampClient(_TSAClient):
    """An RFC 3161 client over HTTP POST (``application/timestamp-query``).

    Use as a context manager, or pass your own ``client`` (it is then not closed here).
    """

    def __init__(self, url: str, *, timeout: float = 10.0, client: httpx.Client | None = None):
        """Talk to the TSA at ``url`` with a per-request ``timeout`` in seconds."""
        super().__init__(url)
        self._own = client is None
        self._client = client or httpx.Client(timeout=_limits(timeout))

    def timestamp(
        self,
        message_imprint: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        nonce: int | None = None,
    ) -> bytes:
        """Ask the TSA for a token over ``message_imprint``; raise ``RevocationFetchError``."""
        nonce, body = self._query(message_imprint, hash_algorithm, nonce)
        parts: list[bytes] = []
        try:
            with self._client.stream(
                "POST", self.url, content=body, headers={"Content-Type": _CONTENT_TYPE}
            ) as response:
                _check_http(response, self.url)
                for chunk in response.iter_bytes():
                    _add_chunk(parts, chunk, self.url)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return self._token(parts, message_imprint, hash_algorithm, nonce)

    def close(self) -> None:
        """Close the HTTP connection pool (when this client created it)."""
        if self._own:
            self._client.close()

    def __enter__(self) -> HTTPTimestampClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncHTTPTimestampClient(_TSAClient):
    """The asynchronous twin of :class:`HTTPTimestampClient`."""

    def __init__(self, url: str, *, timeout: float = 10.0, client: httpx.AsyncClient | None = None):
        """Talk to the TSA at ``url`` with a per-request ``timeout`` in seconds."""
        super().__init__(url)
        self._own = client is None
        self._client = client or httpx.AsyncClient(timeout=_limits(timeout))

    async def timestamp(
        self,
        message_imprint: bytes,
        *,
        hash_algorithm: HashAlgorithm = HashAlgorithm.SHA256,
        nonce: int | None = None,
    ) -> bytes:
        """Ask the TSA for a token over ``message_imprint``; raise ``RevocationFetchError``."""
        nonce, body = self._query(message_imprint, hash_algorithm, nonce)
        parts: list[bytes] = []
        try:
            async with self._client.stream(
                "POST", self.url, content=body, headers={"Content-Type": _CONTENT_TYPE}
            ) as response:
                _check_http(response, self.url)
                async for chunk in response.aiter_bytes():
                    _add_chunk(parts, chunk, self.url)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        return self._token(parts, message_imprint, hash_algorithm, nonce)

    async def aclose(self) -> None:
        """Close the HTTP connection pool (when this client created it)."""
        if self._own:
            await self._client.aclose()

    async def __aenter__(self) -> AsyncHTTPTimestampClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# --- token inspection ----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TimestampInfo:
    """The content of a timestamp token (TSTInfo), as read, not yet trusted.

    Attributes:
        time: ``genTime``.
        hash_algorithm: digest of the message imprint.
        imprint: the timestamped digest.
        serial_number: the token's serial number.
        policy: the TSA policy OID.
        nonce: the nonce, when present.
        certificates: certificates embedded in the token.
    """

    time: dt.datetime
    hash_algorithm: HashAlgorithm
    imprint: bytes
    serial_number: int
    policy: str
    nonce: int | None = None
    certificates: tuple[Certificate, ...] = ()


def _parse_info(token: bytes) -> TimestampInfo | None:
    try:
        signed = raw.parse_signed_data(token, expect_content_type=raw.ID_TST_INFO)
        tst = tsp.TSTInfo.load(raw.encapsulated_content(signed) or b"", strict=True)
        imprint = tst["message_imprint"]
        gen_time = tst["gen_time"].native
        return TimestampInfo(
            time=gen_time,
            hash_algorithm=HashAlgorithm(imprint["hash_algorithm"]["algorithm"].native),
            imprint=imprint["hashed_message"].native,
            serial_number=tst["serial_number"].native,
            policy=tst["policy"].dotted,
            nonce=tst["nonce"].native,
            certificates=tuple(raw.certificates_of(signed)),
        )
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None


@attrs.frozen(kw_only=True)
class TimestampCheck:
    """The result of :func:`check_timestamp_token`.

    Attributes:
        info: the token content, when it could be read.
        tsa_certificate: the certificate that signed the token, when found.
        problem: a machine code for what failed, ``None`` when the token is sound.
    """

    info: TimestampInfo | None
    tsa_certificate: Certificate | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the token's integrity checks all passed."""
        return self.problem is None


def check_timestamp_token(
    token: bytes,
    *,
    data: Content,
    extra_certificates: Sequence[Certificate] = (),
) -> TimestampCheck:
    """Check a TimeStampToken over ``data`` (for a signature timestamp: the signature value).

    ``data`` may be bytes, a binary file object, a path or an iterable of byte chunks, as for
    :func:`~huesign.pki.verify_cms`; it is hashed in one pass, in chunks.

    Checks the message imprint, the token's signature and signed attributes, and that the
    TSA certificate carries a critical extended key usage that is exactly timeStamping.
    Does not validate the TSA's certificate path.  Never raises for a bad token.
    """
    info = _parse_info(token)
    if info is None:
        return TimestampCheck(info=None, problem="timestamp_unreadable")
    digest, _ = raw.digest_content(data, info.hash_algorithm)
    if digest != info.imprint:
        return TimestampCheck(info=info, problem="timestamp_imprint_mismatch")
    try:
        signed = raw.parse_signed_data(token, expect_content_type=raw.ID_TST_INFO)
        signer_info = signed["signer_infos"][0]
        tst_der = raw.encapsulated_content(signed) or b""
        hash_algorithm = raw.content_hash_algorithm(signer_info)
        content_digest, _ = raw.digest_content(tst_der, hash_algorithm)
        check = raw.check_signer_info(
            signer_info,
            content_digest=content_digest,
            content_type=raw.ID_TST_INFO,
            candidates=(*info.certificates, *extra_certificates),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return TimestampCheck(info=info, problem=f"timestamp_format: {type(exc).__name__}")
    if check.failure is not None:
        return TimestampCheck(
            info=info, tsa_certificate=check.certificate, problem=f"timestamp_{check.failure.value}"
        )
    tsa = check.certificate
    if tsa is None or (not check.has_signing_certificate_v2 and not _has_ess_v1(signer_info)):
        return TimestampCheck(info=info, tsa_certificate=tsa, problem="timestamp_no_ess_cert_id")
    try:
        eku = tsa.extended_key_usage
        critical = "2.5.29.37" in tsa.critical_extension_oids
    except ValueError:
        eku, critical = None, False
    if eku != (TIME_STAMPING_EKU,) or not critical:
        return TimestampCheck(info=info, tsa_certificate=tsa, problem="timestamp_tsa_eku")
    return TimestampCheck(info=info, tsa_certificate=tsa)


def _has_ess_v1(signer_info: cms.SignerInfo) -> bool:
    values = raw.attribute_values(signer_info["signed_attrs"], "1.2.840.113549.1.9.16.2.12")
    return bool(values)
