"""Everything a run needs before its first step: device, process group, data, model, optimiser.

``prepare`` turns (network, config) into a ``Session``. It runs inside ``Engine.run()`` — on the
training thread — because loading a dataset or moving a model to a GPU can take a while.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .. import data as data_pkg
from ..compiler import build
from ..compiler.task import TaskError, task_of
from ..data.spec import make_spec
from ..graph import Graph, InputSpec, project
from . import devices, distributed
from .config import TrainConfig
from .distributed import DistEnv
from .limits import check_training
from .optim import SchedulePlan, build_optimizer, build_scheduler, use_kernels
from .telemetry import Layers, StepStats

Network = Graph | nn.Module | Callable[[InputSpec], Graph]

# torch.compile's backend for ``TrainConfig.compile`` (tests put a counting one here).
COMPILE_BACKEND: Any = "inductor"


class EngineError(RuntimeError):
    """A run that cannot start or go on; the message says why and what to do."""


class RunFailure(Exception):
    """Ends a run as failed with a message for the user (divergence, out of memory, a full
    disk); the engine reports it in its RunEndRecord instead of raising it."""


@dataclass(frozen=True)
class Precision:
    """How a run computes, resolved from the config for its device: ``amp`` is off, bf16 or
    fp16 (never auto) and ``channels_last`` whether inputs and weights are channels-last."""

    amp: str = "off"
    channels_last: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"amp": self.amp, "channels_last": self.channels_last}


@dataclass
class Session:
    """The live objects of one engine. ``model`` is the plain module (state dicts, layer
    names, validation); ``train_model`` is what training calls (DDP- and/or compile-wrapped)."""

    env: DistEnv
    device: torch.device
    created_group: bool
    data: Any
    graph: dict[str, Any] | None
    model: nn.Module
    train_model: nn.Module
    layers: Layers
    stats: StepStats
    optimizer: torch.optim.Optimizer
    plan: SchedulePlan
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler | None
    spec: dict[str, Any] | None = None  # the data spec (None: data handed in ready-made)
    task: Any = None  # the task object (task.Task): loss, validation, records
    precision: Precision = Precision()


def resolve_device(name: str, env: DistEnv) -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; a named device must exist.
    ``cuda`` is the current GPU and ``cuda:N`` GPU N, made this thread's current device (a
    number this machine does not have is refused, naming the GPUs it has). Under torchrun
    each CUDA process takes the GPU of its ``LOCAL_RANK`` whatever the number asked for: the
    launcher gives every process its own GPU."""
    gpus = devices.list_gpus()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if gpus else "mps" if mps else "cpu"
    if name.startswith("cuda") and not gpus:
        raise EngineError(f"device ‘{name}’ was requested but PyTorch sees no CUDA GPU on this "
                          "machine; choose device ‘auto’ or ‘cpu’.")
    if name == "mps" and not mps:
        raise EngineError("device ‘mps’ was requested but Apple's Metal backend is not "
                          "available; choose device ‘auto’ or ‘cpu’.")
    if name.startswith("cuda"):
        index = _gpu_index(name, env, gpus)
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    return torch.device(name)


def _gpu_index(name: str, env: DistEnv, gpus: list[devices.GpuInfo]) -> int:
    if env.enabled:
        return env.local_rank
    if name == "cuda":
        return torch.cuda.current_device()
    index = int(name[len("cuda:"):])
    if index >= len(gpus):
        there = "; ".join(f"cuda:{g.index} ({g.title()})" for g in gpus)
        raise EngineError(f"device ‘{name}’ was requested but this machine has {len(gpus)} "
                          f"CUDA GPU{'s' if len(gpus) != 1 else ''}: {there}; choose one of "
                          "them, ‘cuda’ or ‘auto’.")
    return index


def check_amp(config: TrainConfig, device: torch.device) -> None:
    if config.amp not in ("off", "auto") and device.type != "cuda":
        raise EngineError(f"mixed precision (amp ‘{config.amp}’) is for CUDA GPUs; this run uses "
                          f"the {device.type} device. Set amp to ‘off’ or ‘auto’.")


def cuda_supports_bf16() -> bool:
    """Whether the current CUDA GPU computes in bfloat16 natively (Ampere and later)."""
    return torch.cuda.is_bf16_supported(including_emulation=False)


def resolve_precision(config: TrainConfig, device: torch.device) -> Precision:
    """The precision the run uses on ``device``. ``amp`` auto is the fast CUDA recipe: bf16
    autocast with channels-last on a GPU that supports bf16, full precision (and the layout
    ``channels_last`` asks for) anywhere else; explicit bf16 / fp16 need CUDA."""
    check_amp(config, device)
    if config.amp != "auto":
        return Precision(config.amp, config.channels_last)
    fast = device.type == "cuda" and cuda_supports_bf16()
    return Precision("bf16" if fast else "off", config.channels_last or fast)


def prepare(network: Network, config: TrainConfig, *, bundle: Any = None,
            checkpoint: dict[str, Any] | None = None) -> Session:
    env = distributed.detect()
    device = resolve_device(config.device, env)
    precision = resolve_precision(config, device)
    created = distributed.join(env, device)
    try:
        return _prepare(network, config, env, device, created, bundle, checkpoint, precision)
    except BaseException:
        distributed.leave(created, wait=False)  # the other ranks may never get this far
        raise


def _prepare(network: Network, config: TrainConfig, env: DistEnv, device: torch.device,
             created: bool, bundle: Any, checkpoint: dict[str, Any] | None,
             precision: Precision) -> Session:
    spec = None
    check_training(network, config, device)
    if bundle is None:
        _check_task_first(network, config)
        target = target_shape(network)
        bundle = data_pkg.load_data(config.data, config.batch_size, device, rank=env.rank,
                                    world_size=env.world_size, target=target)
        spec = make_spec(config.data, target, bundle.info).to_dict()
    if len(bundle.train) == 0:
        raise EngineError(f"an epoch has no training batches: {bundle.info.train_size} training "
                          f"images do not fill one batch of {config.batch_size} per process; "
                          "lower the batch size.")
    model, graph, task = _model(network, config, bundle.info)
    _transfer(model, config)
    model.to(device)
    if precision.channels_last:
        model.to(memory_format=torch.channels_last)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    layers = Layers.of(model)
    optimizer = build_optimizer(model, config, device)
    steps = len(bundle.train)
    plan = SchedulePlan(config, steps, steps * config.epochs)
    scheduler = build_scheduler(optimizer, plan)
    scaler = torch.amp.GradScaler("cuda") if precision.amp == "fp16" else None
    if checkpoint is not None:
        _load_optimisation(checkpoint, optimizer, scheduler, scaler)
        use_kernels(optimizer, device)
        apply_settings(optimizer, scheduler, plan, config)
    train_model = distributed.wrap(model, device) if env.enabled else model
    if config.compile:
        train_model = compiled(train_model)
    stats = StepStats(layers, config.telemetry_every, device,
                      per_layer=config.layer_telemetry, global_norm=config.grad_clip > 0)
    return Session(env, device, created, bundle, graph, model, train_model, layers, stats,
                   optimizer, plan, scheduler, scaler, spec, task, precision)


def compiled(model: nn.Module) -> nn.Module:
    """``model`` under torch.compile, on any device (on the CPU inductor writes C++).

    Shapes are static (``dynamic=False``): training batches all have one size (the last
    partial batch is dropped), so the graph is compiled once; letting dynamo mark the batch
    dimension dynamic after a second shape would only give slower kernels. Validation runs
    the plain module, so switching to ``eval()`` and back recompiles nothing.
    """
    return torch.compile(model, backend=COMPILE_BACKEND, dynamic=False)


def _check_task_first(network: Network, config: TrainConfig) -> None:
    """A graph whose task the configured dataset does not serve is refused before the data
    is loaded (which may take a while, or fail for reasons that do not matter then)."""
    from .task import check_task

    if isinstance(network, Graph):
        try:
            check_task(task_of(network), config.data.task, config.data.dataset)
        except TaskError as exc:
            raise EngineError(str(exc)) from None


def _task(graph_task: str | None, info: Any) -> Any:
    """The run's task object: the network's task, which the data must serve (a plain module
    takes the data's)."""
    from .task import task_for

    return task_for(graph_task, getattr(info, "task", "classification"), info.name)


def _transfer(model: nn.Module, config: TrainConfig) -> None:
    from .transfer import apply_transfer

    try:
        apply_transfer(model, config)
    except ValueError as exc:
        raise EngineError(str(exc)) from None


def target_shape(network: Network) -> tuple[int, int, int] | None:
    """The network's input (C, H, W) that the data is fitted to: a graph's input; None for a
    plain module (its input is unknown) and for a builder (a preset adapts to the data)."""
    if not isinstance(network, Graph):
        return None
    spec = network.input_spec
    return spec.channels, spec.height, spec.width


def _model(network: Network, config: TrainConfig, info: Any
           ) -> tuple[nn.Module, dict | None, Any]:
    """The module to train, the project dict saved with it and the task object. Graph
    weights are initialised from ``config.seed``, so one seed gives one starting network."""
    if isinstance(network, nn.Module):
        return network, None, _task(None, info)
    spec = InputSpec(info.channels, info.height, info.width, info.classes)
    graph = network(spec) if callable(network) and not isinstance(network, Graph) else network
    if not isinstance(graph, Graph):
        raise TypeError("network must be a Graph, an nn.Module or a function returning a Graph")
    try:
        task = _task(task_of(graph), info)
    except TaskError as exc:
        raise EngineError(str(exc)) from None
    _check_input(graph.input_spec, spec, info)
    torch.manual_seed(config.seed)
    model = build(graph, zero_init_residual=config.zero_init_residual, init=config.init)
    return model, project.to_dict(graph), task


def _check_input(have: InputSpec, need: InputSpec, info: Any) -> None:
    """Classes must match; image sizes only differ when fitting was turned off or asked for
    explicitly, and the message names the option and the project field that fix it."""
    if have.classes != need.classes:
        raise EngineError(
            f"the network has {have.classes} classes but dataset ‘{info.name}’ has "
            f"{need.classes}; set the project's input classes to {need.classes} "
            f"(`resnet-studio new PRESET --classes {need.classes}`) or choose another dataset.")
    if have != need:
        raise EngineError(
            f"the network takes {have.channels}×{have.height}×{have.width} images but dataset "
            f"‘{info.name}’ is served at {need.channels}×{need.height}×{need.width} with fitting "
            f"off; pass --fit network (training field data.fit) to convert the images, or "
            f"--image-size {have.height} --channels {have.channels} (data.image_size, "
            "data.channels).")


def load_weights(model: nn.Module, checkpoint: dict[str, Any]) -> None:
    """Load the checkpoint's weights, naming what does not fit instead of a torch traceback."""
    state = checkpoint["model"]
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or unexpected or wrong:
        parts = [f"{label}: {', '.join(keys[:5])}{' …' if len(keys) > 5 else ''}"
                 for label, keys in (("missing", missing), ("not in this network", unexpected),
                                     ("different shape", wrong)) if keys]
        raise EngineError("the checkpoint's weights do not fit this network (" + "; ".join(parts)
                          + "). Resume with the project the checkpoint was trained with.")
    model.load_state_dict(state)


def _load_optimisation(checkpoint: dict[str, Any], optimizer, scheduler, scaler) -> None:
    saved = (checkpoint.get("config") or {}).get("optimizer")
    wanted = "sgd" if isinstance(optimizer, torch.optim.SGD) else "adamw"
    if saved is not None and saved != wanted:
        raise EngineError(f"the checkpoint was trained with the {saved} optimiser; a resumed run "
                          f"cannot switch to {wanted} (its state would not carry over). Resume "
                          f"with --optimizer {saved}, or start a new run from the weights.")
    try:
        optimizer.load_state_dict(checkpoint["optimizer"])
    except (ValueError, KeyError) as exc:
        raise EngineError(f"the checkpoint's optimiser state does not fit this configuration "
                          f"({exc}); resume with the optimiser and weight-decay settings it was "
                          "trained with.") from None
    scheduler.load_state_dict(checkpoint["scheduler"])
    if scaler is not None and checkpoint.get("scaler"):
        scaler.load_state_dict(checkpoint["scaler"])


def apply_settings(optimizer: torch.optim.Optimizer, scheduler: Any, plan: SchedulePlan,
                   config: TrainConfig) -> None:
    """Make a loaded optimiser and scheduler follow ``config``: a resumed run may change the
    learning rate, momentum, betas or weight decay (``train --resume CKPT --lr X``), and the
    loaded state would otherwise keep the checkpoint's values while the run records X. The
    scheduler's base rates change too, and the current rate is set at once, so the very next
    step uses — and logs — the new value."""
    factor = plan.factor(scheduler.last_epoch)
    for group in optimizer.param_groups:
        rate = config.lr * group.get("lr_mult", 1.0)
        group["initial_lr"] = rate
        group["lr"] = rate * factor
        if group["weight_decay"] != 0.0 or config.decay_norm_and_bias:
            group["weight_decay"] = config.weight_decay
        if "momentum" in group:
            group["momentum"] = config.momentum
            group["nesterov"] = config.nesterov
        if "betas" in group:
            group["betas"] = tuple(config.betas)
    scheduler.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
    scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]


def data_info_dict(info: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(info):
        return dataclasses.asdict(info)
    return dict(vars(info))
