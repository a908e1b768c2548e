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

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

_EXPORTS = {
    "augment": ("Augment",),
    "batches": ("Batches",),
    "config": ("DATASETS", "DataConfig", "DataError"),
    "loading": ("DataBundle", "DataInfo", "load_data"),
    "spec": ("DataSpec", "balanced_indices", "load_spec"),
}

__all__ = ["DATASETS", "Augment", "Batches", "DataBundle", "DataConfig", "DataError", "DataInfo",
           "DataSpec", "balanced_indices", "load_data", "load_spec"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .augment import Augment
    from .batches import Batches
    from .config import DATASETS, DataConfig, DataError
    from .loading import DataBundle, DataInfo, load_data
    from .spec import DataSpec, balanced_indices, load_spec
