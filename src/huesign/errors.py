"""The huesign exception tree.

Every error that huesign raises on purpose derives from :class:`HuesignError`, so an
application can catch one class at its boundary.  Errors from the libraries huesign builds on
(cryptography, asn1crypto, pyHanko, httpx) are wrapped at the boundary with ``raise ... from``:
a user never has to catch a third-party exception.

Misuse of the API (a wrong argument type, an impossible combination of options) raises the
built-in :class:`TypeError` or :class:`ValueError` instead.  Verification functions never raise
for a bad signature: they return a report that says why.

Messages never contain secrets: no private key material, PIN, password or bearer token.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

if typing.TYPE_CHECKING:
    from huesign.pki.report import ValidationReport

__all__ = [
    "APIError",
    "AuthenticationError",
    "AuthorizationDeniedError",
    "AuthorizationExpiredError",
    "CertificateError",
    "ConfirmationTimeoutError",
    "ConflictError",
    "DossierRefusedError",
    "FieldError",
    "FormError",
    "FormValidationError",
    "HTTPStatusError",
    "HuesignError",
    "KeyLoadError",
    "NotFoundError",
    "PDFFormatError",
    "PKIError",
    "ProcedureError",
    "RateLimitedError",
    "RemoteSigningError",
    "RequestTimeout",
    "RevocationFetchError",
    "ServerError",
    "SignatureValidationError",
    "SigningError",
    "TokenError",
    "TransportError",
    "UserRejectedError",
    "WebhookVerificationError",
]


class HuesignError(Exception):
    """Base class of every error huesign raises on purpose."""


# --- PKI ---------------------------------------------------------------------------------


class PKIError(HuesignError):
    """A key, certificate, signature or trust operation failed."""


class PDFFormatError(PKIError):
    """A PDF file is malformed, hostile or beyond a reading limit (size, depth, count).

    Raised by the PDF reader and writer; a PAdES verifier turns it into a ``FORMAT_FAILURE``.
    """


class CertificateError(PKIError):
    """A certificate, certificate request or bundle could not be parsed or does not fit."""


class KeyLoadError(PKIError):
    """A private key could not be loaded: wrong password, damaged file or unsupported type.

    Named so that it never shadows the built-in :class:`KeyError`.
    """


class SigningError(PKIError):
    """Producing a signature failed."""


class TokenError(SigningError):
    """A PKCS#11 token refused an operation (no token, wrong PIN, PIN locked, ...).

    Attributes:
        remaining_tries: PIN tries left when the token tells, else ``None``.
    """

    def __init__(self, message: str, *, remaining_tries: int | None = None) -> None:
        super().__init__(message)
        self.remaining_tries = remaining_tries


class SignatureValidationError(PKIError):
    """A signature did not pass validation (raised by ``ValidationReport.raise_for_failure``).

    Attributes:
        report: the full validation report, with the indication and every reason.
    """

    def __init__(self, message: str, *, report: ValidationReport) -> None:
        super().__init__(message)
        self.report = report


class RevocationFetchError(PKIError):
    """Revocation data (OCSP response or CRL) or a timestamp could not be fetched.

    Attributes:
        url: the address that was asked.
    """

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


# --- Forms -------------------------------------------------------------------------------


class FormError(HuesignError):
    """A procedure or a submission is not usable."""


class ProcedureError(FormError):
    """A procedure definition is malformed (unknown keys, wrong types, bad references).

    Attributes:
        path: where in the definition the problem is, e.g. ``fields[3].max_length``.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@attrs.frozen
class FieldError:
    """One problem with one value of a submission.

    Attributes:
        path: dotted path of the value, e.g. ``applicant.address.ward_code`` or
            ``members[2].cccd``.
        code: a stable machine code such as ``required`` or ``invalid_checksum``.
        message_vi: the message in Vietnamese.
        message_en: the message in English.
    """

    path: str
    code: str
    message_vi: str
    message_en: str

    def message(self, lang: str = "en") -> str:
        """Return the message in ``lang`` (``"vi"`` or ``"en"``)."""
        return self.message_vi if lang == "vi" else self.message_en


class FormValidationError(FormError):
    """A submission broke one or more rules; :attr:`errors` holds every one of them."""

    def __init__(self, errors: Iterable[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        lines = [f"{e.path}: {e.message_en} [{e.code}]" for e in self.errors]
        count = len(self.errors)
        head = f"{count} field error{'s' if count != 1 else ''}"
        super().__init__(head + ("\n  " + "\n  ".join(lines) if lines else ""))


class DossierRefusedError(FormError):
    """A signed dossier was refused: a signature failed, or its data is not what was signed.

    Attributes:
        reasons: every reason, in English, e.g. that a later revision replaced the data.
    """

    def __init__(self, message: str, *, reasons: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.reasons: tuple[str, ...] = tuple(reasons)


# --- HTTP APIs -----------------------------------------------------------------------------


class APIError(HuesignError):
    """A call to the portal, the wallet or a remote-signing provider failed."""


class TransportError(APIError):
    """The request did not get an HTTP response (connection refused, dropped, TLS failure)."""


class RequestTimeout(TransportError):
    """The request did not complete within its timeout."""


class HTTPStatusError(APIError):
    """The server answered with an error status.

    Attributes:
        status_code: the HTTP status.
        problem: the RFC 9457 problem-details body, when the server sent one.
        request_id: the server's request id header, for support tickets.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        problem: Mapping[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.problem: Mapping[str, Any] = dict(problem or {})
        self.request_id = request_id


class AuthenticationError(HTTPStatusError):
    """401 or 403: the credentials are missing, wrong, expired or not allowed to do this."""


class NotFoundError(HTTPStatusError):
    """404: the resource does not exist or is not visible to the caller."""


class ConflictError(HTTPStatusError):
    """409 or 422: the request conflicts with the resource's state; never retried blindly."""


class RateLimitedError(HTTPStatusError):
    """429: too many requests; :attr:`retry_after` says how long to wait when known."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        problem: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, problem=problem, request_id=request_id)
        self.retry_after = retry_after


class ServerError(HTTPStatusError):
    """5xx: the server failed."""


class WebhookVerificationError(APIError):
    """A notification's signature is missing, forged, stale or a replay; do not act on it."""


class RemoteSigningError(APIError):
    """A remote-signing provider refused or failed to sign.

    Attributes:
        provider_code: the provider's own error code (e.g. CSC ``invalid_pin``).
    """

    def __init__(self, message: str, *, provider_code: str | None = None) -> None:
        super().__init__(message)
        self.provider_code = provider_code


class UserRejectedError(RemoteSigningError):
    """The citizen declined the signature in the provider's app."""


class AuthorizationExpiredError(RemoteSigningError):
    """The signing authorization (CSC SAD, provider transaction) expired before use."""


class AuthorizationDeniedError(RemoteSigningError):
    """The provider refused the PIN, OTP or account credentials (CSC ``invalid_pin``,
    ``invalid_otp``; sp769 wrong ``sp_password``)."""


class ConfirmationTimeoutError(RemoteSigningError):
    """The citizen did not confirm in time, or the provider never answered before the deadline."""
