"""huesign.forms: procedures, fields, submissions, canonical data and the procedure catalogue.

A :class:`Procedure` declares a public service's fields, required documents, fees and
processing time; a :class:`Submission` carries an applicant's values and is validated field by
field (every error at once, each with its path, code and bilingual messages); its canonical
RFC 8785 JSON is what gets hashed and signed.  Administrative units follow the two-level
scheme in force since 1 July 2025 (:func:`builtin_units`, or your own :class:`UnitsSource`).
:func:`render_submission` renders a form as PDF with its data embedded; :func:`sign_dossier`
renders and signs it, :func:`open_dossier` verifies it and reads the data back, and
:meth:`Dossier.to_asic` / :func:`verify_dossier` carry it with its attachments in ASiC-E.
"""

from huesign.forms.asic import (
    ASIC_E_MIMETYPE,
    ASiCEntry,
    ASiCLimits,
    ASiCReport,
    package_asic,
    read_asic,
    verify_asic,
)
from huesign.forms.canonical import canonical_json, canonical_sha256
from huesign.forms.catalogue import Catalogue, builtin_catalogue
from huesign.forms.dossier import (
    DOSSIER_PDF_NAME,
    Dossier,
    DossierFile,
    OpenedDossier,
    open_dossier,
    sign_dossier,
    sign_dossier_async,
    verify_dossier,
)
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
from huesign.forms.render import (
    CITIZEN_SIGNATURE_FIELD,
    OFFICER_SIGNATURE_FIELD,
    SUBMISSION_FILE_NAME,
    RenderedForm,
    SignatureBox,
    render_submission,
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
    "ASIC_E_MIMETYPE",
    "CITIZEN_SIGNATURE_FIELD",
    "DOSSIER_PDF_NAME",
    "FIELD_KINDS",
    "OFFICER_SIGNATURE_FIELD",
    "SUBMISSION_FILE_NAME",
    "VIETNAM_TZ",
    "ASiCEntry",
    "ASiCLimits",
    "ASiCReport",
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
    "Dossier",
    "DossierFile",
    "EmailField",
    "Fee",
    "Field",
    "GroupField",
    "IntegerField",
    "LegacyProvince",
    "MoneyField",
    "OpenedDossier",
    "Option",
    "PassportField",
    "PhoneField",
    "PhoneKind",
    "Procedure",
    "ProcedureLevel",
    "ProcessingTime",
    "Province",
    "RenderedForm",
    "RequiredDocument",
    "Scalar",
    "SignatureBox",
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
    "open_dossier",
    "package_asic",
    "read_asic",
    "render_submission",
    "sign_dossier",
    "sign_dossier_async",
    "verify_asic",
    "verify_dossier",
]
