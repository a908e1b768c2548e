"""Python expressions for generated source: literals, constructor calls, torch names, layout.

A value is first turned into a small layout tree (a plain string, or a bracketed group of
items) and only then into text, so that a long nested constructor (a stage of residual blocks)
can be broken across lines one argument per line, the way a person formats it by hand.
"""

from __future__ import annotations

import inspect
import keyword
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..blocks import Call

LINE_LENGTH = 100
INDENT = "    "


class SourceError(ValueError):
    """The network cannot be written as standalone source; the message names the culprit."""


@dataclass
class ClassRef:
    """A generated class whose final name is chosen after every class is known."""

    base: str
    name: str = ""


@dataclass
class Group:
    """``open item, item, … close``; ``prefix`` strings such as ``"stride="`` lead items."""

    open: str
    items: list[tuple[str, Any]] = field(default_factory=list)
    close: str = ")"
    lone_comma: bool = False  # a one-element tuple keeps its comma: ``(7,)``
    call: bool = False


Doc = Any  # str | ClassRef | Group


# ----- text ------------------------------------------------------------------------------------
def flat(doc: Doc) -> str:
    """The expression on one line."""
    if isinstance(doc, ClassRef):
        return doc.name
    if isinstance(doc, str):
        return doc
    inner = ", ".join(prefix + flat(item) for prefix, item in doc.items)
    comma = "," if doc.lone_comma and len(doc.items) == 1 else ""
    return f"{_head(doc.open)}{inner}{comma}{doc.close}"


def layout(doc: Doc, indent: str, prefix: str = "", suffix: str = "") -> list[str]:
    """``indent + prefix + expression + suffix`` as lines no longer than LINE_LENGTH where
    possible: a group that does not fit puts each item on its own line."""
    line = f"{indent}{prefix}{flat(doc)}{suffix}"
    if not isinstance(doc, Group) or not doc.items:
        return [line]
    if len(line) <= LINE_LENGTH and not _lists_calls(doc):
        return [line]
    lines = [f"{indent}{prefix}{_head(doc.open)}"]
    for item_prefix, item in doc.items:
        lines += layout(item, indent + INDENT, item_prefix, ",")
    lines.append(f"{indent}{doc.close}{suffix}")
    return lines


def _lists_calls(doc: Group) -> bool:
    """A constructor of several constructors (a stage's blocks) reads best one per line."""
    return sum(isinstance(item, Group) and item.call for _, item in doc.items) > 1


def _head(open_: Any) -> str:
    return open_.name + "(" if isinstance(open_, ClassRef) else open_


# ----- values ----------------------------------------------------------------------------------
def literal(value: Any, call: Callable[[Call], Doc]) -> Doc:
    """A value as source; ``call`` renders the nested constructor calls."""
    if isinstance(value, Call):
        return call(value)
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f'float("{value}")'
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, (tuple, list)):
        items = [("", literal(v, call)) for v in value]
        if isinstance(value, list):
            return Group("[", items, "]")
        return Group("(", items, ")", lone_comma=True)
    if isinstance(value, dict):
        return Group("{", [(f"{string_literal(str(k))}: ", literal(v, call))
                           for k, v in value.items()], "}")
    raise SourceError(f"the value {value!r} ({type(value).__name__}) cannot be written as source")


def string_literal(text: str) -> str:
    """Double-quoted like hand-written code, falling back to repr for awkward text."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return repr(text)


def call_doc(call: Call, head: Doc, nested: Callable[[Call], Doc]) -> Group:
    """``head(args…, name=value…)``; keyword arguments equal to the target's default are left
    out, as a person writes ``nn.BatchNorm2d(64)`` rather than spelling out eps and momentum."""
    defaults = _defaults(call.target)
    items = [("", literal(a, nested)) for a in call.args]
    for name, value in call.kwargs.items():
        if name in defaults and _same(defaults[name], value):
            continue
        items.append((f"{name}=", literal(value, nested)))
    open_ = head if isinstance(head, ClassRef) else f"{head}("
    return Group(open_, items, ")", call=True)


def _defaults(target: Any) -> dict[str, Any]:
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature keep every argument
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


def _same(default: Any, value: Any) -> bool:
    # 1 == True and 1 == 1.0 in Python, but they are different arguments to a constructor.
    return type(default) is type(value) and default == value


# ----- names -----------------------------------------------------------------------------------
def is_torch(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or getattr(obj, "__name__", "")
    return module == "torch" or module.startswith("torch.")


def torch_name(obj: Any) -> str:
    """How generated source spells a torch object with only ``torch`` and ``nn`` imported:
    ``nn.Conv2d``, ``torch.flatten``, or the full dotted path as a last resort."""
    if obj is torch:
        return "torch"
    if obj is nn:
        return "nn"
    name = getattr(obj, "__name__", "")
    if inspect.ismodule(obj):
        path = name
    else:
        if name and getattr(nn, name, None) is obj:
            return f"nn.{name}"
        if name and getattr(torch, name, None) is obj:
            return f"torch.{name}"
        path = f"{obj.__module__}.{getattr(obj, '__qualname__', name)}"
    if _resolve(path) is not obj:
        raise SourceError(f"{path} cannot be reached from `import torch`")
    return path


def _resolve(path: str) -> Any:
    parts = path.split(".")
    if parts[0] != "torch":
        return None
    value: Any = torch
    for part in parts[1:]:
        value = getattr(value, part, None)
    return value


def is_identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def camel_case(name: str) -> str:
    """``"conv bn relu"`` → ``ConvBnRelu``; capitals already inside words are kept
    (``"SE block"`` → ``SEBlock``)."""
    words = "".join(c if c.isascii() and c.isalnum() else " " for c in name).split()
    text = "".join(w[0].upper() + w[1:] for w in words)
    if not text or not text[0].isalpha():
        text = "Block" + text
    return text
