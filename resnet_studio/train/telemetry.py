"""Per-step statistics gathered on the training device without host synchronisation.

Every step the gradient norm of every layer is computed in one fused reduction
(``torch._foreach_norm`` over all gradients, then a segment sum of squares per layer with
``index_add_`` and a precomputed index tensor) and written into a device buffer, together with
the batch's loss and correct-prediction count. Once per flush the whole window is copied to
the host in a single transfer: no ``.item()`` per layer or per step.

Update-to-weight ratios ‖Δw‖ / ‖w‖ need the weights before the optimiser step. Copying them
every step would double the optimiser's memory traffic, so a snapshot (one fused
``_foreach_mul`` copy) is taken only before the last step of each flush window, and the ratio
of that step is reported.

With ``per_layer=False`` (``TrainConfig.layer_telemetry`` off) a step records its loss and
accuracy only: no per-layer norm, no snapshot, no update ratio, and the flush copies the sums
alone. The windows' per-layer arrays are then NaN (missing, never zero, which would read as a
dead layer), and the global norm that clipping needs is still computed when asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Layers:
    """The model's layers and, for every trainable parameter in ``named_parameters`` order,
    the index of its layer. A network built from a graph has one layer per node with
    parameters, named by node id wherever its module sits (a ConvNeXt's nodes live inside
    ``features.…`` containers); any other module has one per top-level child, except that a
    torchvision detector or segmenter is opened up to its backbone's stages (``backbone.body.
    layer1`` … , ``backbone.fpn``, ``rpn``, ``roi_heads``; an FCN's ``backbone.layer1`` …,
    ``classifier``), so the backbone's gradients show stage by stage beside the head's."""

    names: tuple[str, ...]
    types: tuple[str, ...]
    sizes: tuple[int, ...]
    params: tuple[nn.Parameter, ...]
    layer_of: tuple[int, ...]

    @classmethod
    def of(cls, model: nn.Module) -> Layers:
        owner, paths = _owners(model)
        names: list[str] = []
        sizes: list[int] = []
        params, layer_of = [], []
        for name, param in model.named_parameters():
            if not param.requires_grad:
                continue
            top = owner(name)
            if top not in names:
                names.append(top)
                sizes.append(0)
            layer = names.index(top)
            sizes[layer] += param.numel()
            params.append(param)
            layer_of.append(layer)
        types = tuple(_type_name(model, paths.get(n, n)) for n in names)
        return cls(tuple(names), types, tuple(sizes), tuple(params), tuple(layer_of))


def _owners(model: nn.Module) -> tuple[Callable[[str], str], dict[str, str]]:
    """``parameter name → layer name`` and the layers' module paths by name: nodes for a
    network built from a graph (the longest module path a parameter lies in), top-level
    children otherwise."""
    node_paths = getattr(model, "node_paths", None)
    paths: dict[str, str] = node_paths() if callable(node_paths) else {}
    node_at = {path: node for node, path in paths.items()}

    opened = _OPENED if not paths and _is_dense_model(model) else ()

    def owner(name: str) -> str:
        parts = name.split(".")
        for end in range(len(parts) - 1, 0, -1):  # longest enclosing module path first
            node = node_at.get(".".join(parts[:end]))
            if node is not None:
                return node
        end = 1
        while ".".join(parts[:end]) in opened and end < len(parts) - 1:
            end += 1
        return ".".join(parts[:end])

    return owner, paths


# Containers of torchvision's dense models whose children are layers of their own.
_OPENED = ("backbone", "backbone.body")
_DENSE_MODELS = {"GeneralizedRCNN", "RetinaNet", "FCOS", "_SimpleSegmentationModel"}


def _is_dense_model(model: nn.Module) -> bool:
    return any(cls.__name__ in _DENSE_MODELS for cls in type(model).__mro__)


def _type_name(model: nn.Module, path: str) -> str:
    try:
        return type(model.get_submodule(path)).__name__
    except AttributeError:  # a parameter registered on the model itself
        return "Parameter"


@dataclass(frozen=True)
class Window:
    """One flush window on the host. ``loss`` is the per-step mean loss; rows follow steps."""

    loss: np.ndarray
    correct: np.ndarray
    count: np.ndarray
    grad_norms: np.ndarray
    weight_norms: np.ndarray | None
    update_ratios: np.ndarray | None
    stop_requested: bool


class StepStats:
    """Device buffers for up to ``window`` steps between flushes. ``per_layer`` measures the
    per-layer norms; without it, ``global_norm`` still has ``record_grads`` return the global
    gradient norm (for clipping), else a zero that costs nothing."""

    def __init__(self, layers: Layers, window: int, device: torch.device, *,
                 per_layer: bool = True, global_norm: bool = True):
        self.per_layer, self.global_norm = per_layer, global_norm
        self.layers = layers
        self.params = list(layers.params)
        self.count_layers = len(layers.names)
        self.index = torch.tensor(layers.layer_of, dtype=torch.long, device=device)
        self.device = device
        self.window = window
        self._grad_sq = torch.zeros(window if per_layer else 0, self.count_layers,
                                    device=device)
        self._no_norm = torch.zeros((), device=device)  # the norm when none is measured
        self._sums = torch.zeros(3, window, device=device)  # loss·n, correct, n
        self._snapshot: list[Tensor] | None = None
        self._update: tuple[Tensor, Tensor] | None = None
        self._zeros: dict[torch.dtype, Tensor] = {}  # stand-ins for missing gradients

    # ----- during a step ----------------------------------------------------------------------
    @torch.no_grad()
    def record_grads(self, slot: int) -> Tensor:
        """Store this step's per-layer gradient norms in row ``slot``; return the global
        gradient norm (a device scalar, for clipping without recomputing).

        A parameter this batch did not reach (no gradient) counts as a zero gradient: a
        device zero stands in for it, so the layer index stays the precomputed one — picking
        a subset of it would build an index from host data, a blocking copy in every step."""
        if not self.per_layer:
            return self._global_norm() if self.global_norm else self._no_norm
        if not self.params:
            return self._no_norm
        grads = [p.grad if p.grad is not None else self._zero(p) for p in self.params]
        squares = torch.stack(torch._foreach_norm(grads)).float().square()
        self._grad_sq[slot].index_add_(0, self.index, squares)
        return squares.sum().sqrt()

    def _zero(self, param: Tensor) -> Tensor:
        zero = self._zeros.get(param.dtype)
        if zero is None:  # a fill on the device, made once per dtype
            zero = self._zeros[param.dtype] = torch.zeros((), dtype=param.dtype,
                                                          device=self.device)
        return zero

    def _global_norm(self) -> Tensor:
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            return self._no_norm
        return torch.stack(torch._foreach_norm(grads)).float().square().sum().sqrt()

    @torch.no_grad()
    def record_batch(self, slot: int, loss: Tensor, correct: Tensor, count: int) -> None:
        self._sums[0, slot] = loss.detach().float() * count
        self._sums[1, slot] = correct
        self._sums[2, slot] = count

    @torch.no_grad()
    def snapshot(self) -> None:
        """Keep a copy of the weights before the optimiser step (flush steps only)."""
        if not self.per_layer:
            return
        self._snapshot = torch._foreach_mul([p.detach() for p in self.params], 1.0)

    @torch.no_grad()
    def measure_update(self) -> None:
        """After the optimiser step: per-layer ‖w‖ and ‖Δw‖ against the snapshot."""
        if self._snapshot is None:
            return
        weights = [p.detach() for p in self.params]
        delta = torch._foreach_sub(weights, self._snapshot)
        self._update = (self._per_layer(weights), self._per_layer(delta))
        self._snapshot = None

    def _per_layer(self, tensors: list[Tensor]) -> Tensor:
        squares = torch.stack(torch._foreach_norm(tensors)).float().square()
        return torch.zeros(self.count_layers, device=self.device).index_add_(0, self.index, squares)

    # ----- at a flush -------------------------------------------------------------------------
    def packed_sums(self, steps: int, stop: bool) -> Tensor:
        """The window's sums and the stop flag as one device tensor, ready for an all-reduce."""
        flag = self._sums.new_full((1,), 1.0 if stop else 0.0)  # a fill, not a host copy
        return torch.cat([self._sums[:, :steps].reshape(-1), flag])

    @torch.no_grad()
    def drain(self, steps: int, sums: Tensor) -> Window:
        """Copy the window to the host in one transfer and reset the buffers.

        ``sums`` is ``packed_sums`` after any all-reduce across ranks."""
        parts = [sums]
        if self.per_layer:
            parts.append(self._grad_sq[:steps].sqrt().reshape(-1))
        if self._update is not None:
            weights_sq, delta_sq = self._update
            parts += [weights_sq.sqrt(), delta_sq.sqrt() / weights_sq.sqrt().clamp_min(1e-12)]
        host = torch.cat(parts).cpu().numpy().astype(np.float64)
        self._grad_sq.zero_()
        self._sums.zero_()
        measured = self._update is not None
        self._update = None
        return self._unpack(host, steps, measured)

    def _unpack(self, host: np.ndarray, steps: int, measured: bool) -> Window:
        n_sums = 3 * steps
        loss_sum, correct, count = host[:n_sums].reshape(3, steps)
        at = n_sums + 1
        if self.per_layer:
            grads = host[at: at + steps * self.count_layers].reshape(steps, self.count_layers)
            at += steps * self.count_layers
        else:
            grads = np.full((steps, self.count_layers), np.nan)
        weights = ratios = None
        if measured:
            weights = host[at: at + self.count_layers]
            ratios = host[at + self.count_layers: at + 2 * self.count_layers]
        loss = loss_sum / np.maximum(count, 1)
        return Window(loss, correct, count, grads, weights, ratios, bool(host[n_sums] > 0))
