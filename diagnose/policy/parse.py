"""Parsing and validating policy documents: accept what AWS accepts, reject what it rejects.

Every rejection is a ``PolicyError`` naming the JSON path of the offending element, e.g.
``Statement[2].Condition.StringEquals``. The parsed policy is compiled for evaluation on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import NoReturn

from diagnose.policy.compiled import compiled_policy
from diagnose.policy.conditions import parse_operator, value_error
from diagnose.policy.match import principal_form_error
from diagnose.policy.model import Condition, Effect, Policy, PolicyError, PolicyKind, PrincipalSet, Statement

VERSIONS = ("2012-10-17", "2008-10-17")
_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_PRINCIPAL_KEYS = ("AWS", "Service", "Federated", "CanonicalUser")
_NEEDS_RESOURCE = (PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION)
_NEEDS_PRINCIPAL = (PolicyKind.RESOURCE, PolicyKind.KEY, PolicyKind.RCP)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _show(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


class _Parser:
    def __init__(self, origin: str, kind: PolicyKind) -> None:
        self.origin = origin
        self.kind = kind
        self.version: str | None = None

    def fail(self, path: str, message: str) -> NoReturn:
        raise PolicyError(self.origin, path, message)

    # ------------------------------------------------------------------ helpers

    def strings(self, value: object, path: str, what: str) -> tuple[str, ...]:
        """A string or a non-empty list of non-empty strings."""
        if isinstance(value, str):
            items: list[object] = [value]
        elif isinstance(value, list):
            if not value:
                self.fail(path, f"{what} must not be an empty list")
            items = value
        else:
            self.fail(path, f"{what} must be a string or a list of strings, not {_type_name(value)}")
        out: list[str] = []
        for i, item in enumerate(items):
            p = f"{path}[{i}]" if isinstance(value, list) else path
            if not isinstance(item, str):
                self.fail(p, f"{what} must be a string, not {_type_name(item)}")
            if not item:
                self.fail(p, f"{what} must not be empty")
            out.append(item)
        return tuple(out)

    # ------------------------------------------------------------------ document

    def document(self, doc: object) -> Policy:
        if not isinstance(doc, Mapping):
            self.fail("", f"a policy document must be a JSON object, not {_type_name(doc)}")
        for key in doc:
            if key not in _TOP_KEYS:
                self.fail(str(key), f"unknown top-level element {key!r} (expected Version, Id, Statement)")
        version = doc.get("Version")
        if version is not None and version not in VERSIONS:
            self.fail("Version", f"Version must be one of {', '.join(VERSIONS)}, not {_show(version)}")
        self.version = version if isinstance(version, str) else None
        pid = doc.get("Id")
        if pid is not None and not isinstance(pid, str):
            self.fail("Id", f"Id must be a string, not {_type_name(pid)}")
        if "Statement" not in doc:
            self.fail("Statement", "missing Statement")
        raw = doc["Statement"]
        statements: list[Statement] = []
        if isinstance(raw, Mapping):
            statements.append(self.statement(raw, 0, "Statement"))
        elif isinstance(raw, list):
            if not raw:
                self.fail("Statement", "Statement must not be empty")
            for i, item in enumerate(raw):
                statements.append(self.statement(item, i, f"Statement[{i}]"))
        else:
            self.fail("Statement", f"Statement must be an object or a list of objects, not {_type_name(raw)}")
        return Policy(
            origin=self.origin,
            kind=self.kind,
            statements=tuple(statements),
            version=self.version,
            id=pid,
        )

    # ------------------------------------------------------------------ statement

    def statement(self, st: object, index: int, path: str) -> Statement:
        if not isinstance(st, Mapping):
            self.fail(path, f"a statement must be an object, not {_type_name(st)}")
        for key in st:
            if key not in _STATEMENT_KEYS:
                self.fail(f"{path}.{key}", f"unknown statement element {key!r}")
        sid = st.get("Sid")
        if sid is not None and not isinstance(sid, str):
            self.fail(f"{path}.Sid", f"Sid must be a string, not {_type_name(sid)}")

        if "Effect" not in st:
            self.fail(f"{path}.Effect", "missing Effect")
        raw_effect = st["Effect"]
        if raw_effect not in ("Allow", "Deny"):
            self.fail(f"{path}.Effect", f'Effect must be exactly "Allow" or "Deny", not {_show(raw_effect)}')
        effect: Effect = "Allow" if raw_effect == "Allow" else "Deny"

        actions, not_actions = self.actions(st, path)
        resources, not_resources = self.resources(st, path)

        principal = not_principal = None
        has_p, has_np = "Principal" in st, "NotPrincipal" in st
        if (has_p or has_np) and not self.kind.has_principal:
            name = "Principal" if has_p else "NotPrincipal"
            self.fail(f"{path}.{name}", f"{name} is not allowed in a {self.kind.value} policy")
        if has_p and has_np:
            self.fail(path, "a statement cannot have both Principal and NotPrincipal")
        if has_p:
            principal = self.principal(st["Principal"], f"{path}.Principal")
        elif has_np:
            if effect == "Allow":
                self.fail(
                    f"{path}.NotPrincipal",
                    'NotPrincipal with "Allow" is rejected; use Principal "*" with an aws:PrincipalArn condition',
                )
            not_principal = self.principal(st["NotPrincipal"], f"{path}.NotPrincipal")
        elif self.kind in _NEEDS_PRINCIPAL:
            self.fail(f"{path}.Principal", f"missing Principal (required in a {self.kind.value} policy)")

        conditions = self.conditions(st.get("Condition"), f"{path}.Condition") if "Condition" in st else ()
        return Statement(
            index=index,
            sid=sid,
            effect=effect,
            actions=actions,
            not_actions=not_actions,
            resources=resources,
            not_resources=not_resources,
            principal=principal,
            not_principal=not_principal,
            conditions=conditions,
        )

    def actions(self, st: Mapping[str, object], path: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        has_a, has_na = "Action" in st, "NotAction" in st
        if has_a and has_na:
            self.fail(path, "a statement cannot have both Action and NotAction")
        if not has_a and not has_na:
            self.fail(f"{path}.Action", "missing Action or NotAction")
        name = "Action" if has_a else "NotAction"
        values = self.strings(st[name], f"{path}.{name}", name)
        for i, a in enumerate(values):
            if a == "*":
                continue
            service, sep, op = a.partition(":")
            if not sep or not service or not op:
                p = f"{path}.{name}[{i}]" if isinstance(st[name], list) else f"{path}.{name}"
                self.fail(p, f'{a!r} is not "*" or "service:Action"')
        return (values, None) if has_a else (None, values)

    def resources(self, st: Mapping[str, object], path: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        has_r, has_nr = "Resource" in st, "NotResource" in st
        if has_r and has_nr:
            self.fail(path, "a statement cannot have both Resource and NotResource")
        if not has_r and not has_nr:
            if self.kind in _NEEDS_RESOURCE:
                self.fail(
                    f"{path}.Resource",
                    f"missing Resource or NotResource (required in a {self.kind.value} policy)",
                )
            return None, None
        name = "Resource" if has_r else "NotResource"
        values = self.strings(st[name], f"{path}.{name}", name)
        for i, r in enumerate(values):
            if r != "*" and not r.startswith("arn:") and not r.startswith("${"):
                p = f"{path}.{name}[{i}]" if isinstance(st[name], list) else f"{path}.{name}"
                self.fail(p, f'{r!r} is not "*" or an ARN')
        return (values, None) if has_r else (None, values)

    def principal(self, value: object, path: str) -> PrincipalSet:
        if isinstance(value, str):
            if value != "*":
                self.fail(path, f'a Principal string must be "*", not {value!r} (use {{"AWS": ...}})')
            return PrincipalSet(wildcard=True)
        if not isinstance(value, Mapping):
            self.fail(path, f'Principal must be "*" or an object, not {_type_name(value)}')
        if not value:
            self.fail(path, "Principal must not be empty")
        fields: dict[str, tuple[str, ...]] = {}
        for key, raw in value.items():
            if key not in _PRINCIPAL_KEYS:
                self.fail(
                    f"{path}.{key}",
                    f"unknown principal type {key!r} (expected AWS, Service, Federated, CanonicalUser)",
                )
            fields[key] = self.strings(raw, f"{path}.{key}", key)
        aws = fields.get("AWS", ())
        for i, entry in enumerate(aws):
            err = principal_form_error(entry)
            if err is not None:
                self.fail(f"{path}.AWS[{i}]" if isinstance(value["AWS"], list) else f"{path}.AWS", err)
        for key in ("Service", "Federated", "CanonicalUser"):
            for i, entry in enumerate(fields.get(key, ())):
                if entry != "*" and ("*" in entry or "?" in entry):
                    p = f"{path}.{key}[{i}]" if isinstance(value[key], list) else f"{path}.{key}"
                    self.fail(p, f"wildcards cannot match part of a principal ({entry!r})")
        wildcard = "*" in aws
        return PrincipalSet(
            wildcard=wildcard,
            aws=tuple(a for a in aws if a != "*"),
            service=fields.get("Service", ()),
            federated=fields.get("Federated", ()),
            canonical_user=fields.get("CanonicalUser", ()),
        )

    def conditions(self, block: object, path: str) -> tuple[Condition, ...]:
        if not isinstance(block, Mapping):
            self.fail(path, f"Condition must be an object, not {_type_name(block)}")
        out: list[Condition] = []
        for operator, keys in block.items():
            op_path = f"{path}.{operator}"
            if not isinstance(operator, str):
                self.fail(op_path, "a condition operator must be a string")
            try:
                spec, qualifier, if_exists = parse_operator(operator)
            except ValueError as exc:
                self.fail(op_path, str(exc))
            if not isinstance(keys, Mapping):
                self.fail(
                    op_path,
                    f"the value of {operator} must be an object of condition keys, not {_type_name(keys)}",
                )
            for key, raw in keys.items():
                key_path = f"{op_path}.{key}"
                if not isinstance(key, str) or not key.strip():
                    self.fail(key_path, "a condition key must be a non-empty string")
                values = self.condition_values(raw, key_path)
                for i, v in enumerate(values):
                    err = value_error(spec, v)
                    if err is not None:
                        p = f"{key_path}[{i}]" if isinstance(raw, list) else key_path
                        self.fail(p, f"{err} (operator {spec.name})")
                base = spec.name
                out.append(
                    Condition(
                        operator=operator,
                        base=base,
                        qualifier=qualifier,
                        if_exists=if_exists,
                        key=key,
                        values=values,
                    )
                )
        return tuple(out)

    def condition_values(self, raw: object, path: str) -> tuple[str, ...]:
        items = raw if isinstance(raw, list) else [raw]
        if isinstance(raw, list) and not raw:
            self.fail(path, "condition values must not be an empty list")
        out: list[str] = []
        for i, item in enumerate(items):
            p = f"{path}[{i}]" if isinstance(raw, list) else path
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, bool):
                out.append("true" if item else "false")
            elif isinstance(item, (int, float)):
                out.append(json.dumps(item))
            else:
                self.fail(p, f"a condition value must be a string, number or boolean, not {_type_name(item)}")
        return tuple(out)


def parse_policy(document: str | Mapping[str, object], *, origin: str, kind: PolicyKind) -> Policy:
    """Parse and validate a policy document (JSON text or an already-decoded object).

    Raises ``PolicyError`` for anything AWS would reject; never any other exception.
    """
    parser = _Parser(origin, kind)
    doc: object = document
    if isinstance(document, (str, bytes, bytearray)):
        try:
            doc = json.loads(document, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise PolicyError(
                origin, "", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except (ValueError, RecursionError) as exc:
            raise PolicyError(origin, "", f"malformed JSON: {exc}") from None
    try:
        policy = parser.document(doc)
    except RecursionError:
        raise PolicyError(origin, "", "document nested too deeply") from None
    compiled_policy(policy)
    return policy
