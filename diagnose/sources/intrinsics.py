"""CloudFormation intrinsic functions, resolved as far as the template and the given values determine them.

What only a deployment knows (a value of another stack, an Availability Zone list, an attribute the resource
gets when created) raises ``Unknown`` naming it, so the fact that depends on it is unknown — never guessed.
Physical names the template leaves to CloudFormation are stand-ins chosen by ``Names`` (the caller says so).

Semantics: AWS CloudFormation User Guide, "Intrinsic function reference" and "Pseudo parameters reference".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class Unknown(Exception):
    """A value the template does not determine; ``str()`` says which and why."""


class TemplateError(ValueError):
    """The template is malformed where it must not be; ``str()`` is one line naming the place."""


NO_VALUE = object()  # AWS::NoValue: the property is removed

_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass
class Scope:
    """What a template's expressions are resolved against."""

    parameters: Mapping[str, Any]  # resolved parameter values (missing: Unknown)
    pseudo: Mapping[str, Any]  # AWS::AccountId, AWS::Region, ... (missing: Unknown)
    mappings: Mapping[str, Any]
    ref: Callable[[str], Any]  # a resource's Ref value
    get_att: Callable[[str, str], Any]  # a resource's attribute
    import_value: Callable[[str], Any]  # Fn::ImportValue (another stack's export)
    conditions: Mapping[str, Any] = field(default_factory=dict)  # raw Conditions section
    _condition_values: dict[str, bool] = field(default_factory=dict)
    _resolving: set[str] = field(default_factory=set)

    def condition(self, name: str) -> bool:
        if name in self._condition_values:
            return self._condition_values[name]
        if name not in self.conditions:
            raise TemplateError(f"Conditions: {name!r} is not defined")
        if name in self._resolving:
            raise TemplateError(f"Conditions: {name!r} refers to itself")
        self._resolving.add(name)
        try:
            value = self.condition_value(self.conditions[name])
        finally:
            self._resolving.discard(name)
        self._condition_values[name] = value
        return value

    def condition_value(self, expr: Any) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            (fn, arg), *_ = expr.items()
            if fn == "Condition":
                return self.condition(str(arg))
            if fn == "Fn::Equals":
                left, right = _pair(arg, fn)
                return _text(resolve(left, self)) == _text(resolve(right, self))
            if fn == "Fn::Not":
                (inner,) = _list(arg, fn, 1)
                return not self.condition_value(inner)
            if fn == "Fn::And":
                return all(self.condition_value(e) for e in _list(arg, fn))
            if fn == "Fn::Or":
                return any(self.condition_value(e) for e in _list(arg, fn))
        raise TemplateError(f"condition {json.dumps(expr, default=str)[:80]} is not a condition function")


def _pair(arg: Any, fn: str) -> tuple[Any, Any]:
    items = _list(arg, fn, 2)
    return items[0], items[1]


def _list(arg: Any, fn: str, length: int | None = None) -> list[Any]:
    if not isinstance(arg, list) or (length is not None and len(arg) != length):
        want = f"a list of {length}" if length is not None else "a list"
        raise TemplateError(f"{fn} expects {want}")
    return arg


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    raise TemplateError(f"expected a string, got {type(value).__name__}")


def resolve(value: Any, scope: Scope) -> Any:
    """The value with every intrinsic function replaced by what it evaluates to (or ``Unknown``)."""
    if isinstance(value, list):
        items = [resolve(v, scope) for v in value]
        return [v for v in items if v is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (fn, arg), *_ = value.items()
        if fn == "Ref" or fn.startswith("Fn::"):
            return _function(fn, arg, scope)
    out = {k: resolve(v, scope) for k, v in value.items()}
    return {k: v for k, v in out.items() if v is not NO_VALUE}


def _function(fn: str, arg: Any, scope: Scope) -> Any:
    match fn:
        case "Ref":
            return _ref(str(arg), scope)
        case "Fn::GetAtt":
            if isinstance(arg, str):
                logical, _, attribute = arg.partition(".")
            else:
                logical, attribute = (_text(resolve(a, scope)) for a in _pair(arg, fn))
            return scope.get_att(logical, attribute)
        case "Fn::Sub":
            return _sub(arg, scope)
        case "Fn::Join":
            sep, items = _pair(arg, fn)
            parts = resolve(items, scope)
            return _text(sep).join(_text(p) for p in _list(parts, fn))
        case "Fn::Select":
            index, items = _pair(arg, fn)
            chosen = _list(resolve(items, scope), fn)
            i = int(_text(resolve(index, scope)))
            if not 0 <= i < len(chosen):
                raise TemplateError(f"Fn::Select index {i} is out of range")
            return chosen[i]
        case "Fn::Split":
            sep, text = _pair(arg, fn)
            return _text(resolve(text, scope)).split(_text(sep))
        case "Fn::If":
            cond, yes, no = _list(arg, fn, 3)
            return resolve(yes if scope.condition(_text(cond)) else no, scope)
        case "Fn::FindInMap":
            name, top, second = (_text(resolve(a, scope)) for a in _list(arg, fn)[:3])
            try:
                return resolve(scope.mappings[name][top][second], scope)
            except (KeyError, TypeError):
                raise TemplateError(f"Fn::FindInMap: {name}/{top}/{second} is not in Mappings") from None
        case "Fn::ImportValue":
            return scope.import_value(_text(resolve(arg, scope)))
        case "Fn::Base64":
            raise Unknown("Fn::Base64 (a value only user data needs)")
        case "Fn::GetAZs" | "Fn::Cidr":
            raise Unknown(f"{fn} (known only to a deployment)")
        case "Fn::ToJsonString":
            return json.dumps(resolve(arg, scope), separators=(",", ":"))
        case "Fn::Length":
            return len(_list(resolve(arg, scope), fn))
        case "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" | "Condition":
            return scope.condition_value({fn: arg})
        case _:
            raise Unknown(f"{fn} (an intrinsic function sqsdiag does not evaluate)")


def _ref(name: str, scope: Scope) -> Any:
    if name == "AWS::NoValue":
        return NO_VALUE
    if name.startswith("AWS::"):
        if name in scope.pseudo and scope.pseudo[name] is not None:
            return scope.pseudo[name]
        raise Unknown(f"{name} (give it: --account / --region)" if name in _GIVEN else f"{name}")
    if name in scope.parameters:
        value = scope.parameters[name]
        if value is None:
            raise Unknown(f"parameter {name} (no default: give --template-parameter {name}=...)")
        return value
    return scope.ref(name)


_GIVEN = {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix"}


def _sub(arg: Any, scope: Scope) -> str:
    if isinstance(arg, list):
        template, variables = _pair(arg, "Fn::Sub")
        if not isinstance(variables, dict):
            raise TemplateError("Fn::Sub expects a map of variables")
    else:
        template, variables = arg, {}
    template = _text(template)

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"  # ${!Literal} is written as ${Literal}
        if name in variables:
            return _text(resolve(variables[name], scope))
        if "." in name and not name.startswith("AWS::"):
            logical, _, attribute = name.partition(".")
            return _text(scope.get_att(logical, attribute))
        return _text(_ref(name, scope))

    return _SUB_VAR.sub(one, template)
