"""``preview.npz``: the latest ``PreviewRecord`` of a dense run, kept in its run directory.

One compressed NumPy archive, written atomically (a reader sees the old preview or the new one)
and read without pickle: every field is a plain array. A record's per-image box lists have
different lengths, so each list is kept as one concatenated array plus a count per image
(``box_counts``, ``true_counts``). Reading checks every shape against the others, so that a
damaged or foreign file is refused with one line naming it instead of drawing nonsense.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..files import write_atomic
from .records import PreviewRecord
from .rundir import RunReadError

PREVIEW = "preview.npz"
PREVIEW_VERSION = 1
MAX_PREVIEW_BYTES = 256 * 2 ** 20
TASKS = ("detection", "segmentation")


def write_preview(path: str | Path, record: PreviewRecord) -> None:
    """Write ``record`` to ``path`` (compressed, atomic, no pickled objects)."""
    arrays: dict[str, np.ndarray] = {
        "version": np.int64(PREVIEW_VERSION), "epoch": np.int64(record.epoch),
        "step": np.int64(record.step), "task": np.str_(record.task),
        "class_names": np.array(record.class_names, dtype=np.str_),
        "images": np.asarray(record.images, np.uint8)}
    if record.boxes or record.true_boxes:
        arrays.update(_ragged("pred", record.boxes, record.labels, record.scores))
        arrays.update(_ragged("true", record.true_boxes, record.true_labels, None))
    for name in ("masks", "true_masks"):
        value = getattr(record, name)
        if value is not None:
            arrays[name] = np.asarray(value, np.uint8)
    write_atomic(path, lambda handle: np.savez_compressed(handle, **arrays))


def _ragged(prefix: str, boxes, labels, scores) -> dict[str, np.ndarray]:
    """Per-image lists as one array each, and the count per image."""
    counts = np.array([len(b) for b in boxes], np.int64)
    out = {f"{prefix}_counts": counts,
           f"{prefix}_boxes": _concat(boxes, (0, 4), np.float32),
           f"{prefix}_labels": _concat(labels, (0,), np.int64)}
    if scores is not None:
        out[f"{prefix}_scores"] = _concat(scores, (0,), np.float32)
    return out


def _concat(parts, empty: tuple[int, ...], dtype) -> np.ndarray:
    arrays = [np.asarray(p, dtype).reshape((-1, *empty[1:])) for p in parts]
    return np.concatenate(arrays) if arrays else np.zeros(empty, dtype)


def read_preview(path: str | Path) -> PreviewRecord | None:
    """The preview kept at ``path``; None when there is none. A damaged file raises
    RunReadError with one line naming it."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        if not path.is_file():
            raise ValueError("not a regular file")
        if path.stat().st_size > MAX_PREVIEW_BYTES:
            raise ValueError(f"larger than {MAX_PREVIEW_BYTES // 2 ** 20} MiB")
        # An open handle of our own: np.load leaks the one it opens when the zip is torn.
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            return _record({name: archive[name] for name in archive.files})
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError,
            zipfile.BadZipFile, zlib.error) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RunReadError(f"{path}: damaged preview file ({reason}); it is left out.") \
            from None


def _record(a: dict[str, np.ndarray]) -> PreviewRecord:
    if int(a["version"]) != PREVIEW_VERSION:
        raise ValueError(f"format version {int(a['version'])}, this version reads "
                         f"{PREVIEW_VERSION}")
    task = str(a["task"])
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}")
    images = _checked(a["images"], np.uint8, 4, "images")
    if images.shape[-1] != 3:
        raise ValueError(f"images are {images.shape}, not N×H×W×3")
    n = len(images)
    fields: dict[str, Any] = {}
    if "pred_counts" in a:
        fields.update(_split(a, "pred", ("boxes", "labels", "scores"), n))
        fields.update(_split(a, "true", ("true_boxes", "true_labels"), n))
    for name in ("masks", "true_masks"):
        if name in a:
            fields[name] = _checked(a[name], np.uint8, 3, name)
            if fields[name].shape != images.shape[:3]:
                raise ValueError(f"{name} are {fields[name].shape}, the images "
                                 f"{images.shape[:3]}")
    record = PreviewRecord(int(a["epoch"]), int(a["step"]), task, images,
                           tuple(str(s) for s in a["class_names"]), **fields)
    problem = preview_problem(record)
    if problem:
        raise ValueError(problem)
    return record


def preview_problem(r: PreviewRecord) -> str:
    """Why ``r`` cannot be drawn ("" when it can): the arrays of a task must agree with its
    images (N×H×W×3): N lists of M×4 boxes with M labels and M scores, or N×H×W masks."""
    images = np.asarray(r.images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        return f"images are {images.dtype} {images.shape}, not uint8 N×H×W×3"
    n = len(images)
    if r.task == "detection":
        return _boxes_problem(r, n)
    if r.task == "segmentation":
        for name in ("masks", "true_masks"):
            value = getattr(r, name)
            if value is None or np.shape(value) != images.shape[:3] or \
                    np.asarray(value).dtype != np.uint8:
                found = None if value is None else f"{np.asarray(value).dtype} {np.shape(value)}"
                return f"{name} are {found}, not uint8 {images.shape[:3]}"
        return ""
    return f"unknown task {r.task!r}"


def _boxes_problem(r: PreviewRecord, n: int) -> str:
    groups = (("boxes", "labels", "scores"), ("true_boxes", "true_labels"))
    for group in groups:
        lists = [getattr(r, name) for name in group]
        if any(len(v) != n for v in lists):
            return f"{'/'.join(group)} do not hold one entry per image ({n})"
        for i, parts in enumerate(zip(*lists)):
            m = len(parts[0])
            if np.shape(parts[0]) != (m, 4) or any(len(p) != m for p in parts[1:]):
                return f"{group[0]} of image {i + 1} are {np.shape(parts[0])}, with " \
                       f"{[len(p) for p in parts[1:]]} {'/'.join(group[1:])}"
    return ""


def _checked(value: np.ndarray, dtype, ndim: int, name: str) -> np.ndarray:
    if value.dtype != dtype or value.ndim != ndim:
        raise ValueError(f"{name} are {value.dtype} with {value.ndim} dimensions, not "
                         f"{np.dtype(dtype)} with {ndim}")
    return value


def _split(a: dict[str, np.ndarray], prefix: str, names: tuple[str, ...],
           n: int) -> dict[str, tuple[np.ndarray, ...]]:
    """The per-image lists of one concatenated group, checked against its counts."""
    counts = a[f"{prefix}_counts"]
    if counts.dtype != np.int64 or counts.shape != (n,) or (counts < 0).any():
        raise ValueError(f"{prefix}_counts do not give one count per image")
    ends = np.cumsum(counts)[:-1]
    out: dict[str, tuple[np.ndarray, ...]] = {}
    for name, suffix in zip(names, ("boxes", "labels", "scores")):
        flat = a[f"{prefix}_{suffix}"]
        if len(flat) != counts.sum() or (suffix == "boxes" and flat.shape[1:] != (4,)):
            raise ValueError(f"{prefix}_{suffix} hold {flat.shape}, the counts "
                             f"{int(counts.sum())} rows")
        out[name] = tuple(np.split(flat, ends)) if n else ()
    return out
