"""Signal propagation at initialisation: how the forward activations and the backward
gradients of every layer look before any training, for a network and its plain twin.

One forward and one backward pass on one batch, with hooks on every convolution and linear
layer (the layers that hold the weights), gives per layer, in forward order:

* the RMS of the layer's output (does the forward signal explode or die with depth?),
* the norm of the loss gradient with respect to that output (the backward signal),
* the norm of the gradient of the layer's weight (what the optimiser's first step sees).

By default the network is in training mode, as on the first step: BatchNorm normalises with
the batch's statistics. In that mode a deep plain network's early-layer gradients *explode*
relative to its residual twin's: measured with ``resnet-studio signal preset:resnet56``, the
first-layer weight gradient is 1.4e3 for the plain twin against 3.9 for ResNet-56, about 350×
larger (ResNet-110: 2.5e6 against 12). With ``batch_stats=False`` (BatchNorm's initial
running statistics, i.e. no normalisation) the plain twin's vanish instead (3.5e-3) while the
residual network's grow with depth (5.1e3). See He et al. 2015
(https://arxiv.org/abs/1512.03385) and Balduzzi et al. 2017, "The shattered gradients
problem" (https://arxiv.org/abs/1702.08591).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .common import AnalysisError, CancelFlag, Progress, check_cancel, no_progress, task_of_graph
from .dense import prepare, run_dense_batch, shapes_batch, task_loss
from .limits import check_evaluation, check_signal

WEIGHT_LAYERS = (nn.Conv2d, nn.Linear)


@dataclass
class SignalCurve:
    """The per-layer signal of one network (arrays follow ``names``, in forward order)."""

    label: str
    names: list[str]
    activation_rms: np.ndarray
    output_grad_norm: np.ndarray
    weight_grad_norm: np.ndarray
    loss: float
    batchnorm_layers: int = 0  # how many the mode (batch or running statistics) acts on
    nodes: list[str | None] = field(default_factory=list)  # each layer's graph node, if any

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "loss": self.loss, "layers": [
            {"name": n, "activation_rms": float(a), "output_grad_norm": float(g),
             "weight_grad_norm": float(w)}
            for n, a, g, w in zip(self.names, self.activation_rms, self.output_grad_norm,
                                  self.weight_grad_norm)]}


@dataclass
class SignalResult:
    """The network's curve first, then its plain twin's when it has one."""

    curves: list[SignalCurve]
    settings: dict[str, Any] = field(default_factory=dict)

    def first_layer_gradients(self) -> dict[str, float]:
        return {c.label: float(c.weight_grad_norm[0]) for c in self.curves}

    def to_json(self) -> dict[str, Any]:
        return {"settings": self.settings, "first_layer_weight_grad_norm":
                self.first_layer_gradients(), "curves": [c.to_json() for c in self.curves]}


def signal_propagation(graph: Any, *, batch: tuple[Tensor, Tensor] | None = None,
                       batch_size: int = 32, seed: int = 0, twin: bool = True,
                       batch_stats: bool = True, build_options: dict[str, Any] | None = None,
                       progress: Progress = no_progress,
                       cancel: CancelFlag | None = None) -> SignalResult:
    """Measure the signal of ``graph`` at init (and of its plain twin when ``twin`` and the
    network has skips). ``batch`` is (images, labels); by default the built-in synthetic set
    at the project's input size. A detector or segmenter is measured with its task's training
    loss (``dense.task_loss``) on the built-in shapes with their boxes or masks, over every
    layer: backbone, feature pyramid and head. ``build_options`` go to ``compiler.build`` (e.g.
    ``zero_init_residual=True``); each network is initialised from ``seed``. With
    ``batch_stats=False`` BatchNorm uses its initial running statistics (mean 0, variance 1)
    instead of the batch's, which shows the init without normalisation's rescue."""
    from ..presets import plain_twin

    options = _checked_options(build_options or {})
    task = task_of_graph(graph, f"‘{graph.name or 'the network'}’")
    check_signal(graph, batch_size if batch is None else len(batch[0]))
    x, y = batch if batch is not None else _default_batch(graph.input_spec, task, batch_size,
                                                          seed)
    networks = [(graph.name or "network", graph)]
    if twin:
        plain = plain_twin(graph)
        if _has_skips(graph, plain):
            networks.append((plain.name or "plain twin", plain))
    curves = []
    for index, (label, g) in enumerate(networks):
        check_cancel(cancel)
        progress(index, len(networks), f"forward and backward pass of the {label}")
        # A plain block has no residual to start at zero: zeroing its last norm layer would
        # cut the network, so the twin is built without that option.
        own = options if index == 0 else {k: v for k, v in options.items()
                                          if k != "zero_init_residual"}
        curves.append(_measure(label, g, (x, y, task), seed, own, batch_stats))
    progress(len(networks), len(networks), "done")
    settings = {"batch_size": len(x), "seed": seed, "input": list(x.shape[1:]),
                "batch_stats": batch_stats, "batchnorm_layers": curves[0].batchnorm_layers,
                "task": task, **options}
    return SignalResult(curves, settings)


def _checked_options(options: dict[str, Any]) -> dict[str, Any]:
    from ..compiler import build

    known = set(inspect.signature(build).parameters) - {"graph", "analysis", "initialise"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise AnalysisError(f"the network builder has no option {', '.join(unknown)}; it "
                            f"offers {', '.join(sorted(known))}.")
    return dict(options)


def _has_skips(graph: Any, plain: Any) -> bool:
    from ..graph import project

    return project.to_dict(graph)["nodes"] != project.to_dict(plain)["nodes"] or \
        project.to_dict(graph)["edges"] != project.to_dict(plain)["edges"]


def _default_batch(spec: Any, task: str, batch_size: int, seed: int) -> tuple[Tensor, Any]:
    if task == "classification":
        return project_batch(spec, batch_size, seed)
    return shapes_batch(spec, task, batch_size, seed)


def project_batch(spec: Any, batch_size: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """A batch at the project's input size: the built-in synthetic set (normalised as in
    training) where it can draw that size, else standard normal images with random labels."""
    from ..data import DataConfig, DataError, load_data

    try:
        cfg = DataConfig(dataset="synthetic", train_size=batch_size, val_size=batch_size,
                         image_size=spec.height, channels=spec.channels, classes=spec.classes,
                         augment=False, seed=seed).validate()
        if spec.height != spec.width:
            raise DataError("the synthetic set draws square images only")
        return next(iter(load_data(cfg, batch_size).val.epoch(0)))
    except DataError:
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(batch_size, spec.channels, spec.height, spec.width, generator=gen)
        return x, torch.randint(0, spec.classes, (batch_size,), generator=gen)


def run_batch(run: Any, batch_size: int, seed: int | None = None) -> tuple[Tensor, Tensor]:
    """A batch of a trained run's own validation images (``batch_size`` of them, spread evenly
    over the classes), rebuilt from its data spec, to measure its network at init on the data
    it was trained on."""
    from .common import run_data, validation_batches

    check_evaluation(run.graph, batch_size, None, what="reading")
    check_signal(run.graph, batch_size)
    if task_of_graph(run.graph, str(run.path)) != "classification":
        return run_dense_batch(run_data(run), batch_size)  # its first images, with targets
    return validation_batches(run, batch_size, batch_size, seed=seed)[0]


def _measure(label: str, graph: Any, batch: tuple[Tensor, Any, str], seed: int,
             options: dict[str, Any], batch_stats: bool) -> SignalCurve:
    from ..compiler import build

    x, y, task = batch
    torch.manual_seed(seed)
    model = prepare(build(graph, **options), task, batch_stats)
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)]
    if not layers:
        raise AnalysisError(f"the {label} has no convolution or linear layer to measure.")
    recorder = _Recorder(layers)
    try:
        loss = task_loss(model, x, y, task)
        loss.backward()
    finally:
        recorder.remove()
    names, rms, out_grad = recorder.results()
    weight_grad = [_grad_norm(dict(layers)[n]) for n in names]
    norms = sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    return SignalCurve(label, names, np.array(rms), np.array(out_grad), np.array(weight_grad),
                       float(loss.detach()), norms, layer_nodes(model, names))


def layer_nodes(model: nn.Module, names: list[str]) -> list[str | None]:
    """The graph node each layer belongs to: the node whose module path is the longest prefix
    of the layer's (``backbone.body.layer2.0.conv1`` → ``layer2``); None for a layer of no
    node (a detector's region proposal network, which torchvision builds inside the head)."""
    paths = model.node_paths() if hasattr(model, "node_paths") else {}
    found = []
    for name in names:
        owners = [(len(path), node) for node, path in paths.items()
                  if name == path or name.startswith(path + ".")]
        found.append(max(owners)[1] if owners else None)
    return found


def _grad_norm(module: nn.Module) -> float:
    grad = module.weight.grad
    return float(grad.norm()) if grad is not None else 0.0


class _Recorder:
    """Forward hooks that note each layer's output RMS, in the order the layers run, and
    attach a tensor hook for the gradient that flows back into that output."""

    def __init__(self, layers: list[tuple[str, nn.Module]]):
        self.order: list[str] = []
        self.rms: dict[str, float] = {}
        self.grad: dict[str, float] = {}
        self.handles = [m.register_forward_hook(self._hook(n)) for n, m in layers]

    def _hook(self, name: str):
        def record(module: nn.Module, inputs: Any, output: Tensor) -> None:
            if name in self.rms:  # a layer called twice: keep the first call
                return
            self.order.append(name)
            self.rms[name] = float(output.detach().float().pow(2).mean().sqrt())
            if output.requires_grad:
                output.register_hook(lambda g: self.grad.__setitem__(name, float(g.norm())))
        return record

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def results(self) -> tuple[list[str], list[float], list[float]]:
        return (self.order, [self.rms[n] for n in self.order],
                [self.grad.get(n, 0.0) for n in self.order])
