"""What each field of a checkpoint must hold, checked when it is read.

A safe load (``weights_only``) guarantees that a checkpoint holds only tensors and plain
values, not that they are the right ones: a hand-edited or damaged file can say
``epoch="abc"`` or make ``config`` a list, and would then fail deep inside training or an
export with a traceback. ``field_problem`` names the first field that is not what the engine
wrote, so the reader can refuse the file with one line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .config import ConfigError, TrainConfig

Check = Callable[[Any], "str | None"]


def field_problem(state: dict[str, Any]) -> str | None:
    """The first field of ``state`` that does not hold what a checkpoint holds, in words;
    None when all are well-formed. Optional fields (older checkpoints lack some) may be
    absent; a present one is checked like the others."""
    for key, check in FIELDS.items():
        if key not in state:
            continue
        problem = check(state[key])
        if problem:
            return f"‘{key}’ {problem}"
    return None


# ----- the kinds of value ---------------------------------------------------------------------
def _type(value: Any) -> str:
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def count(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return None
    return f"should be a whole number ≥ 0, not {_type(value)} {value!r:.40}"


def number(value: Any) -> str | None:
    if _is_number(value) and math.isfinite(value):
        return None
    return f"should be a finite number, not {_type(value)} {value!r:.40}"


def optional(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"should be a dictionary, not {_type(value)}"


def tensors(value: Any) -> str | None:
    """A state dict: names to tensors."""
    if not isinstance(value, dict):
        return f"should be a dictionary of tensors, not {_type(value)}"
    for name, tensor in value.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            return f"should map names to tensors; entry {name!r:.40} holds {_type(tensor)}"
    return None


def non_finite(value: dict[str, torch.Tensor]) -> str | None:
    """The first tensor holding NaN or infinite values, named with the counts (a diverged
    run's weights: every prediction from them is NaN)."""
    for name, tensor in value.items():
        if not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            nan = int(torch.isnan(tensor).sum())
            return (f"tensor ‘{name:.80}’ holds {nan} NaN and {int((~finite).sum()) - nan} "
                    f"infinite value(s) of {tensor.numel()}")
    return None


def weights(value: Any) -> str | None:
    """A state dict whose values are all finite."""
    problem = tensors(value)
    if problem:
        return problem
    found = non_finite(value)
    return f"is not usable: its {found}" if found else None


def plain(value: Any, depth: int = 0) -> str | None:
    """Numbers, text, None, tensors and lists or dictionaries of them (scheduler state)."""
    if depth > 20:
        return "is nested too deeply"
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return None
    items = value.values() if isinstance(value, dict) else value
    if isinstance(value, (dict, list, tuple)):
        return next(filter(None, (plain(v, depth + 1) for v in items)), None)
    return f"holds a {_type(value)}"


# ----- the structured fields ------------------------------------------------------------------
def optimizer(value: Any) -> str | None:
    """``Optimizer.state_dict()``: per-parameter state and the parameter groups."""
    if not isinstance(value, dict) or not isinstance(value.get("state"), dict) \
            or not isinstance(value.get("param_groups"), list):
        return "should be an optimiser state (a dictionary with ‘state’ and ‘param_groups’)"
    for group in value["param_groups"]:
        params = group.get("params") if isinstance(group, dict) else None
        if not isinstance(params, list) or not all(count(i) is None for i in params):
            return "has a parameter group without its list of parameter indices"
        for key, setting in group.items():
            if key != "params" and not _setting(setting):
                return f"has a parameter group whose ‘{key}’ is {_type(setting)} {setting!r:.40}"
    for per_param in value["state"].values():
        if not isinstance(per_param, dict) or plain(per_param) or any(
                isinstance(v, str) for v in per_param.values()):
            return "has per-parameter state that is not tensors and numbers"
    return None


def _setting(value: Any) -> bool:
    """An optimiser hyper-parameter: a number, a flag, None, a tensor or a tuple of numbers."""
    if value is None or isinstance(value, (bool, torch.Tensor)) or _is_number(value):
        return True
    return isinstance(value, (list, tuple)) and all(_is_number(v) for v in value)


def scheduler(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"should be a scheduler state (a dictionary), not {_type(value)}"
    if "last_epoch" in value and not (isinstance(value["last_epoch"], int)
                                      and not isinstance(value["last_epoch"], bool)):
        return f"has ‘last_epoch’ {value['last_epoch']!r:.40}, not a whole number"
    for key in ("base_lrs", "_last_lr"):
        if key in value and not (isinstance(value[key], list)
                                 and all(_is_number(v) for v in value[key])):
            return f"has ‘{key}’ that is not a list of numbers"
    return plain(value)


def config(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"should be a training configuration (a dictionary), not {_type(value)}"
    try:
        TrainConfig.from_dict(value)
    except ConfigError as exc:
        return f"is not a valid training configuration ({exc})"
    except (TypeError, ValueError) as exc:
        return f"is not a valid training configuration ({type(exc).__name__}: {exc})"
    return None


def rngs(value: Any) -> str | None:
    """One generator state per process: torch's CPU state, and CUDA's when it trained there."""
    size = torch.get_rng_state().numel()
    if not isinstance(value, list):
        return f"should be a list of generator states, not {_type(value)}"
    for state in value:
        cpu = state.get("torch") if isinstance(state, dict) else None
        if not _byte_tensor(cpu, size):
            return f"should hold a CPU generator state of {size} bytes per process"
        cuda = state.get("cuda")
        if cuda is not None and not (isinstance(cuda, list)
                                     and all(_byte_tensor(t) for t in cuda)):
            return "has a CUDA generator state that is not a list of byte tensors"
    return None


def _byte_tensor(value: Any, size: int | None = None) -> bool:
    return (isinstance(value, torch.Tensor) and value.dtype == torch.uint8 and value.dim() == 1
            and (size is None or value.numel() == size))


def sums(value: Any) -> str | None:
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(
            number(v) is None for v in value):
        return None
    return "should be three finite numbers (loss·images, correct, images of the epoch so far)"


def names(value: Any) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return None
    return f"should be a list of layer names, not {_type(value)}"


def metrics(value: Any) -> str | None:
    """The epochs so far (one dictionary of numbers each) and the best epoch."""
    if not isinstance(value, dict):
        return f"should be a dictionary, not {_type(value)}"
    epochs = value.get("epochs", [])
    if not isinstance(epochs, list) or not all(
            isinstance(e, dict) and all(v is None or _is_number(v) for v in e.values())
            for e in epochs):
        return "has ‘epochs’ that is not a list of dictionaries of numbers"
    for key, check in (("best_epoch", count), ("best_val_acc", _is_finite_or_nan)):
        problem = optional(check)(value.get(key))
        if problem:
            return f"has ‘{key}’ that {problem}"
    return None


def _is_finite_or_nan(value: Any) -> str | None:
    return None if _is_number(value) else f"should be a number, not {_type(value)}"


FIELDS: dict[str, Check] = {
    "model": weights, "optimizer": optimizer, "scheduler": scheduler,
    "scaler": optional(lambda v: mapping(v) or plain(v)),
    "epoch": count, "step": count, "batch": count, "epoch_sums": sums,
    "epoch_seconds": number, "last_lr": number, "rng": optional(rngs), "config": config,
    "graph": optional(mapping), "layers": names, "metrics": metrics, "versions": mapping,
}
