"""What changed in a PDF after a signature: classify every object of every later revision.

Lower layer under PAdES.  :func:`analyse_modifications` compares each object that a later
revision writes with the same object in the signed revision, and sorts each real change into
a :class:`ChangeKind`.  Later revisions can only change what a viewer shows by overriding
objects that already exist (a page, its annotation list, the catalog, a font, a content
stream), by deleting them, or by pointing the trailer at a new catalog; all three are checked,
which is what defeats the shadow, incremental-saving and evil-annotation attacks.  New objects
alone change nothing until an existing object refers to them.

The summary says what happened; the PAdES verifier turns it into a verdict.  Under the
strict default only :attr:`ChangeKind.SIGNATURE`, :attr:`ChangeKind.DOC_TIMESTAMP` and
:attr:`ChangeKind.DSS` are allowed (:attr:`ModificationSummary.strictly_allowed`).
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from types import MappingProxyType

import attrs

from huesign.errors import PDFFormatError
from huesign.pki.pdffields import iter_fields, page_refs
from huesign.pki.pdfobjects import Name, PDFDict, PDFObject, PDFStream, Ref
from huesign.pki.pdfreader import EntryKind, PDFReader

__all__ = [
    "STRICT_ALLOWED",
    "ChangeKind",
    "ModificationSummary",
    "ObjectChange",
    "analyse_modifications",
]


class ChangeKind(enum.Enum):
    """The kind of one change made after a signature."""

    SIGNATURE = "signature"
    DOC_TIMESTAMP = "doc_timestamp"
    DSS = "dss"
    FORM_FILL = "form_fill"
    ANNOTATION = "annotation"
    METADATA = "metadata"
    FORBIDDEN = "forbidden"


#: Changes the strict default policy accepts after a signature.
STRICT_ALLOWED = frozenset({ChangeKind.SIGNATURE, ChangeKind.DOC_TIMESTAMP, ChangeKind.DSS})


@attrs.frozen(kw_only=True)
class ObjectChange:
    """One changed object (or trailer entry) in one later revision.

    Attributes:
        revision: index of the revision that made the change.
        ref: the object changed, or ``None`` for a trailer change.
        kind: what kind of change it is.
        reason: a short English sentence saying what changed.
    """

    revision: int
    ref: Ref | None
    kind: ChangeKind
    reason: str


@attrs.frozen(kw_only=True)
class ModificationSummary:
    """Every change made after the signed revision.

    Attributes:
        signed_revision: index of the revision the signature covers.
        later_revisions: how many revisions follow it.
        changes: the changes, in revision and object order.
    """

    signed_revision: int
    later_revisions: int
    changes: tuple[ObjectChange, ...]

    @property
    def kinds(self) -> frozenset[ChangeKind]:
        """The distinct kinds of change."""
        return frozenset(c.kind for c in self.changes)

    def permitted(self, allowed: Collection[ChangeKind]) -> bool:
        """Whether every change is of a kind in ``allowed``."""
        return all(c.kind in allowed for c in self.changes)

    @property
    def strictly_allowed(self) -> bool:
        """Whether the strict default policy accepts the changes."""
        return self.permitted(STRICT_ALLOWED)


_ANNOT_KEYS = frozenset({"Annots"})
# Catalog entries a later revision may change, and what changing each one means.
_CATALOG_KINDS = MappingProxyType(
    {
        "DSS": ChangeKind.DSS,
        "Extensions": ChangeKind.SIGNATURE,
        "Metadata": ChangeKind.METADATA,
        "Version": ChangeKind.METADATA,
    }
)
# From least to most serious: a change of several kinds reports the most serious.
_SEVERITY = (
    ChangeKind.SIGNATURE,
    ChangeKind.DOC_TIMESTAMP,
    ChangeKind.DSS,
    ChangeKind.METADATA,
    ChangeKind.FORM_FILL,
    ChangeKind.ANNOTATION,
    ChangeKind.FORBIDDEN,
)
_FIELD_FILL_KEYS = frozenset({"V", "AP", "AS", "M"})
_FORM_SIGNATURE_KEYS = frozenset({"SigFlags"})


@attrs.frozen(kw_only=True)
class _Roles:
    """What each object of the signed revision is."""

    root: int
    info: int | None
    acroform: int | None
    fields_array: int | None
    fields: dict[int, str | None]
    widgets: set[int]
    pages: set[int]
    annots_arrays: set[int]
    annotations: set[int]
    signatures: set[int]
    dss: set[int]
    metadata: int | None
    object_streams: set[int]


def _num(obj: PDFObject) -> int | None:
    return obj.num if isinstance(obj, Ref) else None


def _collect_roles(reader: PDFReader, rev: int) -> _Roles:
    trailer = reader.trailer_at(rev)
    root_ref = trailer.get("Root")
    if not isinstance(root_ref, Ref):
        raise PDFFormatError(f"revision {rev} has no /Root")
    catalog = reader.get_dict(root_ref, rev)
    acro_obj = catalog.get("AcroForm")
    acro = reader.resolve(acro_obj, rev)
    fields_array = _num(acro.get("Fields")) if isinstance(acro, PDFDict) else None
    fields: dict[int, str | None] = {}
    widgets: set[int] = set()
    signatures: set[int] = set()
    for field in iter_fields(reader, revision=rev):
        fields[field.ref.num] = field.field_type
        widgets.update(w.num for w in field.widgets)
        if field.field_type == "Sig" and isinstance(field.value, Ref):
            signatures.add(field.value.num)
    pages: set[int] = set()
    annots_arrays: set[int] = set()
    annotations: set[int] = set()
    for page in page_refs(reader, revision=rev):
        pages.add(page.num)
        page_dict = reader.get_dict(page, rev)
        annots = page_dict.get("Annots")
        if isinstance(annots, Ref):
            annots_arrays.add(annots.num)
        items = reader.resolve(annots, rev)
        if isinstance(items, tuple):
            annotations.update(a.num for a in items if isinstance(a, Ref))
    dss: set[int] = set()
    dss_obj = catalog.get("DSS")
    if isinstance(dss_obj, Ref):
        dss.add(dss_obj.num)
    dss_dict = reader.resolve(dss_obj, rev)
    if isinstance(dss_dict, PDFDict):
        for key in ("Certs", "OCSPs", "CRLs"):
            arr = dss_dict.get(key)
            if isinstance(arr, Ref):
                dss.add(arr.num)
            items = reader.resolve(arr, rev)
            if isinstance(items, tuple):
                dss.update(i.num for i in items if isinstance(i, Ref))
    streams = {e.stream_num for e in reader.entries(rev).values() if e.kind is EntryKind.COMPRESSED}
    return _Roles(
        root=root_ref.num,
        info=_num(trailer.get("Info")),
        acroform=_num(acro_obj),
        fields_array=fields_array,
        fields=fields,
        widgets=widgets,
        pages=pages,
        annots_arrays=annots_arrays,
        annotations=annotations - widgets,
        signatures=signatures,
        dss=dss,
        metadata=_num(catalog.get("Metadata")),
        object_streams=streams,
    )


def analyse_modifications(reader: PDFReader, signed_revision: int) -> ModificationSummary:
    """Classify every change that revisions after ``signed_revision`` make.

    Raises:
        ValueError: there is no such revision.
        PDFFormatError: the document is too damaged to analyse.
    """
    if not 0 <= signed_revision < len(reader.revisions):
        raise ValueError(f"no revision {signed_revision}")
    roles = _collect_roles(reader, signed_revision)
    old_entries = reader.entries(signed_revision)
    changes: list[ObjectChange] = []
    for rev in reader.revisions[signed_revision + 1 :]:
        analyser = _RevisionAnalyser(reader, roles, signed_revision, rev.index)
        trailer = rev.trailer
        if _num(trailer.get("Root")) != roles.root:
            changes.append(
                ObjectChange(
                    revision=rev.index,
                    ref=None,
                    kind=ChangeKind.FORBIDDEN,
                    reason="the trailer points to a different document catalog",
                )
            )
        if "Encrypt" in trailer:
            changes.append(
                ObjectChange(
                    revision=rev.index,
                    ref=None,
                    kind=ChangeKind.FORBIDDEN,
                    reason="encryption was added after signing",
                )
            )
        if _num(trailer.get("Info")) != roles.info:
            changes.append(
                ObjectChange(
                    revision=rev.index,
                    ref=None,
                    kind=ChangeKind.METADATA,
                    reason="the trailer points to a different information dictionary",
                )
            )
        for num in sorted(rev.entries):
            entry = rev.entries[num]
            old = old_entries.get(num)
            existed = old is not None and old.kind is not EntryKind.FREE
            ref = Ref(num, entry.gen)
            if entry.kind is EntryKind.FREE:
                if existed:
                    changes.append(analyser.change(ref, ChangeKind.FORBIDDEN, "object deleted"))
                continue
            change = analyser.changed_object(ref) if existed else analyser.new_object(ref)
            if change is not None:
                changes.append(change)
    return ModificationSummary(
        signed_revision=signed_revision,
        later_revisions=len(reader.revisions) - signed_revision - 1,
        changes=tuple(changes),
    )


class _RevisionAnalyser:
    def __init__(self, reader: PDFReader, roles: _Roles, old: int, new: int) -> None:
        self.reader = reader
        self.roles = roles
        self.old = old
        self.new = new
        self._old_entries = reader.entries(old)

    def change(self, ref: Ref | None, kind: ChangeKind, reason: str) -> ObjectChange:
        return ObjectChange(revision=self.new, ref=ref, kind=kind, reason=reason)

    def _same(self, a: PDFObject, b: PDFObject) -> bool:
        if isinstance(a, PDFStream) and isinstance(b, PDFStream):
            return a.dictionary == b.dictionary and self.reader.stream_data(
                a, decode=False
            ) == self.reader.stream_data(b, decode=False)
        return a == b

    def _added_value(self, field: PDFDict) -> ChangeKind | None:
        """What ``field``'s /V adds: a signature or document timestamp made after signing.

        ``None`` unless /V refers to a signature dictionary that did not exist in the signed
        revision and that signs the very revision that wrote it (its byte range ends there).
        A /V taken from an earlier signature, or a copy of one, would show that signature's
        verdict under a field, and an appearance, of the editor's choosing.
        """
        value = field.get("V")
        return self._signature_kind(value) if isinstance(value, Ref) else None

    def _signature_kind(self, value: Ref) -> ChangeKind | None:
        """SIGNATURE or DOC_TIMESTAMP for a signature dictionary added after signing.

        See :meth:`_added_value`; ``None`` for anything else.
        """
        old = self._old_entries.get(value.num)
        if old is not None and old.kind is not EntryKind.FREE:
            return None
        revisions = self.reader.revisions
        written = next(
            (r for r in range(self.new, self.old, -1) if value.num in revisions[r].entries), None
        )
        if written is None or revisions[written].entries[value.num].kind is EntryKind.FREE:
            return None
        d = self.reader.resolve(value, self.new)
        if not isinstance(d, PDFDict):
            return None
        ends = {revisions[written].end}
        if written == len(revisions) - 1:
            ends.add(self.reader.size)
        byte_range = self.reader.resolve(d.get("ByteRange"), self.new)
        if not isinstance(byte_range, tuple) or len(byte_range) != 4:
            return None
        numbers = [v for v in byte_range if isinstance(v, int) and not isinstance(v, bool)]
        if len(numbers) != 4 or numbers[2] + numbers[3] not in ends:
            return None
        if d.get("Type") == Name("DocTimeStamp"):
            return ChangeKind.DOC_TIMESTAMP
        return ChangeKind.SIGNATURE

    def new_object(self, ref: Ref) -> ObjectChange | None:
        # New objects change nothing until an existing one refers to them; only signature
        # dictionaries that sign their own revision are worth naming.
        kind = self._signature_kind(ref)
        if kind is ChangeKind.SIGNATURE:
            return self.change(ref, kind, "signature dictionary added")
        if kind is ChangeKind.DOC_TIMESTAMP:
            return self.change(ref, kind, "document timestamp added")
        return None

    def changed_object(self, ref: Ref) -> ObjectChange | None:
        roles = self.roles
        num = ref.num
        old = self.reader.get(ref, self.old)
        new = self.reader.get(ref, self.new)
        if self._same(old, new):
            return None
        if num in roles.object_streams:
            return self.change(ref, ChangeKind.FORBIDDEN, "a signed object stream was replaced")
        if num == roles.root:
            return self._catalog(ref, old, new)
        if num in (roles.acroform, roles.fields_array):
            return self._acroform(ref, old, new)
        if num in roles.pages:
            return self._keys_limited(ref, old, new, _ANNOT_KEYS, "page")
        if num in roles.annots_arrays:
            return self._annots(ref, old, new)
        if num in roles.signatures:
            return self.change(ref, ChangeKind.FORBIDDEN, "a signature dictionary was changed")
        if num in roles.fields or num in roles.widgets:
            return self._field(ref, old, new)
        if num in roles.annotations:
            return self.change(ref, ChangeKind.ANNOTATION, "an annotation was changed")
        if num in roles.dss:
            return self.change(ref, ChangeKind.DSS, "document security store updated")
        if num in (roles.info, roles.metadata):
            return self.change(ref, ChangeKind.METADATA, "document metadata changed")
        return self.change(ref, ChangeKind.FORBIDDEN, "signed content was overridden")

    def _catalog(self, ref: Ref, old: PDFObject, new: PDFObject) -> ObjectChange:
        if not isinstance(old, PDFDict) or not isinstance(new, PDFDict):
            return self.change(ref, ChangeKind.FORBIDDEN, "the catalog was replaced")
        diff = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        if diff - set(_CATALOG_KINDS) - {"AcroForm", "Perms"}:
            names = ", ".join(sorted(diff))
            return self.change(ref, ChangeKind.FORBIDDEN, f"catalog entries changed: {names}")
        found = [
            self.change(ref, _CATALOG_KINDS[key], f"catalog /{key} updated")
            for key in sorted(diff & set(_CATALOG_KINDS))
        ]
        if "Perms" in diff:
            old_perms = self.reader.resolve(old.get("Perms"), self.old)
            new_perms = self.reader.resolve(new.get("Perms"), self.new)
            old_mdp = old_perms.get("DocMDP") if isinstance(old_perms, PDFDict) else None
            new_mdp = new_perms.get("DocMDP") if isinstance(new_perms, PDFDict) else None
            if old_mdp != new_mdp:
                return self.change(ref, ChangeKind.FORBIDDEN, "certification was changed")
            found.append(self.change(ref, ChangeKind.SIGNATURE, "catalog /Perms updated"))
        if "AcroForm" in diff:
            found.append(self._acroform(ref, old.get("AcroForm"), new.get("AcroForm")))
        return max(found, key=lambda c: _SEVERITY.index(c.kind))

    def _acroform(self, ref: Ref, old: PDFObject, new: PDFObject) -> ObjectChange:
        reader = self.reader
        old_form = reader.resolve(old, self.old)
        new_form = reader.resolve(new, self.new)
        if isinstance(old_form, tuple) and isinstance(new_form, tuple):
            return self._fields_added(ref, old_form, new_form)
        if old_form is None:
            old_form = PDFDict()
        if not isinstance(old_form, PDFDict) or not isinstance(new_form, PDFDict):
            return self.change(ref, ChangeKind.FORBIDDEN, "the form was replaced")
        diff = {k for k in set(old_form) | set(new_form) if old_form.get(k) != new_form.get(k)}
        if diff - {"Fields", "SigFlags"}:
            names = ", ".join(sorted(diff))
            return self.change(ref, ChangeKind.FORBIDDEN, f"form entries changed: {names}")
        if "Fields" in diff:
            old_fields = reader.resolve(old_form.get("Fields"), self.old)
            new_fields = reader.resolve(new_form.get("Fields"), self.new)
            return self._fields_added(
                ref,
                old_fields if isinstance(old_fields, tuple) else (),
                new_fields if isinstance(new_fields, tuple) else (),
            )
        return self.change(ref, ChangeKind.SIGNATURE, "form flags set for signatures")

    def _fields_added(
        self, ref: Ref, old: tuple[PDFObject, ...], new: tuple[PDFObject, ...]
    ) -> ObjectChange:
        if new[: len(old)] != old:
            return self.change(ref, ChangeKind.FORBIDDEN, "form fields were removed or reordered")
        timestamps_only = True
        for added in new[len(old) :]:
            d = self.reader.resolve(added, self.new)
            if not isinstance(d, PDFDict) or d.get("FT") != Name("Sig"):
                return self.change(ref, ChangeKind.FORBIDDEN, "a non-signature field was added")
            kind = self._added_value(d)
            if kind is None and d.get("V") is not None:
                return self.change(
                    ref, ChangeKind.FORBIDDEN, "a field showing an earlier signature was added"
                )
            timestamps_only = timestamps_only and kind is ChangeKind.DOC_TIMESTAMP
        if timestamps_only:
            return self.change(ref, ChangeKind.DOC_TIMESTAMP, "timestamp field added to the form")
        return self.change(ref, ChangeKind.SIGNATURE, "signature field added to the form")

    def _annots(self, ref: Ref, old: PDFObject, new: PDFObject) -> ObjectChange:
        old_items = self.reader.resolve(old, self.old)
        new_items = self.reader.resolve(new, self.new)
        old_t = old_items if isinstance(old_items, tuple) else ()
        new_t = new_items if isinstance(new_items, tuple) else ()
        if not set(old_t) <= set(new_t):
            return self.change(ref, ChangeKind.FORBIDDEN, "annotations were removed")
        kinds = {self._widget_kind(a) for a in new_t if a not in old_t}
        if None in kinds:
            return self.change(ref, ChangeKind.ANNOTATION, "annotation added")
        if kinds == {ChangeKind.DOC_TIMESTAMP}:
            return self.change(ref, ChangeKind.DOC_TIMESTAMP, "timestamp widget added")
        return self.change(ref, ChangeKind.SIGNATURE, "signature widget added")

    def _widget_kind(self, obj: PDFObject) -> ChangeKind | None:
        """SIGNATURE or DOC_TIMESTAMP for an acceptable new signature widget, else ``None``.

        A visible signature widget is acceptable only with a signature (or timestamp) made in
        this revision behind it: an unsigned one, or one showing an earlier signature, can
        cover signed content while looking signed (the "sneaky signature" attacks).  An
        invisible one may also be an empty field.
        """
        d = self.reader.resolve(obj, self.new)
        if not isinstance(d, PDFDict) or d.get("Subtype") != Name("Widget"):
            return None
        field = d
        if "FT" not in d and isinstance(d.get("Parent"), Ref):
            parent = self.reader.resolve(d.get("Parent"), self.new)
            field = parent if isinstance(parent, PDFDict) else d
        if field.get("FT") != Name("Sig"):
            return None
        kind = self._added_value(field)
        if kind is not None or field.get("V") is not None:
            return kind
        rect = self.reader.resolve(d.get("Rect"), self.new)
        invisible = (
            isinstance(rect, tuple)
            and len(rect) == 4
            and all(isinstance(v, (int, float)) for v in rect)
            and (rect[0] == rect[2] or rect[1] == rect[3])
        )
        return ChangeKind.SIGNATURE if invisible else None

    def _keys_limited(
        self, ref: Ref, old: PDFObject, new: PDFObject, allowed: frozenset[str], what: str
    ) -> ObjectChange:
        if not isinstance(old, PDFDict) or not isinstance(new, PDFDict):
            return self.change(ref, ChangeKind.FORBIDDEN, f"a {what} was replaced")
        diff = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        if diff - allowed:
            names = ", ".join(sorted(diff))
            return self.change(ref, ChangeKind.FORBIDDEN, f"{what} entries changed: {names}")
        return self._annots(ref, old.get("Annots"), new.get("Annots"))

    def _field(self, ref: Ref, old: PDFObject, new: PDFObject) -> ObjectChange:
        if not isinstance(old, PDFDict) or not isinstance(new, PDFDict):
            return self.change(ref, ChangeKind.FORBIDDEN, "a form field was replaced")
        diff = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        field_type = self.roles.fields.get(ref.num)
        if field_type is None and "Parent" in old:
            parent = _num(old.get("Parent"))
            field_type = self.roles.fields.get(parent) if parent is not None else None
        if field_type == "Sig":
            kind = self._added_value(new)
            if diff == {"V"} and old.get("V") is None and kind is not None:
                what = "timestamp" if kind is ChangeKind.DOC_TIMESTAMP else "signature"
                return self.change(ref, kind, f"{what} field filled")
            return self.change(ref, ChangeKind.FORBIDDEN, "a signature field was changed")
        if diff - _FIELD_FILL_KEYS:
            names = ", ".join(sorted(diff))
            return self.change(ref, ChangeKind.FORBIDDEN, f"form field entries changed: {names}")
        return self.change(ref, ChangeKind.FORM_FILL, "form field value filled")
