"""The data spec: what a run's data was, recorded in its run directory so it can be rebuilt.

Training writes one into ``config.json`` (key ``data_spec``); every consumer of a run's data —
the analyses, Check an Image, exports — rebuilds the data through ``load_spec`` and nothing
else, so they see exactly the images (and the normalisation) that training saw. Its JSON::

    {"version": 2,
     "task": "classification" | "detection" | "segmentation",
     "data": {...},                      # DataConfig.to_dict(): dataset, fit, sizes, channels,
                                         #   split (val_fraction / val_folder, seed), augmentation
     "target": [C, H, W] | null,         # the network input the data was fitted to
     "shape": [C, H, W],                 # the shape the images were served at
     "normalisation": {"mean": [...], "std": [...]},
     "class_names": [...],
     "augmentation": {"crop_padding": 4, "flip": false, "cutout": 0, "color_jitter": 0.0},
     "class_counts": {"train": [...], "val": [...]} | null}

Version 1 (before dense tasks) had no ``task``: it reads as classification. The task is the
dataset's (``DataConfig.task``); a spec whose task and dataset disagree is refused.

Importing this module needs neither torch nor torchvision; ``load_spec`` loads them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import DataConfig, DataError

if TYPE_CHECKING:
    from .loading import DataBundle

SPEC_VERSION = 2
READABLE_VERSIONS = (1, 2)
TASKS = ("classification", "detection", "segmentation")
SPEC_KEY = "data_spec"
#: Two runs of the statistics over the same images agree to the 4 decimals they are kept at;
#: a larger difference means the images are not the ones the run was trained on.
_STATS_TOLERANCE = 1e-3

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class DataSpec:
    """A run's data: the configuration and target that rebuild it, and what it turned out to be
    (shape, normalisation, classes, augmentation, class counts) to check the rebuild against.
    ``counts`` is None for a spec derived from an old run directory that did not record them."""

    config: DataConfig
    target: Shape | None
    shape: Shape
    mean: tuple[float, ...]
    std: tuple[float, ...]
    class_names: tuple[str, ...]
    augmentation: dict[str, Any]
    counts: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    version: int = SPEC_VERSION
    task: str = "classification"

    def to_dict(self) -> dict[str, Any]:
        counts = None if self.counts is None else {"train": list(self.counts[0]),
                                                    "val": list(self.counts[1])}
        return {"version": self.version, "task": self.task, "data": self.config.to_dict(),
                "target": None if self.target is None else list(self.target),
                "shape": list(self.shape),
                "normalisation": {"mean": list(self.mean), "std": list(self.std)},
                "class_names": list(self.class_names), "augmentation": dict(self.augmentation),
                "class_counts": counts}

    @classmethod
    def from_dict(cls, data: Any) -> DataSpec:
        """Read ``to_dict()`` output; a DataError names the field that is wrong."""
        if not isinstance(data, dict):
            raise DataError("the data spec must be a JSON object")
        version = data.get("version")
        if version not in READABLE_VERSIONS or isinstance(version, bool):
            raise DataError(f"data spec version {version!r} is not one this program reads "
                            f"(it reads versions {', '.join(map(str, READABLE_VERSIONS))})")
        norm = _field(data, "normalisation", dict)
        counts = data.get("class_counts")
        config = DataConfig.from_dict(_field(data, "data", dict))
        task = _task(data, version, config)
        return cls(config,
                   _shape(data.get("target"), "target", optional=True),
                   _shape(data.get("shape"), "shape"),
                   _numbers(norm.get("mean"), "normalisation.mean"),
                   _numbers(norm.get("std"), "normalisation.std"),
                   tuple(str(n) for n in _field(data, "class_names", list)),
                   dict(_field(data, "augmentation", dict)),
                   None if counts is None else _counts(counts), SPEC_VERSION, task)

    @property
    def val_counts(self) -> tuple[int, ...] | None:
        return None if self.counts is None else self.counts[1]


def _task(data: dict[str, Any], version: int, config: DataConfig) -> str:
    """The spec's task (version 1: classification), which must be its dataset's."""
    task = data.get("task", "classification") if version == 1 else data.get("task")
    if task not in TASKS:
        raise DataError(f"the data spec's ‘task’ must be one of {', '.join(TASKS)}, "
                        f"not {task!r}")
    if task != config.task:
        raise DataError(f"the data spec's ‘task’ is {task} but its dataset "
                        f"‘{config.dataset}’ is a {config.task} set")
    return task


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        raise DataError(f"the data spec's ‘{name}’ is missing or not a {kind.__name__}")
    return value


def _shape(value: Any, name: str, optional: bool = False) -> Shape | None:
    if value is None and optional:
        return None
    if (not isinstance(value, list) or len(value) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise DataError(f"the data spec's ‘{name}’ must be [channels, height, width]")
    return (value[0], value[1], value[2])


def _numbers(value: Any, name: str) -> tuple[float, ...]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise DataError(f"the data spec's ‘{name}’ must be a list of numbers")
    return tuple(float(v) for v in value)


def _counts(value: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if not isinstance(value, dict):
        raise DataError("the data spec's ‘class_counts’ must be an object with train and val")
    out = []
    for split in ("train", "val"):
        items = value.get(split)
        if not isinstance(items, list) or not all(isinstance(v, int) for v in items):
            raise DataError(f"the data spec's ‘class_counts.{split}’ must be a list of counts")
        out.append(tuple(items))
    return out[0], out[1]


def make_spec(cfg: DataConfig, target: Shape | None, info: Any) -> DataSpec:
    """The spec of data loaded by ``load_data(cfg, …, target=target)``, whose ``DataInfo`` is
    ``info``."""
    counts = (tuple(info.train_counts), tuple(info.val_counts)) if info.val_counts else None
    return DataSpec(cfg, None if target is None else tuple(target),
                    (info.channels, info.height, info.width), tuple(info.mean), tuple(info.std),
                    tuple(info.class_names), dict(info.augmentation), counts, task=cfg.task)


def derive_spec(config: dict[str, Any], graph_input: Shape | None,
                info: dict[str, Any]) -> DataSpec:
    """The spec of a run directory written before specs were recorded, from its data
    configuration, its network's input (the target whenever ``fit`` is "network": training
    fits the data to a graph's input, and a preset's graph is built at the data's shape, so
    fitting to it changes nothing) and its dataset description. Class counts are unknown."""
    cfg = DataConfig.from_dict(config)
    target = graph_input if cfg.fit == "network" else None
    if cfg.fit == "network" and target is None:
        raise DataError("the network's input is needed to fit the data to it")
    shape = target or (cfg.channels, cfg.image_size, cfg.image_size)
    if cfg.fit == "none" and not cfg.is_folder and cfg.dataset != "synthetic":
        shape = _described_shape(info) or shape
    names = info.get("class_names")
    if not isinstance(names, list):
        raise DataError("the dataset description has no class names")
    augmentation = {"crop_padding": cfg.crop_padding if cfg.augment else 0,
                    "flip": None if cfg.flip is None else cfg.flip and cfg.augment,
                    "cutout": cfg.cutout,
                    "color_jitter": cfg.color_jitter}
    return DataSpec(cfg, target, shape, _numbers(info.get("mean"), "mean"),
                    _numbers(info.get("std"), "std"), tuple(str(n) for n in names), augmentation,
                    task=cfg.task)


def _described_shape(info: dict[str, Any]) -> Shape | None:
    try:
        return int(info["channels"]), int(info["height"]), int(info["width"])
    except (KeyError, TypeError, ValueError):
        return None


def load_spec(spec: DataSpec, batch_size: int, device: Any = "cpu", *, rank: int = 0,
              world_size: int = 1) -> DataBundle:
    """The data ``spec`` describes, in batches of ``batch_size`` on ``device``: loaded as
    training loaded it (``load_data`` with the recorded target), checked against what was
    recorded (shape, classes, class counts, statistics) and normalised with the recorded mean
    and std. Raises DataError when the data cannot be loaded or is no longer the same."""
    from .augment import Normaliser
    from .loading import load_data

    bundle = load_data(spec.config, batch_size, device, rank=rank, world_size=world_size,
                       target=spec.target)
    _check_same(spec, bundle.info)
    norm = Normaliser(spec.mean, spec.std, bundle.val.device)
    bundle.train.norm = bundle.val.norm = norm
    bundle.info.mean, bundle.info.std = spec.mean, spec.std
    return bundle


def _check_same(spec: DataSpec, info: Any) -> None:
    shape = (info.channels, info.height, info.width)
    where = f"the data ({spec.config.dataset})"
    if shape != spec.shape:
        raise DataError(f"{where} is now served at {_text(shape)}, the run's at "
                        f"{_text(spec.shape)}")
    if tuple(info.class_names) != spec.class_names:
        raise DataError(f"{where} now has the classes {', '.join(info.class_names)}; the run "
                        f"was trained on {', '.join(spec.class_names)}")
    if spec.counts is not None and (tuple(info.train_counts), tuple(info.val_counts)) != \
            spec.counts:
        raise DataError(f"{where} has changed since the run: its images per class are now "
                        f"{list(info.train_counts)} (training) and {list(info.val_counts)} "
                        f"(validation), the run's were {list(spec.counts[0])} and "
                        f"{list(spec.counts[1])}")
    for name, now, then in (("mean", info.mean, spec.mean), ("std", info.std, spec.std)):
        if len(now) != len(then) or any(abs(a - b) > _STATS_TOLERANCE for a, b in zip(now, then)):
            raise DataError(f"{where} has changed since the run: its pixel {name} is now "
                            f"{list(now)}, the run's was {list(then)}")


def _text(shape: Sequence[int]) -> str:
    return "×".join(str(v) for v in shape)


def balanced_indices(labels: Sequence[int], count: int | None, seed: int) -> list[int]:
    """Indices (ascending) of ``count`` items of ``labels`` spread over the classes as evenly
    as their sizes allow: each class gets ``count // classes``, the remainder goes one each to
    the first classes, and what a small class cannot give goes to the others. Which members of
    a class are taken is drawn from ``seed``, so one seed always gives one subset. ``None`` or
    a ``count`` of at least ``len(labels)`` takes everything."""
    if count is None or count >= len(labels):
        return list(range(len(labels)))
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(int(label), []).append(i)
    classes = sorted(members)
    quota = _quotas([len(members[c]) for c in classes], count)
    rng = random.Random(seed)
    chosen: list[int] = []
    for c, take in zip(classes, quota):
        chosen += rng.sample(members[c], take)
    return sorted(chosen)


def _quotas(sizes: list[int], count: int) -> list[int]:
    """Water-filling: raise every class's share one at a time until ``count`` are taken."""
    quota = [0] * len(sizes)
    left = count
    while left > 0:
        open_classes = [k for k, size in enumerate(sizes) if quota[k] < size]
        share, extra = divmod(left, len(open_classes))
        for rank, k in enumerate(open_classes):
            give = min(sizes[k] - quota[k], share + (1 if rank < extra else 0))
            quota[k] += give
            left -= give
    return quota
