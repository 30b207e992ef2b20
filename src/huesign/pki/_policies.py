"""The RFC 5280, 6.1 valid_policy_tree and its state variables.

:class:`PolicyState` is mutated while one candidate path is processed (it lives only for
that call); the functions follow the steps of RFC 5280 6.1.3 (d)-(f), 6.1.4 (a)-(b), (h)-(j)
and 6.1.5 (g) in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from huesign.pki.policy import ANY_POLICY

__all__ = ["PolicyError", "PolicyState"]


class PolicyError(Exception):
    """A path breaks a policy rule (internal; turned into a validation error)."""


class _Node:
    __slots__ = ("children", "expected", "parent", "valid_policy")

    def __init__(self, valid_policy: str, expected: set[str], parent: _Node | None) -> None:
        self.valid_policy = valid_policy
        self.expected = expected
        self.parent = parent
        self.children: list[_Node] = []
        if parent is not None:
            parent.children.append(self)


class PolicyState:
    """valid_policy_tree, explicit_policy, inhibit_anyPolicy and policy_mapping."""

    def __init__(
        self,
        n: int,
        *,
        initial_explicit_policy: bool,
        initial_any_policy_inhibit: bool,
        initial_policy_mapping_inhibit: bool,
    ) -> None:
        self.n = n
        self.root: _Node | None = _Node(ANY_POLICY, {ANY_POLICY}, None)
        self.levels: list[list[_Node]] = [[self.root]]
        self.explicit_policy = 0 if initial_explicit_policy else n + 1
        self.inhibit_any_policy = 0 if initial_any_policy_inhibit else n + 1
        self.policy_mapping = 0 if initial_policy_mapping_inhibit else n + 1

    # -- helpers -------------------------------------------------------------------------

    def _level(self, depth: int) -> list[_Node]:
        return self.levels[depth] if self.root is not None and depth < len(self.levels) else []

    def _delete(self, node: _Node) -> None:
        stack = [node]
        while stack:
            cur = stack.pop()
            depth = self._depth(cur)
            if depth < len(self.levels) and cur in self.levels[depth]:
                self.levels[depth].remove(cur)
            stack.extend(cur.children)
        if node.parent is not None:
            node.parent.children.remove(node)
        else:
            self.root = None

    @staticmethod
    def _depth(node: _Node) -> int:
        depth = 0
        while node.parent is not None:
            node = node.parent
            depth += 1
        return depth

    def _prune(self, below: int) -> None:
        for depth in range(below - 1, -1, -1):
            for node in list(self._level(depth)):
                if not node.children:
                    self._delete(node)
            if self.root is None:
                return

    # -- RFC 5280 6.1.3 (d)-(f) ------------------------------------------------------------

    def process_certificate(
        self, i: int, policies: Sequence[str] | None, *, self_issued: bool
    ) -> None:
        """Apply certificate ``i``'s policies (``None`` when it has no policies extension)."""
        if policies is None:
            self.root = None
            self.levels = []
        elif self.root is not None:
            parents = self._level(i - 1)
            self.levels.append([])
            level = self.levels[i]
            for oid in policies:
                if oid == ANY_POLICY:
                    continue
                matched = [p for p in parents if oid in p.expected]
                if not matched:
                    matched = [p for p in parents if p.valid_policy == ANY_POLICY]
                level.extend(_Node(oid, {oid}, p) for p in matched)
            if ANY_POLICY in policies and (
                self.inhibit_any_policy > 0 or (i < self.n and self_issued)
            ):
                for parent in parents:
                    have = {c.valid_policy for c in parent.children}
                    for oid in sorted(parent.expected - have):
                        level.append(_Node(oid, {oid}, parent))
            self._prune(i)
            if self.root is None:
                self.levels = []
        if self.explicit_policy <= 0 and self.root is None:
            raise PolicyError("no valid certificate policy while an explicit policy is required")

    # -- RFC 5280 6.1.4 (a)-(b), (h)-(j) ---------------------------------------------------

    def process_mappings(self, i: int, mappings: Sequence[tuple[str, str]]) -> None:
        """Apply certificate ``i``'s policy mappings (issuerDomain, subjectDomain pairs)."""
        for issuer, subject in mappings:
            if ANY_POLICY in (issuer, subject):
                raise PolicyError("policy mappings must not map to or from anyPolicy")
        if self.root is None or not mappings:
            return
        by_issuer: dict[str, list[str]] = {}
        for issuer, subject in mappings:
            by_issuer.setdefault(issuer, [])
            if subject not in by_issuer[issuer]:
                by_issuer[issuer].append(subject)
        for issuer, subjects in by_issuer.items():
            level = self._level(i)
            if self.policy_mapping > 0:
                nodes = [n for n in level if n.valid_policy == issuer]
                if nodes:
                    for node in nodes:
                        node.expected = set(subjects)
                else:
                    for any_node in [n for n in level if n.valid_policy == ANY_POLICY]:
                        if any_node.parent is not None:
                            level.append(_Node(issuer, set(subjects), any_node.parent))
            else:
                for node in [n for n in level if n.valid_policy == issuer]:
                    self._delete(node)
                self._prune(i)
                if self.root is None:
                    self.levels = []
                    return

    def decrement(self, *, self_issued: bool) -> None:
        """Step 6.1.4 (h): count down for a certificate that is not self-issued."""
        if self_issued:
            return
        self.explicit_policy = max(0, self.explicit_policy - 1)
        self.policy_mapping = max(0, self.policy_mapping - 1)
        self.inhibit_any_policy = max(0, self.inhibit_any_policy - 1)

    def apply_constraints(
        self,
        require_explicit: int | None,
        inhibit_mapping: int | None,
        inhibit_any: int | None,
    ) -> None:
        """Steps 6.1.4 (i) and (j): policy constraints and inhibitAnyPolicy."""
        if require_explicit is not None:
            self.explicit_policy = min(self.explicit_policy, require_explicit)
        if inhibit_mapping is not None:
            self.policy_mapping = min(self.policy_mapping, inhibit_mapping)
        if inhibit_any is not None:
            self.inhibit_any_policy = min(self.inhibit_any_policy, inhibit_any)

    # -- RFC 5280 6.1.5 -------------------------------------------------------------------

    def wrap_up(self, require_explicit: int | None, user_set: frozenset[str]) -> frozenset[str]:
        """Finish processing; return the user-constrained policy set or raise PolicyError."""
        if self.explicit_policy > 0:
            self.explicit_policy -= 1
        if require_explicit == 0:
            self.explicit_policy = 0
        n = self.n
        if self.root is not None and ANY_POLICY not in user_set:
            leaves_any = [x for x in self._level(n) if x.valid_policy == ANY_POLICY]
            valid_set = [
                node
                for depth in range(1, n + 1)
                for node in self._level(depth)
                if node.parent is not None and node.parent.valid_policy == ANY_POLICY
            ]
            present = {node.valid_policy for node in valid_set}
            for node in valid_set:
                if (
                    node.valid_policy not in user_set
                    and node.valid_policy != ANY_POLICY
                    and node.parent is not None
                    and node in node.parent.children
                ):
                    self._delete(node)
            for any_leaf in leaves_any:
                if any_leaf.parent is None or any_leaf not in self._level(n):
                    continue
                for oid in sorted(user_set - present):
                    self._level(n).append(_Node(oid, {oid}, any_leaf.parent))
                self._delete(any_leaf)
            self._prune(n)
        result: set[str] = set()
        for leaf in self._level(n) if self.root is not None else ():
            node = leaf
            while node.parent is not None and node.parent.valid_policy != ANY_POLICY:
                node = node.parent
            result.add(node.valid_policy)
        if self.explicit_policy <= 0 and not result:
            raise PolicyError("the path does not satisfy the required certificate policies")
        return frozenset(result)
