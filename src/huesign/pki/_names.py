"""RFC 5280 name comparison (7.1) and name constraints (4.2.1.10, 6.1.3 b-c, 6.1.4 g).

Distinguished names are compared attribute by attribute after folding case and collapsing
whitespace, so that ``CN=Test  CA`` in a PrintableString matches ``cn=test ca`` in a
UTF8String.  Name constraints cover directory names, e-mail addresses (including the
emailAddress attribute of the subject), DNS names, URIs and IP addresses; a constraint on any
other name form rejects certificates that carry a name of that form, as RFC 5280 allows.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

import attrs
from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = [
    "NameConstraintsState",
    "NormName",
    "general_name_kind",
    "normalize_name",
    "subject_emails",
]

#: A distinguished name ready for comparison: one frozenset of (OID, value) per RDN.
NormName = tuple[frozenset[tuple[str, str | bytes]], ...]

_EMAIL_OID = NameOID.EMAIL_ADDRESS


def normalize_name(name: x509.Name) -> NormName:
    """Return ``name`` in the form RFC 5280, 7.1 compares (case and whitespace folded)."""
    out: list[frozenset[tuple[str, str | bytes]]] = []
    for rdn in name.rdns:
        items: list[tuple[str, str | bytes]] = []
        for attribute in rdn:
            value = attribute.value
            folded = " ".join(value.split()).casefold() if isinstance(value, str) else bytes(value)
            items.append((attribute.oid.dotted_string, folded))
        out.append(frozenset(items))
    return tuple(out)


def subject_emails(name: x509.Name) -> tuple[str, ...]:
    """The emailAddress attribute values of a subject name."""
    return tuple(str(a.value) for a in name.get_attributes_for_oid(_EMAIL_OID))


def general_name_kind(name: x509.GeneralName) -> str:
    """The constraint family of a general name: dn, email, dns, uri, ip or other."""
    if isinstance(name, x509.DirectoryName):
        return "dn"
    if isinstance(name, x509.RFC822Name):
        return "email"
    if isinstance(name, x509.DNSName):
        return "dns"
    if isinstance(name, x509.UniformResourceIdentifier):
        return "uri"
    if isinstance(name, x509.IPAddress):
        return "ip"
    return "other"


def _host_match(constraint: str, host: str) -> bool:
    constraint = constraint.lower().rstrip(".")
    host = host.lower().rstrip(".")
    if not constraint:
        return True
    if constraint.startswith("."):
        return host.endswith(constraint)
    return host == constraint


def _dns_match(constraint: str, name: str) -> bool:
    constraint = constraint.lower().rstrip(".")
    name = name.lower().rstrip(".")
    if not constraint:
        return True
    if constraint.startswith("."):
        return name.endswith(constraint)
    return name == constraint or name.endswith("." + constraint)


def _email_match(constraint: str, address: str) -> bool:
    local, sep, host = address.rpartition("@")
    if not sep or not local:
        return False
    if "@" in constraint:
        c_local, _, c_host = constraint.rpartition("@")
        return local == c_local and host.lower() == c_host.lower()
    return _host_match(constraint, host)


def _uri_match(constraint: str, uri: str) -> bool:
    try:
        host = urlsplit(uri).hostname
    except ValueError:
        return False
    return bool(host) and _host_match(constraint, host or "")


def _ip_match(constraint: object, address: object) -> bool:
    if isinstance(constraint, ipaddress.IPv4Network | ipaddress.IPv6Network) and isinstance(
        address, ipaddress.IPv4Address | ipaddress.IPv6Address
    ):
        return address.version == constraint.version and address in constraint
    return False


def _dn_match(base: NormName, name: NormName) -> bool:
    return len(base) <= len(name) and name[: len(base)] == base


@attrs.frozen
class _Subtree:
    kind: str
    value: object


def _subtree(name: x509.GeneralName) -> _Subtree:
    kind = general_name_kind(name)
    if kind == "dn":
        assert isinstance(name, x509.DirectoryName)
        return _Subtree(kind, normalize_name(name.value))
    return _Subtree(kind, name.value if kind != "other" else None)


def _matches(tree: _Subtree, kind: str, value: object) -> bool:
    if kind != tree.kind:
        return False
    if kind == "dn":
        return (
            isinstance(value, tuple)
            and isinstance(tree.value, tuple)
            and _dn_match(tree.value, value)
        )
    if kind == "email":
        return isinstance(tree.value, str) and _email_match(tree.value, str(value))
    if kind == "dns":
        return isinstance(tree.value, str) and _dns_match(tree.value, str(value))
    if kind == "uri":
        return isinstance(tree.value, str) and _uri_match(tree.value, str(value))
    if kind == "ip":
        return _ip_match(tree.value, value)
    return False


@attrs.frozen
class NameConstraintsState:
    """The permitted and excluded subtrees accumulated along a path.

    Each element of :attr:`permitted` comes from one certificate's extension; a name must fall
    within every one that constrains its form (their intersection).  :attr:`excluded` is the
    union of every excluded subtree.
    """

    permitted: tuple[tuple[_Subtree, ...], ...] = ()
    excluded: tuple[_Subtree, ...] = ()

    def add(self, constraints: x509.NameConstraints) -> NameConstraintsState:
        """Return the state after a certificate's name constraints extension."""
        permitted = self.permitted
        if constraints.permitted_subtrees is not None:
            permitted = (*permitted, tuple(_subtree(n) for n in constraints.permitted_subtrees))
        excluded = self.excluded
        if constraints.excluded_subtrees is not None:
            excluded = (*excluded, *(_subtree(n) for n in constraints.excluded_subtrees))
        return NameConstraintsState(permitted, excluded)

    @property
    def empty(self) -> bool:
        """Whether no constraint applies yet."""
        return not self.permitted and not self.excluded

    def check(
        self, subject: NormName, emails: Sequence[str], alt_names: Iterable[x509.GeneralName]
    ) -> str | None:
        """Return why the names break the constraints, or ``None`` when they satisfy them."""
        if self.empty:
            return None
        names: list[tuple[str, object, str]] = []
        if subject:
            names.append(("dn", subject, "subject"))
        names.extend(("email", e, f"subject e-mail {e!r}") for e in emails)
        for alt in alt_names:
            kind = general_name_kind(alt)
            value: object = normalize_name(alt.value) if kind == "dn" else alt.value
            names.append((kind, value, f"alternative name {alt.value!s}"))
        for kind, value, label in names:
            if kind == "other":
                if any(t.kind == "other" for t in self.excluded) or any(
                    any(t.kind == "other" for t in group) for group in self.permitted
                ):
                    return f"{label}: name form cannot be checked against its name constraints"
                continue
            for group in self.permitted:
                relevant = [t for t in group if t.kind == kind]
                if relevant and not any(_matches(t, kind, value) for t in relevant):
                    return f"{label} is outside the permitted subtrees"
            if any(_matches(t, kind, value) for t in self.excluded):
                return f"{label} is within an excluded subtree"
        return None
