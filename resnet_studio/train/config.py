"""The training configuration: one JSON-serialisable dataclass with readable validation.

The same ``TrainConfig`` is filled in by the GUI's training panel, by ``resnet-studio train``'s
options and from a checkpoint when a run resumes, so it round-trips through ``to_dict`` /
``from_dict`` unchanged, and ``validate`` names the field at fault in every message.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields
from typing import Any

from ..data import DataConfig, DataError

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("constant", "step", "multistep", "cosine", "onecycle")
DEVICES = ("auto", "cuda", "mps", "cpu")  # and "cuda:N", one GPU of several (is_device)
AMP_MODES = ("off", "auto", "bf16", "fp16")
# The weight initialisations of ``compiler.build.INITS`` (kept here as names so that the
# configuration loads without torch; a test checks that the two agree).
INITS = ("he_fan_out", "he_fan_in", "xavier", "pytorch")


class ConfigError(ValueError):
    """A training setting that is not allowed; ``field`` names it (``data.cutout`` for nested)."""

    def __init__(self, name: str, message: str):
        super().__init__(f"training setting ‘{name}’: {message}")
        self.field, self.reason = name, message


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a network is trained (frozen: derive variants with
    ``replace``, so an engine's configuration cannot change under it).

    Learning-rate schedule: every schedule is evaluated per optimiser step. A linear warm-up
    of ``warmup_epochs`` (or ``warmup_steps``, not both) comes first and rises from
    ``lr / (W + 1)`` to ``lr``. ``step`` multiplies by ``gamma`` every ``step_size`` epochs and
    ``multistep`` at each epoch in ``milestones``, or at each fraction of all steps in
    ``milestone_fractions`` (so a recipe's "×0.1 at 50 % and 75 %" survives a change of
    ``epochs``; both counted from the start of training, as
    in Goyal et al. 2017, https://arxiv.org/abs/1706.02677). ``cosine`` anneals from ``lr`` to
    ``min_lr`` over the steps after warm-up (Loshchilov & Hutter 2016,
    https://arxiv.org/abs/1608.03983); ``onecycle`` rises from ``lr / div_factor`` to ``lr``
    over ``pct_start`` of them and falls to ``lr / (div_factor * final_div_factor)`` (Smith &
    Topin 2017, https://arxiv.org/abs/1708.07120; learning rate only, momentum is not cycled).

    ``decay_norm_and_bias=False`` leaves normalisation weights, biases and other 1-D or scalar
    parameters out of weight decay, which is the usual recipe for residual networks.
    ``grad_clip`` is a maximum global gradient norm (0 turns clipping off). ``amp`` is mixed
    precision on CUDA: ``bf16`` or ``fp16`` autocast (fp16 with a gradient scaler), refused on
    other devices. ``auto`` (the GPU-size recipes' choice) is the fast CUDA recipe where it
    exists: bf16 autocast *and* channels-last on a GPU that computes bf16 natively (Ampere and
    later); anywhere else — the CPU included — full precision in the layout ``channels_last``
    sets. ``channels_last`` alone stays a plain switch; the precision a run used is in its
    start record (``RunStartRecord.precision``) and its config.json.

    ``compile`` runs the training steps through ``torch.compile`` on any device (on the CPU
    its inductor backend needs a C++ compiler); the network is compiled once per run, at its
    first step, which is slow, and validation runs it uncompiled. ``telemetry_every`` is the
    number of steps between telemetry flushes (the only host synchronisations of the loop);
    ``checkpoint_every`` writes ``last.pt`` every so many steps besides at each epoch's end
    (0: epoch ends only).
    ``layer_telemetry=False`` leaves out the per-layer gradient norms and update ratios of
    every step (records then hold NaN for them; loss, accuracy and clipping are unchanged).

    Transfer learning (see ``transfer.py``): ``freeze_stages`` freezes the stem and the first
    stages (N = 2: conv1 and layer1, torchvision's ``trainable_backbone_layers=3``);
    ``frozen_bn`` turns the backbone's batch norms into ``FrozenBatchNorm2d``;
    ``stage_lr_mult`` multiplies the learning rate of the stem, layer1, layer2, … in turn.

    ``device``: ``auto`` (CUDA, then MPS, then the CPU), ``cuda`` (the current GPU),
    ``cuda:N`` (GPU N of several), ``mps`` or ``cpu``; under torchrun each process takes the
    GPU of its ``LOCAL_RANK`` whatever the number (see ``setup.resolve_device``).
    """

    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 5e-4
    decay_norm_and_bias: bool = False
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    warmup_steps: int = 0
    step_size: int = 30
    gamma: float = 0.1
    milestones: tuple[int, ...] = ()
    milestone_fractions: tuple[float, ...] = ()
    min_lr: float = 0.0
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    epochs: int = 10
    batch_size: int = 128
    label_smoothing: float = 0.0
    grad_clip: float = 0.0
    seed: int = 0
    device: str = "auto"
    amp: str = "off"
    channels_last: bool = False
    compile: bool = False
    init: str = "he_fan_out"
    zero_init_residual: bool = False
    telemetry_every: int = 10
    layer_telemetry: bool = True
    checkpoint_every: int = 0
    freeze_stages: int = 0
    frozen_bn: bool = False
    stage_lr_mult: tuple[float, ...] = ()
    data: DataConfig = field(default_factory=DataConfig)

    # ----- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (tuples become lists), ``data`` as a nested object."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if f.name == "data" else _plain(value)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """Rebuild and validate a configuration; unknown keys are refused by name (a typo in a
        hand-edited file would otherwise silently train with the default)."""
        if not isinstance(data, dict):
            raise ConfigError("(top level)", f"expected an object, found {type(data).__name__}.")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(unknown[0],
                              f"unknown setting; known settings are {', '.join(known)}.")
        values = dict(data)
        if "data" in values:
            values["data"] = _data_config(values["data"])
        for name in ("betas", "milestones", "milestone_fractions", "stage_lr_mult"):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        return cls(**values).validate()

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    # ----- validation -------------------------------------------------------------------------
    def validate(self) -> TrainConfig:
        """Check every field; return ``self`` so calls chain. Raises ``ConfigError``."""
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        if not is_device(self.device):
            raise ConfigError("device", f"{self.device!r} is not one of auto, cuda, cuda:N (N "
                                        "the GPU's number: cuda:0, cuda:1, …), mps, cpu.")
        _choice("amp", self.amp, AMP_MODES)
        _choice("init", self.init, INITS)
        for name in ("nesterov", "decay_norm_and_bias", "channels_last", "compile",
                     "zero_init_residual", "frozen_bn", "layer_telemetry"):
            _boolean(name, getattr(self, name))
        self._check_transfer()
        self._check_optimizer()
        self._check_schedule()
        self._check_loop()
        if not isinstance(self.data, DataConfig):
            raise ConfigError("data", f"expected a DataConfig, found {type(self.data).__name__}.")
        try:
            self.data.validate()
        except DataError as exc:
            raise ConfigError("data", str(exc)) from None
        return self

    def _check_optimizer(self) -> None:
        _number("lr", self.lr, 0.0, 100.0, low_open=True)
        _number("momentum", self.momentum, 0.0, 1.0, high_open=True)
        _number("weight_decay", self.weight_decay, 0.0, 10.0)
        if self.nesterov and self.optimizer == "sgd" and self.momentum == 0:
            raise ConfigError("nesterov", "Nesterov momentum needs momentum > 0.")
        if not isinstance(self.betas, tuple) or len(self.betas) != 2:
            raise ConfigError("betas", f"expected two numbers, found {self.betas!r}.")
        for i, beta in enumerate(self.betas):
            _number(f"betas[{i}]", beta, 0.0, 1.0, high_open=True)

    def _check_schedule(self) -> None:
        _number("warmup_epochs", self.warmup_epochs, 0.0, 1e6)
        _integer("warmup_steps", self.warmup_steps, 0, 10**9)
        if self.warmup_epochs and self.warmup_steps:
            raise ConfigError("warmup_steps", "set warmup_epochs or warmup_steps, not both.")
        _integer("step_size", self.step_size, 1, 10**6)
        _number("gamma", self.gamma, 0.0, 1.0, low_open=True)
        if not isinstance(self.milestones, tuple):
            raise ConfigError("milestones",
                              f"expected a list of epochs, found {self.milestones!r}.")
        for i, epoch in enumerate(self.milestones):
            _integer(f"milestones[{i}]", epoch, 1, 10**6)
        if list(self.milestones) != sorted(set(self.milestones)):
            raise ConfigError("milestones", "epochs must be increasing, without repeats.")
        self._check_fractions()
        if self.schedule == "multistep" and not (self.milestones or self.milestone_fractions):
            raise ConfigError("milestones", "the multistep schedule needs at least one epoch "
                                            "(or milestone_fractions).")
        _number("min_lr", self.min_lr, 0.0, 100.0)
        if self.schedule == "cosine" and self.min_lr > self.lr:
            raise ConfigError("min_lr", f"{self.min_lr:g} is above lr ({self.lr:g}).")
        _number("pct_start", self.pct_start, 0.0, 1.0, low_open=True, high_open=True)
        _number("div_factor", self.div_factor, 1.0, 1e9)
        _number("final_div_factor", self.final_div_factor, 1.0, 1e12)

    def _check_fractions(self) -> None:
        name = "milestone_fractions"
        if not isinstance(self.milestone_fractions, tuple):
            raise ConfigError(name, f"expected a list of fractions, found "
                                    f"{self.milestone_fractions!r}.")
        for i, fraction in enumerate(self.milestone_fractions):
            _number(f"{name}[{i}]", fraction, 0.0, 1.0, low_open=True, high_open=True)
        if list(self.milestone_fractions) != sorted(set(self.milestone_fractions)):
            raise ConfigError(name, "fractions must be increasing, without repeats.")
        if self.milestones and self.milestone_fractions:
            raise ConfigError(name, "set milestones or milestone_fractions, not both.")

    def _check_transfer(self) -> None:
        _integer("freeze_stages", self.freeze_stages, 0, 64)
        if not isinstance(self.stage_lr_mult, tuple):
            raise ConfigError("stage_lr_mult", f"expected a list of multipliers, found "
                                               f"{self.stage_lr_mult!r}.")
        if len(self.stage_lr_mult) > 64:
            raise ConfigError("stage_lr_mult", "at most 64 stages.")
        for i, mult in enumerate(self.stage_lr_mult):
            _number(f"stage_lr_mult[{i}]", mult, 0.0, 100.0, low_open=True)

    def _check_loop(self) -> None:
        for name in LOOP_LIMITS:
            check_loop_setting(name, getattr(self, name))
        _number("label_smoothing", self.label_smoothing, 0.0, 1.0, high_open=True)
        _number("grad_clip", self.grad_clip, 0.0, 1e9)


# The loop's whole-number settings and their bounds; the command line checks the ones it is
# given against them before torch loads (``resnet_studio.precheck``).
LOOP_LIMITS = {"epochs": (1, 100_000), "batch_size": (1, 1_000_000), "seed": (0, 2**63 - 1),
               "telemetry_every": (1, 100_000), "checkpoint_every": (0, 10**9)}


def check_loop_setting(name: str, value: Any) -> None:
    """ConfigError when ``value`` is not a whole number within ``LOOP_LIMITS[name]``."""
    low, high = LOOP_LIMITS[name]
    _integer(name, value, low, high)


# ----- helpers --------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _data_config(value: Any) -> DataConfig:
    if isinstance(value, DataConfig):
        return value
    try:
        return DataConfig.from_dict(value)
    except DataError as exc:
        raise ConfigError("data", str(exc)) from None
    except TypeError as exc:  # e.g. a required argument missing from a future DataConfig
        raise ConfigError("data", str(exc)) from None


def is_device(value: Any) -> bool:
    """Whether ``value`` names a device setting: one of ``DEVICES`` or ``cuda:N``."""
    if not isinstance(value, str):
        return False
    index = value[5:] if value.startswith("cuda:") else None
    return value in DEVICES or (index is not None and index.isascii() and index.isdigit()
                                and str(int(index)) == index)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(name, f"{value!r} is not one of {', '.join(choices)}.")


def _boolean(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ConfigError(name, f"expected true or false, found {value!r}.")


def _integer(name: str, value: Any, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(name, f"expected a whole number, found {value!r}.")
    if not lo <= value <= hi:
        raise ConfigError(name, f"{value} is outside the allowed range {lo} to {hi}.")


def _number(name: str, value: Any, lo: float, hi: float, *, low_open: bool = False,
            high_open: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(name, f"expected a number, found {value!r}.")
    too_low = value <= lo if low_open else value < lo
    too_high = value >= hi if high_open else value > hi
    if too_low or too_high:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ConfigError(name, f"{value:g} is outside the allowed range "
                                f"{left}{lo:g}, {hi:g}{right}.")
