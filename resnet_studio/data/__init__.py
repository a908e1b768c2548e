"""Datasets for training: the built-in synthetic set, torchvision sets and image folders,
served as device-resident batches with batched tensor augmentation.

Typical use::

    bundle = load_data(DataConfig(dataset="synthetic"), batch_size=128, device="cuda")
    for x, y in bundle.train.epoch(epoch):
        ...
"""

from .augment import Augment
from .batches import Batches
from .config import DATASETS, DataConfig, DataError
from .loading import DataBundle, DataInfo, load_data

__all__ = ["DATASETS", "Augment", "Batches", "DataBundle", "DataConfig", "DataError", "DataInfo",
           "load_data"]
