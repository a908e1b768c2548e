"""COCO-style detection folders: ``FOLDER/images/`` and an instances annotations JSON.

The JSON is the COCO "instances" format::

    {"images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}, ...],
     "annotations": [{"image_id": 1, "bbox": [x, y, w, h], "category_id": 3}, ...],
     "categories": [{"id": 3, "name": "cat"}, ...]}

It is found as ``FOLDER/annotations.json`` or the one ``.json`` file in ``FOLDER/annotations/``,
and read through the project's guarded JSON reader (size, nesting, UTF-8). Category ids map, in
increasing order, to contiguous labels 1…K (0 is the background). Crowd annotations
(``iscrowd: 1``) mark regions, not objects, and are left out, as torchvision's detection
reference does. Every image's file and header size are checked up front; a box may overshoot
its image by up to ``OVERSHOOT`` pixels (rounding in real annotation tools) and is clipped, and
anything wrong is one DataError naming the JSON file, the image and the box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..config import DataError
from .sample import DenseSample, box_text, image_size, no_boxes, read_pixels

MAX_JSON_BYTES = 512 * 2**20  # COCO's train2017 instances file is 448 MiB
OVERSHOOT = 1.0


@dataclass(frozen=True)
class CocoImage:
    """One image's file and its boxes (float32 N×4 xyxy, pixels) and labels (int64 1…K)."""

    path: Path
    file_name: str
    width: int
    height: int
    boxes: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class CocoSet:
    """A read COCO folder: its images, class names (index = label, 0 = "background") and the
    COCO category id behind each label."""

    annotations: Path
    images: tuple[CocoImage, ...]
    class_names: tuple[str, ...]
    category_ids: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices: Sequence[int]) -> CocoSet:
        """The same set holding only the images at ``indices`` (e.g. from ``split_indices``)."""
        return replace(self, images=tuple(self.images[i] for i in indices))

    def load(self, index: int, channels: int = 3) -> DenseSample:
        """Image ``index`` decoded, with its boxes and labels."""
        item = self.images[index]
        return DenseSample(read_pixels(item.path, channels), item.boxes, item.labels,
                           name=str(item.path))


def read_coco(folder: str | Path, annotations: str | Path | None = None,
              image_dir: str = "images") -> CocoSet:
    """Read and check a COCO-style folder (see the module docstring); DataError if anything
    is wrong, naming the file, the image and the box."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"detection folder {folder} does not exist or is not a folder")
    json_path = Path(annotations).expanduser() if annotations else find_annotations(folder)
    data = _load_json(json_path)
    reader = _Reader(json_path, folder / image_dir)
    names, ids = reader.categories(_list(data, "categories", json_path))
    records = reader.images(_list(data, "images", json_path))
    reader.annotations(_list(data, "annotations", json_path), records, ids)
    return CocoSet(json_path, tuple(r.finish() for r in records.values()), names, ids)


def find_annotations(folder: Path) -> Path:
    """``FOLDER/annotations.json``, else the single JSON file in ``FOLDER/annotations/``."""
    direct = folder / "annotations.json"
    if direct.is_file():
        return direct
    sub = folder / "annotations"
    found = sorted(sub.glob("*.json")) if sub.is_dir() else []
    if len(found) == 1:
        return found[0]
    if found:
        raise DataError(f"{sub} holds several JSON files ({', '.join(p.name for p in found)}); "
                        "name the annotations file to use")
    raise DataError(f"detection folder {folder} has no annotations: put a COCO instances file at "
                    f"{direct} or in {sub}/")


def _load_json(path: Path) -> Any:
    from ...files import read_guarded_json

    return read_guarded_json(path, "a COCO annotations file", MAX_JSON_BYTES, DataError,
                             "reading the annotations")


def _list(data: Any, key: str, path: Path) -> list[Any]:
    if not isinstance(data, dict):
        raise DataError(f"{path}: holds {type(data).__name__}, not a JSON object with images, "
                        "annotations and categories")
    value = data.get(key)
    if not isinstance(value, list):
        raise DataError(f"{path}: '{key}' must be a list, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "missing" if value is None else type(value).__name__


class _Record:
    """An image being collected: its entry and the boxes found for it so far."""

    def __init__(self, path: Path, file_name: str, width: int, height: int):
        self.path, self.file_name, self.width, self.height = path, file_name, width, height
        self.boxes: list[list[float]] = []
        self.labels: list[int] = []

    def finish(self) -> CocoImage:
        boxes, labels = no_boxes()
        if self.boxes:
            boxes, labels = np.array(self.boxes, np.float32), np.array(self.labels, np.int64)
        return CocoImage(self.path, self.file_name, self.width, self.height, boxes, labels)


class _Reader:
    """Checks the three lists of one annotations file; every message starts with its path."""

    def __init__(self, json_path: Path, image_dir: Path):
        self.where, self.image_dir = str(json_path), image_dir

    def fail(self, message: str) -> DataError:
        return DataError(f"{self.where}: {message}")

    def whole(self, entry: dict, key: str, place: str, lo: int | None = None) -> int:
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or (lo is not None and value < lo):
            wanted = "a whole number" if lo is None else f"a whole number ≥ {lo}"
            raise self.fail(f"{place}.{key} must be {wanted}, not {value!r}")
        return value

    def entry(self, value: Any, place: str) -> dict:
        if not isinstance(value, dict):
            raise self.fail(f"{place} must be a JSON object, not {_kind(value)}")
        return value

    def categories(self, entries: list[Any]) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Class names (label order, "background" first) and the category id of each label."""
        found: dict[int, str] = {}
        for i, raw in enumerate(entries):
            entry, place = self.entry(raw, f"categories[{i}]"), f"categories[{i}]"
            cid, name = self.whole(entry, "id", place), entry.get("name")
            if not isinstance(name, str) or not name.strip():
                raise self.fail(f"{place}.name must be a non-empty string, not {name!r}")
            if cid in found:
                raise self.fail(f"{place}: category id {cid} is listed twice")
            found[cid] = name
        if not found:
            raise self.fail("'categories' is empty; a detection set needs at least one class")
        ids = tuple(sorted(found))
        return ("background", *(found[c] for c in ids)), ids

    def images(self, entries: list[Any]) -> dict[int, _Record]:
        records: dict[int, _Record] = {}
        for i, raw in enumerate(entries):
            entry, place = self.entry(raw, f"images[{i}]"), f"images[{i}]"
            iid = self.whole(entry, "id", place)
            if iid in records:
                raise self.fail(f"{place}: image id {iid} is listed twice")
            records[iid] = self.image(entry, place)
        if not records:
            raise self.fail("'images' is empty; a detection set needs at least one image")
        return records

    def image(self, entry: dict, place: str) -> _Record:
        name = entry.get("file_name")
        parts = PurePosixPath(name).parts if isinstance(name, str) else ()
        if not parts or parts[0] == "/" or ".." in parts:
            raise self.fail(f"{place}.file_name must be a path inside {self.image_dir}, "
                            f"not {name!r}")
        width, height = (self.whole(entry, k, f"{place} ('{name}')", 1) for k in ("width",
                                                                                  "height"))
        path = self.image_dir.joinpath(*parts)
        if not path.is_file():
            raise self.fail(f"image '{name}': the file {path} does not exist")
        real = image_size(path)
        if real != (width, height):
            raise self.fail(f"image '{name}' is {real[0]}×{real[1]} on disk but the annotations "
                            f"say {width}×{height}; fix its width and height")
        return _Record(path, name, width, height)

    def annotations(self, entries: list[Any], records: dict[int, _Record],
                    category_ids: tuple[int, ...]) -> None:
        labels = {cid: k for k, cid in enumerate(category_ids, 1)}
        for i, raw in enumerate(entries):
            entry, place = self.entry(raw, f"annotations[{i}]"), f"annotations[{i}]"
            iid = self.whole(entry, "image_id", place)
            record = records.get(iid)
            if record is None:
                raise self.fail(f"{place}: image_id {iid} is not in 'images'")
            if entry.get("iscrowd") in (1, True):
                continue
            where = f"image '{record.file_name}', box {len(record.boxes)} ({place}"
            cid = self.whole(entry, "category_id", where + ")")
            if cid not in labels:
                raise self.fail(f"{where}): category_id {cid} is not in 'categories' (known: "
                                f"{', '.join(str(c) for c in category_ids)})")
            record.boxes.append(self.box(entry.get("bbox"), record, where))
            record.labels.append(labels[cid])

    def box(self, bbox: Any, record: _Record, where: str) -> list[float]:
        """COCO [x, y, w, h] as a clipped [x1, y1, x2, y2], or DataError saying what is wrong."""
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(_finite(v) for v in bbox):
            raise self.fail(f"{where}): bbox must be 4 finite numbers [x, y, w, h], not {bbox!r}")
        x, y, w, h = (float(v) for v in bbox)
        said = f"{where}, bbox {box_text(bbox)})"
        if w <= 0 or h <= 0:
            raise self.fail(f"{said} has a width or height that is not positive; "
                            "fix or remove the annotation")
        if x < -OVERSHOOT or y < -OVERSHOOT or x + w > record.width + OVERSHOOT \
                or y + h > record.height + OVERSHOOT:
            raise self.fail(f"{said} goes outside the {record.width}×{record.height} image; "
                            "fix or remove the annotation")
        x1, y1 = max(x, 0.0), max(y, 0.0)
        x2, y2 = min(x + w, float(record.width)), min(y + h, float(record.height))
        if x2 <= x1 or y2 <= y1:
            raise self.fail(f"{said} lies on the image's edge with no area inside it")
        return [x1, y1, x2, y2]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
