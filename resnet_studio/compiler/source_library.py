"""Our own classes and functions that a generated ``model.py`` defines, copied from their source.

A block's module class (``BasicBlock``, ``SqueezeExcitation``) is copied verbatim with
``inspect.getsource``. Whatever that source refers to at module level is followed: our own
helpers are copied too, torch objects under another name (``F``) become one assignment from
``torch``, plain constants are written out. Anything else cannot travel with only torch
installed, and is reported by name instead of producing a file that fails on import.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import symtable
import textwrap
from typing import Any

import torch
from torch import nn

from .source_render import SourceError, flat, is_torch, literal, torch_name

_IMPORTED = {"torch": torch, "nn": nn}


class Library:
    """The objects collected so far, by the name generated source gives them."""

    def __init__(self) -> None:
        self._objects: dict[str, Any] = {}
        self._sources: dict[str, str] = {}
        self._uses: dict[str, list[str]] = {}
        self._aliases: dict[str, str] = {}

    def add(self, obj: Any) -> str:
        """Include ``obj`` and everything its source uses; returns the name it is defined by."""
        name = getattr(obj, "__name__", "")
        known = self._objects.get(name)
        if known is obj:
            return name
        if known is not None or name in self._aliases:
            raise SourceError(f"two different definitions are both called {name} "
                              f"({_where(known) if known else 'an alias'} and {_where(obj)}); "
                              "rename one of them")
        self._objects[name] = obj
        self._sources[name] = _source_of(obj)
        self._uses[name] = []
        for used in _free_globals(self._sources[name], _where(obj)):
            if self._link(obj, used):
                self._uses[name].append(used)
        return name

    def names(self) -> set[str]:
        return set(self._objects) | set(self._aliases)

    def aliases(self) -> list[str]:
        """``F = torch.nn.functional``-style lines, for names the copied source relies on."""
        return [f"{name} = {value}" for name, value in self._aliases.items()]

    def sources(self) -> list[str]:
        """Each object's source, every one after the objects it uses (base classes first)."""
        ordered: list[str] = []
        for name in self._objects:
            self._visit(name, ordered, set())
        return [self._sources[name] for name in ordered]

    def _visit(self, name: str, ordered: list[str], active: set[str]) -> None:
        if name in ordered or name in active:  # a cycle through method bodies is harmless
            return
        active.add(name)
        for used in self._uses[name]:
            self._visit(used, ordered, active)
        ordered.append(name)

    def _link(self, owner: Any, name: str) -> bool:
        """Make ``name`` (used by ``owner``'s source) defined; True when it is a library object."""
        scope = vars(inspect.getmodule(owner)) if inspect.getmodule(owner) else {}
        if name == owner.__name__ or (name in _IMPORTED and scope.get(name, _IMPORTED[name])
                                      is _IMPORTED[name]):
            return False
        if name not in scope:
            if hasattr(builtins, name):
                return False
            raise SourceError(f"{_where(owner)} uses ‘{name}’, which its module does not define")
        value = scope[name]
        if is_torch(value):
            self._alias(name, torch_name(value), owner)
            return False
        if inspect.isclass(value) or inspect.isfunction(value):
            if value.__name__ != name:
                raise SourceError(f"{_where(owner)} refers to {_where(value)} as ‘{name}’; "
                                  "use its own name so the copied source stays valid")
            self.add(value)
            return True
        if _is_constant(value):
            self._alias(name, flat(literal(value, _no_calls)), owner)
            return False
        raise SourceError(f"{_where(owner)} uses ‘{name}’ ({type(value).__name__}), which cannot "
                          "be written into a file that imports only torch")

    def _alias(self, name: str, value: str, owner: Any) -> None:
        if self._aliases.get(name, value) != value or name in self._objects:
            raise SourceError(f"{_where(owner)} gives ‘{name}’ a different meaning from other "
                              "copied code; rename it")
        self._aliases[name] = value


def _source_of(obj: Any) -> str:
    try:
        source = textwrap.dedent(inspect.getsource(obj)).rstrip()
    except (OSError, TypeError) as exc:
        raise SourceError(f"the source of {_where(obj)} is not available ({exc})") from None
    # inspect reads the file as it is now; if it was edited since it was imported, the lines
    # found may belong to something else.
    if _defined_names(source) != [obj.__name__]:
        raise SourceError(f"the source file of {_where(obj)} has changed since it was loaded; "
                          "restart ResNet Studio")
    return source


def _defined_names(source: str) -> list[str]:
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return []
    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return [n.name for n in body if isinstance(n, kinds)]


def _free_globals(source: str, where: str) -> list[str]:
    """Module-level names that ``source`` reads without defining them, in order of use."""
    try:
        table = symtable.symtable(source, where, "exec")
    except SyntaxError as exc:
        raise SourceError(f"the source of {where} does not parse on its own ({exc})") from None
    found: dict[str, None] = {}
    _collect(table, found)
    return list(found)


def _collect(table: symtable.SymbolTable, found: dict[str, None]) -> None:
    top = table.get_type() == "module"
    for symbol in table.get_symbols():
        if not symbol.is_referenced():
            continue
        if top:  # names the copied text reads at its own top level without binding them
            free = not (symbol.is_assigned() or symbol.is_imported())
        else:  # names a class or function body looks up in the module
            free = symbol.is_global()
        if free:
            found.setdefault(symbol.get_name())
    for child in table.get_children():
        _collect(child, found)


def _is_constant(value: Any) -> bool:
    if isinstance(value, (tuple, frozenset)):
        return isinstance(value, tuple) and all(_is_constant(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def _no_calls(call: Any) -> str:
    raise SourceError(f"a constructor call {call!r} cannot be a module-level constant")


def _where(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', obj)}"
