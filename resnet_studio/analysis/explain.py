"""Explain an image: what a trained network predicts for it, where it looks, what it sees.

* the top-k classes with their probabilities;
* Grad-CAM on a stage, the last by default (Selvaraju et al. 2017,
  https://arxiv.org/abs/1610.02391): the stage's feature maps weighted by the pooled gradient
  of the class score, upsampled; ``gradcam_layers`` lists the stages it can use;
* one pixel attribution: Integrated Gradients (Sundararajan et al. 2017,
  https://arxiv.org/abs/1703.01365) from the all-zero normalised image, i.e. the dataset's mean
  image, or plain gradient Saliency;
* the first channels of each stage's feature maps.

The attribution methods come from Captum, an optional extra
(``pip install 'resnet-studio[explain]'``), rather than being written again here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .common import (
    AnalysisError,
    CancelFlag,
    Progress,
    Run,
    check_cancel,
    no_progress,
    run_data,
)
from .limits import check_explain

METHODS = ("integrated_gradients", "saliency")
INSTALL_HINT = "pip install 'resnet-studio[explain]'"


@dataclass
class Explanation:
    """Everything the figure (or a view) shows; maps are H×W, scaled to [0, 1]."""

    image: np.ndarray  # H×W×C, in [0, 1], as fed to the network (before normalising)
    classes: list[str]
    probabilities: list[float]  # top-k, best first, of ``classes``
    target: str
    gradcam_layer: str
    gradcam: np.ndarray
    method: str
    attribution: np.ndarray
    feature_maps: dict[str, np.ndarray] = field(default_factory=dict)  # stage → k×h×w
    scores: str = "probability"  # what ``probabilities`` are (a segmenter's: "pixel share")

    def to_json(self) -> dict[str, Any]:
        key = self.scores.replace(" ", "_")
        return {"top": [{"class": c, key: p} for c, p in zip(self.classes, self.probabilities)],
                "target": self.target, "gradcam_layer": self.gradcam_layer,
                "attribution_method": self.method, "gradcam": self.gradcam.round(4).tolist(),
                "feature_map_shapes": {k: list(v.shape) for k, v in self.feature_maps.items()}}


def load_image(path: str | Path, spec: Any) -> Tensor:
    """Read any image file and fit it to the network's input: grey or RGB as the network
    takes, the shorter side scaled to the input, then centre-cropped. A C×H×W tensor in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    from ..data.images import ImageTooLargeError, open_image

    if spec.channels not in (1, 3):
        raise AnalysisError(f"the network takes {spec.channels}-channel images; only grey (1) "
                            "and colour (3) image files can be fitted to it.")
    try:
        with open_image(path) as img:
            img = img.convert("L" if spec.channels == 1 else "RGB")
            scale = max(spec.height / img.height, spec.width / img.width)
            size = (max(spec.width, round(img.width * scale)),
                    max(spec.height, round(img.height * scale)))
            img = img.resize(size, Image.Resampling.BILINEAR)
            left, top = (size[0] - spec.width) // 2, (size[1] - spec.height) // 2
            img = img.crop((left, top, left + spec.width, top + spec.height))
            pixels = np.asarray(img, dtype=np.float32) / 255.0
    except ImageTooLargeError as exc:
        raise AnalysisError(str(exc)) from None
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise AnalysisError(f"{path}: cannot be read as an image ({exc}).") from None
    return torch.from_numpy(pixels.reshape(spec.height, spec.width, -1)).permute(2, 0, 1)


def stages_of(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The stages to show: the top-level ``nn.Sequential`` children (``layer1`` …), else every
    top-level child holding convolutions."""
    children = list(model.named_children())
    stages = [(n, m) for n, m in children if isinstance(m, nn.Sequential)]
    return stages or [(n, m) for n, m in children
                      if any(isinstance(s, nn.Conv2d) for s in m.modules())]


@dataclass(frozen=True)
class GradcamLayers:
    """The stages Grad-CAM can use, in network order, each with its output shape (C×H×W for
    one image), and the one it uses when none is chosen."""

    shapes: dict[str, tuple[int, ...]]
    default: str

    def describe(self) -> str:
        """``layer1 (16×32×32), layer2 (32×16×16)``: the choices, for a message."""
        return ", ".join(f"{name} ({'×'.join(map(str, shape))})"
                         for name, shape in self.shapes.items())


def gradcam_layers(graph: Any) -> GradcamLayers:
    """The stages of ``graph``'s network that ``explain`` (a classifier: ``stages_of`` the
    network, the last by default) or ``explain_segmentation`` (a segmenter: ``stages_of`` its
    backbone, the one feeding the head by default) accepts as ``layer``: those whose output is
    a spatial map. Measured on torch's meta device: nothing is allocated or computed.
    AnalysisError for a detector, BuildError for a network with errors."""
    from ..compiler import build
    from .common import classifier_only, task_of_graph

    if task_of_graph(graph, "the network") != "segmentation":
        classifier_only(graph, "the network", "explain")
    with torch.device("meta"):
        model = build(graph, initialise=False).eval()
    stages = stages_of(getattr(model, "backbone", model))
    if not stages:
        raise AnalysisError("the network has no convolutional stage to explain.")
    shapes = _output_shapes(model, stages, graph.input_spec)
    return GradcamLayers({name: shapes[name] for name, _ in stages if len(shapes[name]) == 3},
                         stages[-1][0])


def _output_shapes(model: nn.Module, stages: list[tuple[str, nn.Module]],
                   spec: Any) -> dict[str, tuple[int, ...]]:
    """Each stage's output shape for one image (() where it is not one tensor), on meta."""
    shapes = {name: () for name, _ in stages}

    def keep(name: str, out: Any) -> None:
        if isinstance(out, Tensor):
            shapes[name] = tuple(out.shape[1:])

    handles = [m.register_forward_hook(lambda mod, i, out, name=name: keep(name, out))
               for name, m in stages]
    try:
        with torch.no_grad():
            model(torch.empty(1, spec.channels, spec.height, spec.width, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def _captum() -> Any:
    try:
        from captum import attr
    except ImportError:
        raise AnalysisError("explaining an image needs Captum, an optional extra: "
                            f"{INSTALL_HINT}") from None
    return attr


def explain(model: nn.Module, image: Tensor, mean: tuple[float, ...], std: tuple[float, ...],
            class_names: list[str] | None = None, *, top_k: int = 5, target: int | None = None,
            method: str = "integrated_gradients", channels: int = 8, layer: str | None = None,
            progress: Progress = no_progress, cancel: CancelFlag | None = None) -> Explanation:
    """Explain ``model``'s prediction for ``image`` (C×H×W in [0, 1]), normalised with the
    training data's ``mean`` and ``std``. ``target`` (a class index) defaults to the top one;
    ``layer`` names the stage for Grad-CAM (default: the last)."""
    attr = _captum()
    if method not in METHODS:
        raise AnalysisError(f"unknown attribution method ‘{method}’; choose {' or '.join(METHODS)}")
    model.eval()
    stages = stages_of(model)
    if not stages:
        raise AnalysisError("the network has no convolutional stage to explain.")
    name, stage = pick_stage(stages, layer)
    x = _normalise(image, mean, std)
    progress(0, 3, "prediction and feature maps")
    probs, maps = _predict(model, x, stages, channels)
    names = class_names or [str(i) for i in range(len(probs))]
    if target is not None and not 0 <= target < len(probs):
        raise AnalysisError(f"class {target} does not exist; the network has {len(probs)}.")
    target = int(probs.argmax()) if target is None else target
    top = probs.argsort()[::-1][:top_k]
    cam, pixels = attributions(attr, model, (name, stage), x, target, method, progress, cancel)
    return Explanation(image.permute(1, 2, 0).numpy(), [names[i] for i in top],
                       [float(probs[i]) for i in top], names[target], name, cam, method,
                       pixels, maps)


def attributions(attr: Any, model: nn.Module, stage: tuple[str, nn.Module], x: Tensor,
                 target: int | None, method: str, progress: Progress,
                 cancel: CancelFlag | None) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM on ``stage`` (name, module) at the image's size and the pixel attribution of
    ``method``, both scaled to [0, 1] (steps 1 and 2 of 3 of the progress)."""
    check_cancel(cancel)
    progress(1, 3, f"Grad-CAM on {stage[0]}")
    cam = attr.LayerGradCam(model, stage[1]).attribute(x, target=target, relu_attributions=True)
    cam = attr.LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear")
    check_cancel(cancel)
    progress(2, 3, method.replace("_", " "))
    pixels = _attribution(attr, model, x, target, method)
    progress(3, 3, "done")
    return _unit(cam[0, 0]), _unit(pixels[0].abs().sum(0))


def pick_stage(stages: list[tuple[str, nn.Module]], layer: str | None,
               where: str = "network") -> tuple[str, nn.Module]:
    """The stage named ``layer``, the last one when ``layer`` is None."""
    if layer is None:
        return stages[-1]
    named = dict(stages)
    if layer not in named:
        raise AnalysisError(f"the {where} has no stage ‘{layer}’; choose one of "
                            f"{', '.join(named)}.")
    return layer, named[layer]


def _normalise(image: Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> Tensor:
    m = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
    return ((image - m) / s).unsqueeze(0)


def _predict(model: nn.Module, x: Tensor, stages: list[tuple[str, nn.Module]],
             channels: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    logits, maps = forward_with_maps(model, x, stages, channels)
    return F.softmax(logits, dim=1)[0].numpy(), maps


def forward_with_maps(model: nn.Module, x: Tensor, stages: list[tuple[str, nn.Module]],
                      channels: int) -> tuple[Any, dict[str, np.ndarray]]:
    """``model(x)`` without gradients, and the first ``channels`` maps of each stage's output
    for the first image, by stage name."""
    maps: dict[str, np.ndarray] = {}
    handles = [m.register_forward_hook(
        lambda mod, i, out, name=name: maps.__setitem__(name, out[0, :channels].numpy().copy()))
        for name, m in stages]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return out, maps


def _attribution(attr: Any, model: nn.Module, x: Tensor, target: int, method: str) -> Tensor:
    if method == "saliency":
        return attr.Saliency(model).attribute(x.clone().requires_grad_(), target=target,
                                              abs=True)
    return attr.IntegratedGradients(model).attribute(x, baselines=torch.zeros_like(x),
                                                     target=target, n_steps=32)


def _unit(t: Tensor) -> np.ndarray:
    """``t`` as a float array scaled to [0, 1] (all zeros stays all zeros)."""
    a = t.detach().float().numpy()
    a = a - a.min()
    top = a.max()
    return a / top if top > 0 else a


def explain_run(run: Run, image_path: str | Path, **options: Any) -> Explanation:
    """Explain a trained run's prediction for the image file ``image_path``: a classifier's
    class score, a segmenter's class region (``explain_dense``); a detector is refused.
    ``layer`` names the Grad-CAM stage (one of ``gradcam_layers``; None: its default)."""
    explainer = _explainer(run)
    check_explain(run.graph)
    image = load_image(image_path, run.graph.input_spec)
    return explainer(run.model(), image, run.mean, run.std, run.class_names or None, **options)


def _explainer(run: Run) -> Any:
    from .common import classifier_only, task_of_graph

    task = task_of_graph(run.graph, str(run.path))
    if task == "segmentation":
        from .explain_dense import explain_segmentation

        return explain_segmentation
    classifier_only(run.graph, str(run.path), "explain")  # a detector: one line
    return explain


def validation_image(run: Run, index: int) -> tuple[Tensor, int]:
    """Validation image ``index`` of the run (C×H×W in [0, 1], as training served it before
    normalising) and its label (-1 for a detector's or segmenter's run, whose targets are boxes
    or masks), from the run's data spec."""
    val = run_data(run).val
    if not 0 <= index < val.size:
        raise AnalysisError(f"validation image {index} does not exist; the run has {val.size}.")
    x, y = next(val.epoch(0, start_batch=index // val.batch_size))
    k = index % val.batch_size
    label = int(y[k]) if isinstance(y, Tensor) and y.ndim == 1 else -1
    return _denormalise(x[k].cpu(), run.mean, run.std), label


def _denormalise(x: Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> Tensor:
    m = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
    return (x * s + m).clamp(0, 1)


def explain_sample(run: Run, index: int, **options: Any) -> Explanation:
    """Explain a trained run's prediction for its validation image ``index``."""
    explainer = _explainer(run)
    check_explain(run.graph)
    image, _ = validation_image(run, index)
    return explainer(run.model(), image, run.mean, run.std, run.class_names or None, **options)
