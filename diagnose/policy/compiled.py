"""Statements and policies compiled for fast evaluation.

The compiled form is kept on the (immutable) statement and policy objects themselves, outside their
dataclass fields, so it never affects equality, hashing or repr. Objects built without
``parse_policy`` (or copied with ``dataclasses.replace``) are compiled on first use.

Compiling is lazy and in two stages, so that validating a document (``parse_policy``) costs no compiling
and a document is compiled only as far as requests need it: a policy's statements get their action and
resource matchers when the policy is first evaluated; a statement gets its principal and condition
matchers (``CompiledStatement.complete``) when a request first reaches it. Compiling never raises for
a document ``parse_policy`` accepted.
"""

from __future__ import annotations

from diagnose.policy.conditions import REASON_VARIABLE, CompiledCondition
from diagnose.policy.match import CompiledPrincipals, Matcher, compile_principals, glob_matcher, glob_union
from diagnose.policy.model import Policy, RequestContext, Residual, Statement, Tri
from diagnose.policy.variables import ABSENT, Template, Unknown, parse_template, resolve

_STMT_ATTR = "_compiled_statement"
_POLICY_ATTR = "_compiled_policy"
_INDEX_LIMIT = 4096


def _never(_: str) -> bool:
    return False


_UNION_LIMIT = 20_000
_unions: dict[tuple[tuple[str, ...], bool], Matcher] = {}


def _union(patterns: tuple[str, ...], ignore_case: bool) -> Matcher:
    """``glob_union``, remembered by its patterns (documents repeat their Action and Resource lists)."""
    key = (patterns, ignore_case)
    m = _unions.get(key)
    if m is None:
        if len(_unions) >= _UNION_LIMIT:
            _unions.clear()
        m = _unions[key] = glob_union(patterns, ignore_case=ignore_case)
    return m


def _action_matcher(patterns: tuple[str, ...]) -> Matcher:
    return _union(patterns, True)


class CompiledStatement:
    __slots__ = (
        "action_match",
        "completed",
        "conditions",
        "deny",
        "not_principal",
        "not_resource",
        "principal",
        "resource_static",
        "resource_templates",
        "statement",
        "version",
    )

    def __init__(self, statement: Statement, version: str | None) -> None:
        """The action and resource tests only; ``complete`` adds the principal and condition tests."""
        self.statement = statement
        self.version = version
        self.deny = statement.effect == "Deny"
        if statement.actions is not None:
            self.action_match = _action_matcher(statement.actions)
        elif statement.not_actions is not None:
            inner = _action_matcher(statement.not_actions)
            self.action_match = lambda a: not inner(a)
        else:
            self.action_match = _never
        patterns = statement.resources if statement.resources is not None else statement.not_resources
        self.not_resource = statement.resources is None and statement.not_resources is not None
        static: list[str] = []
        templates: list[Template] = []
        for p in patterns or ("*",):
            t = parse_template(p, version)
            if t is None:
                static.append(p)
            else:
                templates.append(t)
        self.resource_static: Matcher = _union(tuple(static), False) if static else _never
        self.resource_templates: tuple[Template, ...] = tuple(templates)
        self.completed = False

    def complete(self) -> CompiledStatement:
        """Compile the principal and condition tests (once); ``principal``, ``not_principal`` and
        ``conditions`` exist only after this."""
        if not self.completed:
            statement = self.statement
            self.principal: CompiledPrincipals | None = (
                compile_principals(statement.principal) if statement.principal is not None else None
            )
            self.not_principal: CompiledPrincipals | None = (
                compile_principals(statement.not_principal) if statement.not_principal is not None else None
            )
            self.conditions = tuple(CompiledCondition(c, self.version) for c in statement.conditions)
            self.completed = True
        return self

    def static_resource(self, arn: str) -> Tri:
        """The resource test as far as it is known without the context: True/False, or None if it
        depends on policy variables."""
        if self.resource_static(arn):
            return not self.not_resource
        if self.resource_templates:
            return None
        return self.not_resource

    def dynamic_resource(self, arn: str, context: RequestContext) -> tuple[Tri, Residual | None]:
        """The resource test through the entries with policy variables, given no static entry matched."""
        unknown: Unknown | None = None
        for t in self.resource_templates:
            r = resolve(t, context)
            if isinstance(r, str):
                if glob_matcher(r, escaped=True)(arn):
                    return (not self.not_resource), None
            elif r is not ABSENT and isinstance(r, Unknown) and unknown is None:
                unknown = r
        if unknown is None:
            return self.not_resource, None
        element = "NotResource" if self.not_resource else "Resource"
        st = self.statement
        written = (st.not_resources if self.not_resource else st.resources) or ()
        return None, Residual(unknown.key, element, written, REASON_VARIABLE)


def _stage_one(statement: Statement, version: str | None) -> CompiledStatement:
    """The statement's compiled form, at least its action and resource tests (cached on the statement)."""
    cached = statement.__dict__.get(_STMT_ATTR)
    if isinstance(cached, CompiledStatement) and cached.version == version:
        return cached
    compiled = CompiledStatement(statement, version)
    object.__setattr__(statement, _STMT_ATTR, compiled)
    return compiled


def compiled_statement(statement: Statement, version: str | None) -> CompiledStatement:
    """The statement fully compiled (cached on the statement)."""
    return _stage_one(statement, version).complete()


class CompiledPolicy:
    """A policy's statements compiled on first use, with an index of the statements each (action,
    resource) reaches. Holds nothing of the policy's origin, so policies with the same parsed body
    (``parse_policy`` of the same document under different names) share one."""

    __slots__ = ("_statements", "has_principal", "index", "source", "version")

    def __init__(self, source: tuple[Statement, ...], version: str | None, has_principal: bool) -> None:
        self.source = source
        self.version = version
        self.has_principal = has_principal
        self._statements: tuple[CompiledStatement, ...] | None = None
        # (lower-case action, resource) -> statements whose action matches and whose resource may match,
        # each with its static resource result (None: resolve the policy variables per request)
        self.index: dict[tuple[str, str], tuple[tuple[CompiledStatement, Tri], ...]] = {}

    @property
    def statements(self) -> tuple[CompiledStatement, ...]:
        """Every statement, compiled at least as far as its action and resource tests."""
        found = self._statements
        if found is None:
            found = self._statements = tuple(_stage_one(s, self.version) for s in self.source)
        return found

    def candidates(self, action: str, resource: str) -> tuple[tuple[CompiledStatement, Tri], ...]:
        key = (action, resource)
        found = self.index.get(key)
        if found is None:
            out: list[tuple[CompiledStatement, Tri]] = []
            for cs in self.statements:
                if not cs.action_match(action):
                    continue
                r = cs.static_resource(resource)
                if r is not False:
                    out.append((cs.complete(), r))
            found = tuple(out)
            if len(self.index) >= _INDEX_LIMIT:
                self.index.clear()
            self.index[key] = found
        return found


def compiled_policy(policy: Policy) -> CompiledPolicy:
    """The policy's compiled form (cached on the policy; nothing is compiled until it is evaluated)."""
    cached = policy.__dict__.get(_POLICY_ATTR)
    if isinstance(cached, CompiledPolicy):
        return cached
    compiled = CompiledPolicy(policy.statements, policy.version, policy.kind.has_principal)
    object.__setattr__(policy, _POLICY_ATTR, compiled)
    return compiled


def share_compiled(policy: Policy, compiled: CompiledPolicy) -> None:
    """Give ``policy`` an existing compiled form; it must come from a policy with the same statements,
    version and kind (``parse_policy`` uses this for a document it has already parsed)."""
    object.__setattr__(policy, _POLICY_ATTR, compiled)
