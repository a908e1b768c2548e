"""What every run of a study starts from, how it is repeated over seeds, and the one line
that says which settings it trains with.

A study starts from the same settings ``train PROJECT`` would use (the project's saved
settings, or its preset's recipe), with a budget (``BUDGETS``) applied on top when one is
chosen, and the options given on the command line (or in the app's dialog) over both.

Repeats (``repeat``): with ``seeds`` N > 1 every configuration of the plan becomes N runs,
``<name>-seed<s>`` for s = base, base+1, … (base: the configuration's ``seed``), each with the
configuration's label and values plus ``"seed": s``. Only the weights' initialisation and the
order of the batches differ between repeats: the validation split and the synthetic images
come from ``data.seed``, which stays the base configuration's, so every repeat sees the same
data. ``study.settings["seeds"]`` lists the seeds used (``[base]`` when N is 1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ..train.config import ConfigError, TrainConfig
from ..train.recipe import merge
from .estimate import data_sizes
from .plan import RunSpec, Study, StudyError, check_name

# ----- budgets --------------------------------------------------------------------------------
#: He et al. 2016 §4.2 (arXiv:1512.03385), CIFAR-10: SGD 0.1, momentum 0.9, weight decay 1e-4,
#: batch 128, ×0.1 at 50 % and 75 % of 164 epochs (32k and 48k of 64k iterations), 4-pixel
#: crops; He init. The project's dataset is kept; flips follow the dataset's default (on for
#: CIFAR, off for digits, which a mirror turns into other digits).
PAPER = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": False,
         "weight_decay": 1e-4, "decay_norm_and_bias": True, "schedule": "multistep",
         "milestones": [], "milestone_fractions": [0.5, 0.75], "gamma": 0.1,
         "warmup_epochs": 0.0, "warmup_steps": 0, "epochs": 164, "batch_size": 128,
         "label_smoothing": 0.0, "grad_clip": 0.0, "init": "he_fan_out",
         "zero_init_residual": False,
         "data": {"augment": True, "crop_padding": 4, "flip": None, "cutout": 0,
                  "color_jitter": 0.0}}

#: A set-up meant to show the degradation effect (a deeper plain network ends with a higher
#: training error than a shallower one, its residual twin does not) on real MNIST digits on a
#: CPU in minutes: the paper's optimisation (SGD 0.1, momentum 0.9, weight decay 1e-4, ×0.1 at
#: 50 % and 75 %, He init) for 3 epochs of batch 64 on a class-balanced subset of 5,000
#: training digits (234 steps a run), no augmentation (training error is the point), at depths
#: 8, 20 and 44 on the CIFAR layout (``CPU_BLOCKS``), with half an epoch of linear warm-up:
#: without it residual-44 started at lr 0.1 blew up in its first epoch on real digits (loss 3.0,
#: 46.7 % training error after 3 epochs against 12.7 % for plain-44), as He et al. §4.2 saw
#: for ResNet-110 and cured with a warm-up. ``--plan-only`` prints the estimate for this
#: machine; any option given (``--dataset folder:DIGITS``, ``--epochs``) wins.
CPU = {**PAPER, "epochs": 3, "batch_size": 64, "warmup_epochs": 0.5,
       "data": {"dataset": "mnist", "subset": 5000, "augment": False, "flip": None, "cutout": 0,
                "color_jitter": 0.0}}
CPU_BLOCKS = (1, 3, 7)  # blocks per stage: ResNet-8, -20 and -44 on the CIFAR layout
BUDGETS = {"cpu": CPU, "paper": PAPER}


def apply_budget(base: TrainConfig, budget: str | None) -> TrainConfig:
    """``base`` with the named budget's settings applied (None: unchanged)."""
    if budget is None:
        return base
    if budget not in BUDGETS:
        raise StudyError(f"unknown budget ‘{budget}’; choose {' or '.join(BUDGETS)}.")
    try:
        return merge(base, BUDGETS[budget], f"budget {budget}")
    except ConfigError as exc:
        raise StudyError(str(exc)) from None


def cpu_depths(reachable: Sequence[int]) -> list[int]:
    """The ``cpu`` budget's depths among ``reachable`` (fixed + step·n for n = 1, 2, …)."""
    return [reachable[n - 1] for n in CPU_BLOCKS if n <= len(reachable)]


# ----- repeats --------------------------------------------------------------------------------
def repeat(study: Study, seeds: int, base_seed: int | None = None) -> Study:
    """``study`` with every configuration trained under ``seeds`` seeds (see the module).
    The base seed is the runs' own (an existing run's, in a twin study); ``base_seed`` (the
    settings' seed) stands in only for a sweep that varies the seed itself."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 100:
        raise StudyError(f"repeats must be a whole number from 1 to 100, not {seeds!r}.")
    base = study.runs[0].config["seed"]
    if "seed" in study.settings.get("settings", ()):
        if seeds > 1:
            raise StudyError("this sweep varies the seed itself; leave repeats (--seeds) at 1.")
        base = base if base_seed is None else base_seed
    settings = {**study.settings, "seeds": [base + k for k in range(seeds)]}
    if seeds == 1:
        return dataclasses.replace(study, settings=settings)
    runs = [_seeded(spec, spec.config["seed"] + k) for spec in study.runs for k in range(seeds)]
    return dataclasses.replace(study, runs=runs, settings=settings)


def _seeded(spec: RunSpec, seed: int) -> RunSpec:
    """``spec`` trained from ``seed``. An existing run stands only for its own seed; the other
    seeds of its configuration are trained."""
    existing = spec.existing if seed == spec.config["seed"] else None
    return RunSpec(check_name(f"{spec.name}-seed{seed}"), spec.label,
                   {**spec.values, "seed": seed}, spec.graph, {**spec.config, "seed": seed},
                   existing)


# ----- the settings, stated -------------------------------------------------------------------
def describe(study: Study, source: str) -> Study:
    """``study`` with ``settings["effective"]`` (one line: what its runs train with) and
    ``settings["settings_source"]`` (where those settings came from)."""
    return dataclasses.replace(study, settings={**study.settings, "effective": effective(study),
                                                "settings_source": source})


def effective(study: Study) -> str:
    """Optimiser, lr, weight decay, schedule, init, augmentation, epochs and data of the
    study's runs in one line; a setting that differs between runs lists its values."""
    configs = [r.config for r in study.runs]
    c, data = configs[0], configs[0]["data"]

    def each(key: str, text=str) -> str:
        values = list(dict.fromkeys(text(cfg[key]) for cfg in configs))
        return "/".join(values)

    optimiser = ("SGD" + (" (Nesterov)" if c["nesterov"] else "") + f" momentum {c['momentum']:g}"
                 if c["optimizer"] == "sgd" else "AdamW")
    return (f"{optimiser}, lr {each('lr', _g)}, weight decay {each('weight_decay', _g)}, "
            f"{_schedule(c)} schedule, init {c['init']}"
            f"{' + zero-init residual' if c['zero_init_residual'] else ''}, "
            f"augmentation {_augmentation(data)}, {_plural(each('epochs'), 'epoch')} of batch "
            f"{each('batch_size')}; data {_dataset(data['dataset'])} at "
            f"{_shape(study.runs[0])}, {_sizes(c)}")


def _plural(count: str, noun: str) -> str:
    """``1 epoch``, ``3 epochs``, ``1/3 epochs`` (runs that differ)."""
    return f"{count} {noun}{'' if count == '1' else 's'}"


def _dataset(name: str) -> str:
    """A dataset as people name it: ``image folder /data/digits`` for ``folder:/data/digits``
    (the file's syntax stays in the file)."""
    from ..data.config import FOLDER_PREFIX

    return (f"image folder {name.removeprefix(FOLDER_PREFIX)}" if name.startswith(FOLDER_PREFIX)
            else name)


def _g(value: Any) -> str:
    return f"{value:g}"


def _schedule(c: dict[str, Any]) -> str:
    warmup = (f"{c['warmup_steps']} warm-up steps, " if c["warmup_steps"] else
              f"{_plural(format(c['warmup_epochs'], 'g'), 'warm-up epoch')}, "
              if c["warmup_epochs"] else "")
    return warmup + _decay(c)


def _decay(c: dict[str, Any]) -> str:
    if c["schedule"] == "multistep":
        at = (", ".join(f"{f:.0%}" for f in c["milestone_fractions"])
              if c["milestone_fractions"] else "epochs " + ", ".join(map(str, c["milestones"])))
        return f"multistep ×{c['gamma']:g} at {at}"
    if c["schedule"] == "step":
        return f"step ×{c['gamma']:g} every {c['step_size']} epochs"
    return c["schedule"]


def _augmentation(data: dict[str, Any]) -> str:
    parts = []
    if data["augment"] and data["crop_padding"]:
        parts.append(f"crop {data['crop_padding']} px")
    if data["augment"]:
        flip = data["flip"]
        parts.append("flip" if flip else "no flip" if flip is False else "the dataset's flip")
    if data["cutout"]:
        parts.append(f"cutout {data['cutout']} px")
    return " + ".join(parts) if parts else "none"


def _shape(spec: RunSpec) -> str:
    """The C×H×W the images are served at: the network's input when fitted to it."""
    from .command import DATASET_INPUTS

    data, net = spec.config["data"], spec.graph.get("input", {})
    if data["fit"] == "network" and net:
        c, h, w = net["channels"], net["height"], net["width"]
    elif data["dataset"] in DATASET_INPUTS:
        c, h, _ = DATASET_INPUTS[data["dataset"]]
        w = h
    else:
        c, h, w = data["channels"], data["image_size"], data["image_size"]
    return f"{c}×{h}×{w} ({'fitted to the network' if data['fit'] == 'network' else 'as is'})"


def _sizes(config: dict[str, Any]) -> str:
    sizes = data_sizes(config)
    if sizes is None:
        return "train/val sizes known once loaded"
    return f"{sizes[0]:,} train / {sizes[1]:,} val images"
