"""The portal's and the wallet's resources as frozen attrs classes, with their JSON mapping.

The same classes (and :func:`to_json_dict` / :func:`from_json_dict`) are used by the clients
to read responses and by the sandbox server to write them, so that both sides of the wire
agree by construction; the OpenAPI documents in ``docs/api/`` describe the same shapes.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Mapping
from typing import TypeAlias, TypeVar

import attrs
import cattrs

from huesign.errors import ServerError

__all__ = [
    "AttachmentInfo",
    "Dossier",
    "DossierResult",
    "DossierState",
    "FormVerdict",
    "Payment",
    "PaymentState",
    "ProcedureFee",
    "ProcedureSummary",
    "Refund",
    "StatusChange",
    "WalletEvent",
    "WalletEventType",
    "from_json_dict",
    "to_json_dict",
]

T = TypeVar("T")
#: A value a fee's condition compares a field with (JSON string, integer or boolean).
_Scalar: TypeAlias = str | int | bool


class DossierState(enum.Enum):
    """Where a dossier is in its life (draft -> submitted -> received -> processing -> ...)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RECEIVED = "received"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    RESULT_READY = "result_ready"
    REJECTED = "rejected"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """Whether no further change can happen."""
        return self in (DossierState.RESULT_READY, DossierState.REJECTED, DossierState.CANCELLED)


class PaymentState(enum.Enum):
    """A wallet payment's state."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class WalletEventType(enum.Enum):
    """What a wallet notification announces."""

    PAYMENT_SUCCEEDED = "payment.succeeded"
    PAYMENT_REFUNDED = "payment.refunded"


@attrs.frozen(kw_only=True)
class ProcedureFee:
    """One fee of a procedure, with the condition on the form's data it applies under.

    Attributes:
        amount: the amount in whole VND.
        description_vi: what it is for, in Vietnamese.
        description_en: what it is for, in English.
        when_field: the top-level field the fee depends on (``None``: always charged).
        when_values: the field values that bring the fee; empty with a ``when_field``
            means "whenever the field has a value" (a ticked box, say).
    """

    amount: int
    description_vi: str = ""
    description_en: str = ""
    when_field: str | None = None
    when_values: tuple[_Scalar, ...] = ()


@attrs.frozen(kw_only=True)
class ProcedureSummary:
    """A procedure as listed by the portal.

    Attributes:
        code: the national procedure code, e.g. ``1.001193``.
        name_vi: the name in Vietnamese.
        name_en: the name in English (may be empty).
        domain: the field of administration.
        level: ``central``, ``provincial`` or ``communal``.
        agency: the implementing agency.
        fee: the base fee in whole VND: what is charged whatever the form's data (0 when
            the procedure is free, and also when every fee depends on the data).
        processing_days: the announced processing time in days.
        fee_depends_on_data: whether a non-zero fee applies only for some data (the
            channel, a late registration...): the dossier's fee is then known only once
            its signed form is uploaded; see :attr:`fees` for the amounts.
        fees: every fee of the procedure with the condition it applies under.
    """

    code: str
    name_vi: str
    name_en: str = ""
    domain: str
    level: str
    agency: str
    fee: int
    processing_days: int
    fee_depends_on_data: bool = False
    fees: tuple[ProcedureFee, ...] = ()


@attrs.frozen(kw_only=True)
class FormVerdict:
    """What the portal concluded about a dossier's signed form.

    Attributes:
        passed: whether the signature is valid and trusted (TOTAL_PASSED).
        indication: the ETSI indication (``TOTAL_PASSED``, ``TOTAL_FAILED``, ...).
        sub_indication: the ETSI sub-indication, when not passed.
        signer: the signer's common name, when known.
        message_vi: why, in Vietnamese.
        message_en: why, in English.
    """

    passed: bool
    indication: str
    sub_indication: str | None = None
    signer: str | None = None
    message_vi: str = ""
    message_en: str = ""


@attrs.frozen(kw_only=True)
class AttachmentInfo:
    """A document stored with a dossier (its content is not repeated here)."""

    name: str
    media_type: str
    size: int
    sha256: str


@attrs.frozen(kw_only=True)
class StatusChange:
    """One entry of a dossier's status history."""

    state: DossierState
    at: dt.datetime
    actor: str
    note: str = ""


@attrs.frozen(kw_only=True)
class Dossier:
    """A citizen's file at the portal.

    Attributes:
        id: the portal's identifier (opaque).
        code: the human-readable dossier code printed on receipts.
        procedure_code: the procedure applied for.
        state: the current state.
        fee: the fee due in whole VND.
        paid: whether the fee has been paid.
        created_at: when the draft was created.
        updated_at: when the dossier last changed.
        appointment: the date the result is promised for, once received.
        form: the verdict on the signed form, once one was attached.
        attachments: the uploaded documents.
        note: the agency's last note (reason of a rejection or a supplement request).
    """

    id: str
    code: str
    procedure_code: str
    state: DossierState
    fee: int
    paid: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    appointment: dt.date | None = None
    form: FormVerdict | None = None
    attachments: tuple[AttachmentInfo, ...] = ()
    note: str = ""


@attrs.frozen(kw_only=True)
class DossierResult:
    """The agency's result: a PDF and, when it is not embedded, its detached CMS signature."""

    document: bytes = attrs.field(repr=False)
    signature: bytes | None = attrs.field(default=None, repr=False)
    media_type: str = "application/pdf"


@attrs.frozen(kw_only=True)
class Payment:
    """A wallet payment of a dossier's fee.

    Attributes:
        id: the wallet's identifier.
        dossier_id: the dossier paid for (the merchant's order id).
        amount: the amount in whole VND.
        refunded_amount: how much has been refunded.
        state: the payment's state.
        description: the text shown to the payer.
        pay_url: where the citizen confirms the payment in the wallet.
        created_at: when the payment was created.
        updated_at: when it last changed.
    """

    id: str
    dossier_id: str
    amount: int
    refunded_amount: int = 0
    state: PaymentState
    description: str = ""
    pay_url: str = ""
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen(kw_only=True)
class Refund:
    """A refund of (part of) a payment."""

    payment: Payment
    amount: int
    reason: str = ""


@attrs.frozen(kw_only=True)
class WalletEvent:
    """A verified wallet notification.

    Attributes:
        id: the event id (the same on every redelivery: use it to deduplicate).
        type: what happened.
        created_at: when the wallet created the event.
        payment: the payment as it stood then.
    """

    id: str
    type: WalletEventType
    created_at: dt.datetime
    payment: Payment


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_unstructure_hook(dt.datetime, lambda v: v.isoformat())
    converter.register_unstructure_hook(dt.date, lambda v: v.isoformat())
    converter.register_unstructure_hook(bytes, lambda v: v.hex())

    def datetime_(value: object, _: object) -> dt.datetime:
        if not isinstance(value, str):
            raise TypeError("expected an ISO 8601 date-time string")
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("date-time without a time zone")
        return parsed

    def date_(value: object, _: object) -> dt.date:
        if not isinstance(value, str):
            raise TypeError("expected an ISO 8601 date string")
        return dt.date.fromisoformat(value)

    def bool_(value: object, _: object) -> bool:
        if not isinstance(value, bool):
            raise TypeError("expected a boolean")
        return value

    def int_(value: object, _: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("expected an integer")
        return value

    converter.register_structure_hook(dt.datetime, datetime_)
    converter.register_structure_hook(dt.date, date_)
    converter.register_structure_hook(bool, bool_)
    converter.register_structure_hook(int, int_)

    def scalar(value: object, _: object) -> _Scalar:
        if not isinstance(value, str | int | bool):
            raise TypeError("expected a string, an integer or a boolean")
        return value

    converter.register_structure_hook(_Scalar, scalar)
    return converter


@functools.cache
def _converter() -> cattrs.Converter:
    # Built once and never changed afterwards: configuring hooks is the costly part.
    return _make_converter()


def to_json_dict(value: object) -> dict[str, object]:
    """The JSON object (a ``dict``) of a model instance."""
    data = _converter().unstructure(value)
    if not isinstance(data, dict):
        raise TypeError("expected a model instance")
    return data


def from_json_dict(cls: type[T], data: object) -> T:
    """Read a ``cls`` from a decoded JSON object; a wrong shape raises :class:`ServerError`.

    A malformed body from the server is the server's fault, hence the error class.
    """
    if not isinstance(data, Mapping):
        raise ServerError(f"expected a JSON object for {cls.__name__}", status_code=200)
    try:
        return _converter().structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise ServerError(f"the server sent a malformed {cls.__name__}", status_code=200) from exc
