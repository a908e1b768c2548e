"""MNIST, Fashion-MNIST, CIFAR-10, CIFAR-100 and SVHN through torchvision.

Files are looked for where torchvision looks for them. Archives already on disk (MNIST's
``.gz`` files, CIFAR's ``.tar.gz``) are unpacked locally, so copying the published files into
place works offline. Only when files are missing and ``download`` is on does torchvision's own
download code run; otherwise the ``DataError`` lists the files and the folder they belong in.
Test splits serve as validation splits, as is customary for these sets.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torchvision import datasets
from torchvision.datasets.utils import extract_archive

from .config import DataConfig, DataError
from .source import Source, Split

_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class TorchvisionSet:
    """Where a torchvision dataset lives, what it needs, and its published statistics."""

    title: str
    cls: Callable[..., Any]
    files: tuple[str, ...]      # required, relative to folder()
    archive: str | None         # a local archive that holds them, relative to the root
    mean: tuple[float, ...]
    std: tuple[float, ...]
    flip: bool
    url: str

    @property
    def mnist_like(self) -> bool:
        return self.cls in (datasets.MNIST, datasets.FashionMNIST)

    def folder(self, root: str) -> str:
        if self.mnist_like:
            return os.path.join(root, self.cls.__name__, "raw")
        if self.cls in (datasets.CIFAR10, datasets.CIFAR100):
            return os.path.join(root, self.cls.base_folder)
        return root

    def missing(self, root: str) -> list[str]:
        folder = self.folder(root)
        return [f for f in self.files if not os.path.isfile(os.path.join(folder, f))]


def _cifar_files(cls: Any) -> tuple[str, ...]:
    return tuple(name for name, _ in cls.train_list + cls.test_list) + (cls.meta["filename"],)


# Channel statistics of the training splits, as published and widely used.
SETS: dict[str, TorchvisionSet] = {
    "mnist": TorchvisionSet(
        "MNIST", datasets.MNIST, _MNIST_FILES, None, (0.1307,), (0.3081,), False,
        "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "fashion_mnist": TorchvisionSet(
        "Fashion-MNIST", datasets.FashionMNIST, _MNIST_FILES, None, (0.2860,), (0.3530,), True,
        "https://github.com/zalandoresearch/fashion-mnist"),
    "cifar10": TorchvisionSet(
        "CIFAR-10", datasets.CIFAR10, _cifar_files(datasets.CIFAR10), datasets.CIFAR10.filename,
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), True, datasets.CIFAR10.url),
    "cifar100": TorchvisionSet(
        "CIFAR-100", datasets.CIFAR100, _cifar_files(datasets.CIFAR100),
        datasets.CIFAR100.filename, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), True,
        datasets.CIFAR100.url),
    "svhn": TorchvisionSet(
        "SVHN", datasets.SVHN, ("train_32x32.mat", "test_32x32.mat"), None,
        (0.4377, 0.4438, 0.4728), (0.1980, 0.2010, 0.1970), False,
        "http://ufldl.stanford.edu/housenumbers/"),
}


def load_torchvision(cfg: DataConfig) -> Source:
    """Load both splits of a torchvision dataset into uint8 tensors (on the CPU)."""
    spec = SETS[cfg.dataset]
    cfg = cfg.replace(root=os.path.expanduser(cfg.root))
    if spec.cls is datasets.SVHN and importlib.util.find_spec("scipy") is None:
        raise DataError("SVHN is stored as MATLAB .mat files, which need scipy: "
                        "pip install scipy")
    _unpack_local_archives(spec, cfg.root)
    missing = spec.missing(cfg.root)
    if missing and not cfg.download:
        raise DataError(_not_found_message(spec, cfg.root, missing))
    train, names = _open(spec, cfg, train=True)
    val, _ = _open(spec, cfg, train=False)
    shape = tuple(train.images.shape[1:])
    return Source(spec.title, train, val, names, shape, spec.mean, spec.std, spec.flip)


def _not_found_message(spec: TorchvisionSet, root: str, missing: list[str]) -> str:
    folder = spec.folder(root)
    wanted = ", ".join(f + ".gz" if spec.mnist_like else f for f in missing)
    where = f"put {wanted} there"
    if spec.archive:
        where = (f"put {spec.archive} into {root} (it is unpacked there) or its unpacked "
                 f"files {', '.join(missing)} into {folder}")
    return (f"{spec.title} not found under {folder}: {where} (from {spec.url}), "
            "or pass --download (download: true) to fetch it")


def _unpack_local_archives(spec: TorchvisionSet, root: str) -> None:
    """Unpack archives that are already on disk, so a manual copy of them just works."""
    folder = spec.folder(root)
    try:
        if spec.mnist_like:
            for name in spec.missing(root):
                packed = os.path.join(folder, name + ".gz")
                if os.path.isfile(packed):
                    _gunzip(packed, os.path.join(folder, name))
        elif spec.archive and spec.missing(root):
            packed = os.path.join(root, spec.archive)
            if os.path.isfile(packed):
                extract_archive(packed, root)
    except (OSError, EOFError, ValueError, tarfile.TarError) as exc:
        raise DataError(f"cannot unpack the {spec.title} archive in {folder}: {exc}; "
                        "replace it with an intact copy") from exc


def _gunzip(packed: str, target: str) -> None:
    """Decompress next to the target and rename, so a broken archive leaves no partial file."""
    partial = target + ".partial"
    try:
        with gzip.open(packed, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _open(spec: TorchvisionSet, cfg: DataConfig, *, train: bool) -> tuple[Split, list[str]]:
    split = {"split": "train" if train else "test"} if spec.cls is datasets.SVHN else \
        {"train": train}
    try:
        ds = spec.cls(cfg.root, download=cfg.download, **split)
    except (OSError, RuntimeError, ValueError, EOFError) as exc:
        raise DataError(_open_failed_message(spec, cfg, exc)) from exc
    images, labels = _as_tensors(ds)
    names = list(getattr(ds, "classes", [str(i) for i in range(10)]))
    return Split(labels=labels, images=images), names


def _open_failed_message(spec: TorchvisionSet, cfg: DataConfig, exc: Exception) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    folder = spec.folder(cfg.root)
    if cfg.download and spec.missing(cfg.root):
        return (f"downloading {spec.title} into {folder} failed ({reason}); check the network "
                f"connection, or fetch the files from {spec.url} and put them there by hand")
    return (f"cannot read {spec.title} from {folder} ({reason}); the files may be truncated "
            "or corrupted — delete them and fetch them again (--download)")


def _as_tensors(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 N×C×H×W images and int64 labels from the dataset's in-memory arrays."""
    if isinstance(ds, datasets.MNIST):  # FashionMNIST too: N×H×W uint8 tensors
        return ds.data.unsqueeze(1).contiguous(), ds.targets.long()
    if isinstance(ds, datasets.SVHN):  # already N×C×H×W
        return torch.from_numpy(np.ascontiguousarray(ds.data)), torch.from_numpy(ds.labels).long()
    images = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).contiguous()
    return images, torch.as_tensor(ds.targets, dtype=torch.int64)
