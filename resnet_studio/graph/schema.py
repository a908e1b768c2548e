"""Block schemas: the ports and parameters a block type declares.

The document validates nodes against these schemas without knowing how a block becomes a
PyTorch module; `resnet_studio.blocks` supplies the schemas together with their builders.

A parameter value is either a literal or a reference ``"$name"`` to a parameter of the
enclosing scope: a custom block's own parameters inside its definition, or the project's
input specification (``$classes``, ``$channels``, ``$height``, ``$width``) at the top level.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import ParameterError
from .text import shown

PARAM_KINDS = ("int", "float", "bool", "choice")
_REF = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)$")

# Port kinds: a feature map is C×H×W per sample, features a flat vector; "any" accepts both.


def is_param_name(name: Any) -> bool:
    """True when ``name`` can be referred to as ``"$name"``."""
    return isinstance(name, str) and _REF.fullmatch("$" + name) is not None


def reference_name(value: Any) -> str | None:
    """The referenced parameter name if ``value`` is a ``"$name"`` reference, else None."""
    if isinstance(value, str):
        match = _REF.fullmatch(value)
        if match:
            return match.group(1)
    return None


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its type, default, bounds and help text.

    ``choices`` lists the allowed values of a ``choice`` parameter, or extra string values an
    ``int`` parameter also accepts (Conv2d padding accepts ``"same"``).
    """

    name: str
    kind: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in PARAM_KINDS:
            raise ValueError(f"parameter {self.name}: unknown kind {self.kind!r}")

    def bounds_text(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        low = "−∞" if self.minimum is None else _fmt(self.minimum)
        high = "∞" if self.maximum is None else _fmt(self.maximum)
        text = f"{'an integer' if self.kind == 'int' else 'a number'} from {low} to {high}"
        if self.choices:
            text += " or " + ", ".join(repr(c) for c in self.choices)
        return text

    def validate(self, value: Any, where: str) -> Any:
        """Return ``value`` normalised to this parameter's type, or raise ParameterError."""
        if reference_name(value) is not None:
            return value
        checker = getattr(self, f"_check_{self.kind}")
        result = checker(value)
        if result is _BAD:
            raise ParameterError(
                where, self.name, f"{shown(value)} is not allowed; expected {self.bounds_text()}."
            )
        return result

    def _check_int(self, value: Any) -> Any:
        if isinstance(value, str) and value in self.choices:
            return value
        if isinstance(value, bool):
            return _BAD
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            return _BAD
        return value if self._in_bounds(value) else _BAD

    def _check_float(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _BAD
        try:
            value = float(value)
        except OverflowError:  # an integer too large for a float
            return _BAD
        if not math.isfinite(value):
            return _BAD
        return value if self._in_bounds(value) else _BAD

    def _check_bool(self, value: Any) -> Any:
        return value if isinstance(value, bool) else _BAD

    def _check_choice(self, value: Any) -> Any:
        # ``True == 1`` and ``1.0 == 1`` in Python; a choice must also match in kind, and the
        # stored value is the declared choice itself so that files round-trip exactly.
        for choice in self.choices:
            if _same_kind(value, choice) and value == choice:
                return choice
        return _BAD

    def _in_bounds(self, value: float) -> bool:
        if self.minimum is not None and value < self.minimum:
            return False
        return self.maximum is None or value <= self.maximum

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "default": self.default}
        for key in ("minimum", "maximum"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.choices:
            data["choices"] = list(self.choices)
        if self.help:
            data["help"] = self.help
        return data


_BAD = object()


def _same_kind(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and isinstance(a, str) == isinstance(b, str)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


@dataclass(frozen=True)
class PortSpec:
    """An input or output port. A ``multi`` input accepts several edges (Add, Concat)."""

    name: str
    kind: str = "any"
    multi: bool = False
    help: str = ""


@dataclass(frozen=True)
class BlockSpec:
    """What the document needs to know of a block type."""

    type_id: str
    title: str
    category: str
    description: str = ""
    inputs: tuple[PortSpec, ...] = (PortSpec("in"),)
    outputs: tuple[PortSpec, ...] = (PortSpec("out"),)
    params: tuple[ParamSpec, ...] = ()
    composite: bool = False
    key_params: tuple[str, ...] = field(default=())

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def input(self, name: str) -> PortSpec | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> PortSpec | None:
        return next((p for p in self.outputs if p.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate_params(self, values: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Fill defaults and validate ``values``; unknown names are errors."""
        unknown = [name for name in values if self.param(name) is None]
        if unknown:
            known = ", ".join(p.name for p in self.params) or "none"
            raise ParameterError(
                where, unknown[0], f"{self.title} has no such parameter (it has: {known})."
            )
        result = self.defaults()
        for spec in self.params:
            if spec.name in values:
                result[spec.name] = spec.validate(values[spec.name], where)
        return result


class SpecLookup(Protocol):
    """Anything that maps a type id to its BlockSpec (the block catalogue does)."""

    def spec(self, type_id: str) -> BlockSpec | None: ...


def resolve_params(
    params: Mapping[str, Any], env: Mapping[str, Any], spec: BlockSpec, where: str
) -> dict[str, Any]:
    """Replace ``"$name"`` references by their values from ``env`` and validate the result."""
    resolved: dict[str, Any] = {}
    for name, value in params.items():
        ref = reference_name(value)
        if ref is not None:
            if ref not in env:
                scope = ", ".join(f"${k}" for k in env) or "none"
                raise ParameterError(
                    where, name, f"refers to ${ref}, which is not defined here (defined: {scope})."
                )
            value = env[ref]
        resolved[name] = value
    return spec.validate_params(resolved, where)
