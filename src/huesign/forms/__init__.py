"""huesign.forms: procedures, fields, submissions, canonical data and the procedure catalogue.

A :class:`Procedure` declares a public service's fields, required documents, fees and
processing time; a :class:`Submission` carries an applicant's values and is validated field by
field (every error at once, each with its path, code and bilingual messages); its canonical
RFC 8785 JSON is what gets hashed and signed.  Administrative units follow the two-level
scheme in force since 1 July 2025 (:func:`builtin_units`, or your own :class:`UnitsSource`).
"""

from huesign.forms.canonical import canonical_json, canonical_sha256
from huesign.forms.catalogue import Catalogue, builtin_catalogue
from huesign.forms.fields import (
    FIELD_KINDS,
    AddressField,
    AttachmentField,
    BooleanField,
    CCCDField,
    ChoiceField,
    CMNDField,
    Condition,
    DateField,
    EmailField,
    Field,
    GroupField,
    IntegerField,
    MoneyField,
    Option,
    PassportField,
    PhoneField,
    PhoneKind,
    Scalar,
    TaxCodeField,
    TaxCodeForm,
    TextField,
)
from huesign.forms.procedure import (
    Fee,
    Procedure,
    ProcedureLevel,
    ProcessingTime,
    RequiredDocument,
)
from huesign.forms.submission import VIETNAM_TZ, Attachment, Submission
from huesign.forms.units import (
    CommunalUnit,
    LegacyProvince,
    Province,
    UnitsSource,
    UnitsTable,
    UnitType,
    builtin_units,
    find_communal_unit,
    find_legacy_province,
)

__all__ = [
    "FIELD_KINDS",
    "VIETNAM_TZ",
    "AddressField",
    "Attachment",
    "AttachmentField",
    "BooleanField",
    "CCCDField",
    "CMNDField",
    "Catalogue",
    "ChoiceField",
    "CommunalUnit",
    "Condition",
    "DateField",
    "EmailField",
    "Fee",
    "Field",
    "GroupField",
    "IntegerField",
    "LegacyProvince",
    "MoneyField",
    "Option",
    "PassportField",
    "PhoneField",
    "PhoneKind",
    "Procedure",
    "ProcedureLevel",
    "ProcessingTime",
    "Province",
    "RequiredDocument",
    "Scalar",
    "Submission",
    "TaxCodeField",
    "TaxCodeForm",
    "TextField",
    "UnitType",
    "UnitsSource",
    "UnitsTable",
    "builtin_catalogue",
    "builtin_units",
    "canonical_json",
    "canonical_sha256",
    "find_communal_unit",
    "find_legacy_province",
]
