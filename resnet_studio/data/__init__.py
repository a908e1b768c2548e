"""Datasets for training: the built-in synthetic set, torchvision sets and image folders,
served as device-resident batches with batched tensor augmentation.

Typical use::

    bundle = load_data(DataConfig(dataset="synthetic"), batch_size=128, device="cuda")
    for x, y in bundle.train.epoch(epoch):
        ...

The names below load on first use (PEP 562): the configuration (``DataConfig``,
``DATASETS``, ``DataError``) needs neither torch nor torchvision, so settings panels and
``--help`` can use it without paying for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "augment": ("Augment",),
    "batches": ("Batches",),
    "config": ("DATASETS", "DataConfig", "DataError"),
    "loading": ("DataBundle", "DataInfo", "load_data"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = ["DATASETS", "Augment", "Batches", "DataBundle", "DataConfig", "DataError", "DataInfo",
           "load_data"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .augment import Augment
    from .batches import Batches
    from .config import DATASETS, DataConfig, DataError
    from .loading import DataBundle, DataInfo, load_data
