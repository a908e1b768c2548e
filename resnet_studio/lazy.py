"""Package attributes loaded on first use (PEP 562).

Several packages re-export names whose modules import torch or torchvision; loading them
lazily keeps ``--help``, settings panels and the document layer free of that cost.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, tuple[str, ...]], namespace: dict[str, Any]
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each submodule to the
    names it provides; a name is imported from its submodule on first access and then cached
    in ``namespace`` (the package's globals)."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__


class LazyModule:
    """A module imported on first attribute access: ``nn = LazyModule("torch.nn")`` lets a
    module name ``nn.Conv2d`` inside functions without importing torch when it is itself
    imported (the block catalogue is read by the editor long before anything is built)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
