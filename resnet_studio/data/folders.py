"""Image folders in torchvision's ImageFolder layout: ``ROOT/<class>/<image>``.

Validation comes from ``val_folder`` (same layout), from ``ROOT/train`` + ``ROOT/val`` when the
folder holds exactly those two, or else from a stratified ``val_fraction`` of every class.
Images are resized (shorter side) and centre-cropped to ``image_size`` squares in the configured
number of channels. Sets whose decoded pixels fit under the memory limit are decoded once into
uint8 tensors; larger ones keep file lists and are decoded batch by batch (see ``stream.py``).
Horizontal flips are off unless ``flip`` turns them on: a folder may hold digits or text.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor
from torchvision.datasets.folder import IMG_EXTENSIONS

from .augment import derive_seed, make_generator
from .config import DataConfig, DataError
from .fit import describe
from .images import ImageTooLargeError, open_image
from .source import Source, Split, channel_stats

_SPLIT_STREAM = 21
_STATS_SAMPLE = 512  # images decoded to estimate the statistics of a streamed folder


def scan_folder(folder: str, class_names: list[str] | None = None) -> tuple[list[str], list[str],
                                                                            list[int]]:
    """Class names, image paths and labels of an ImageFolder tree, sorted for determinism.

    With ``class_names`` given (validation folders) every class must be one of them.
    """
    if not os.path.isdir(folder):
        raise DataError(f"image folder {folder} does not exist or is not a folder")
    classes = _subdirs(folder)
    if not classes:
        raise DataError(f"image folder {folder} has no class sub-folders: put each class's "
                        "images in a sub-folder named after the class, e.g. "
                        f"{os.path.join(folder, 'cat', '001.png')}")
    names = class_names if class_names is not None else classes
    unknown = sorted(set(classes) - set(names))
    if unknown:
        raise DataError(f"validation folder {folder} has classes the training folder lacks: "
                        f"{', '.join(unknown)}")
    paths, labels = [], []
    for cls in classes:
        files = _images_in(os.path.join(folder, cls))
        paths += files
        labels += [names.index(cls)] * len(files)
    return names, paths, labels


def _hidden(name: str) -> bool:
    return name.startswith(".")


def _subdirs(folder: str) -> list[str]:
    """Visible sub-folder names, sorted."""
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not _hidden(e.name))


def _images_in(class_dir: str) -> list[str]:
    files = sorted(os.path.join(root, f) for root, _, names in os.walk(class_dir)
                   for f in names if f.lower().endswith(IMG_EXTENSIONS) and not _hidden(f))
    if not files:
        raise DataError(f"class folder {class_dir} holds no images "
                        f"({', '.join(IMG_EXTENSIONS)}); add images or remove the folder")
    return files


def split_by_fraction(labels: list[int], fraction: float, seed: int,
                      class_names: list[str]) -> tuple[list[int], list[int]]:
    """Indices of a stratified train/validation split: ``fraction`` of every class (at least one
    image, never all of them) goes to validation, chosen by a generator seeded from ``seed``."""
    gen = make_generator(torch.device("cpu"), derive_seed(seed, _SPLIT_STREAM))
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    train, val = [], []
    for label in sorted(by_class):
        members = by_class[label]
        if len(members) < 2:
            raise DataError(f"class folder '{class_names[label]}' has a single image: splitting "
                            "off validation images needs at least two per class; add images "
                            "or give a separate val_folder")
        count = min(len(members) - 1, max(1, round(len(members) * fraction)))
        order = torch.randperm(len(members), generator=gen).tolist()
        val += [members[k] for k in order[:count]]
        train += [members[k] for k in order[count:]]
    return sorted(train), sorted(val)


def load_folder(cfg: DataConfig, shape: tuple[int, int, int] | None = None) -> tuple[Source, str]:
    """Scan, split and (if it fits the memory limit) decode an image folder dataset at
    ``shape`` (C, H, W; default ``cfg``'s channels and image size). Returns the source and a
    note comparing the first image with what it is decoded to."""
    root = os.path.expanduser(cfg.folder)
    train_dir, val_dir = _split_dirs(root, cfg.val_folder)
    names, paths, labels = scan_folder(train_dir)
    if val_dir is not None:
        _, val_paths, val_labels = scan_folder(val_dir, names)
        train_files, train_labels = paths, labels
    else:
        t, v = split_by_fraction(labels, cfg.val_fraction, cfg.seed, names)
        train_files, train_labels = [paths[i] for i in t], [labels[i] for i in t]
        val_paths, val_labels = [paths[i] for i in v], [labels[i] for i in v]
    shape = shape or (cfg.channels, cfg.image_size, cfg.image_size)
    in_memory = _fits_in_memory(cfg, len(paths) + len(val_paths), shape)
    train = _split(train_files, train_labels, shape, in_memory)
    val = _split(val_paths, val_labels, shape, in_memory)
    sample = train.images if in_memory else _sample_images(train.files, shape)
    mean, std = channel_stats(sample)
    name = os.path.basename(os.path.normpath(root)) or root
    note = describe(native_shape(paths[0]), shape)
    return Source(name, train, val, names, shape, mean, std, flip=False), note


def native_shape(path: str) -> tuple[int, int, int]:
    """C×H×W of an image file as stored (grey modes count as one channel)."""
    try:
        with open_image(path) as img:
            channels = 1 if img.mode in ("1", "L", "LA", "I", "I;16", "F") else 3
            return channels, img.height, img.width
    except ImageTooLargeError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read image {path} ({exc}); replace or remove the file") from exc


def _split_dirs(root: str, val_folder: str | None) -> tuple[str, str | None]:
    """The training folder and the validation folder, if there is one."""
    if val_folder is not None:
        return root, os.path.expanduser(val_folder)
    if os.path.isdir(root):
        subdirs = _subdirs(root)
        if subdirs == ["train", "val"] and all(_subdirs(os.path.join(root, d)) for d in subdirs):
            return os.path.join(root, "train"), os.path.join(root, "val")
    return root, None


def _fits_in_memory(cfg: DataConfig, count: int, shape: tuple[int, int, int]) -> bool:
    if cfg.in_memory is not None:
        return cfg.in_memory
    return count * shape[0] * shape[1] * shape[2] < cfg.memory_limit_gib * 2**30


def _split(files: list[str], labels: list[int], shape: tuple[int, int, int],
           in_memory: bool) -> Split:
    label_tensor = torch.tensor(labels, dtype=torch.int64)
    if not in_memory:
        return Split(labels=label_tensor, files=list(files))
    return Split(labels=label_tensor, images=decode_many(files, shape), files=list(files))


def decode_many(files: list[str], shape: tuple[int, int, int],
                threads: int | None = None) -> Tensor:
    """Decode ``files`` into one uint8 N×C×H×W tensor, a few threads at a time (PIL releases
    the GIL while decoding)."""
    out = torch.empty((len(files), *shape), dtype=torch.uint8)
    threads = threads or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(threads) as pool:
        for i, image in enumerate(pool.map(lambda f: decode_image(f, shape), files)):
            out[i] = image
    return out


def decode_image(path: str, shape: tuple[int, int, int]) -> Tensor:
    """One image as a uint8 C×H×W tensor: shorter side resized, centre-cropped, converted to
    grey (``L``) or ``RGB``."""
    channels, height, width = shape
    try:
        with open_image(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            img = ImageOps.fit(img, (width, height), Image.Resampling.BILINEAR)
            pixels = np.array(img, dtype=np.uint8)  # a writable copy
    except ImageTooLargeError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot read image {path} ({exc}); replace or remove the file") from exc
    array = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


def _sample_images(files: list[str], shape: tuple[int, int, int]) -> Tensor:
    step = max(1, len(files) // _STATS_SAMPLE)
    return decode_many(files[::step][:_STATS_SAMPLE], shape)
