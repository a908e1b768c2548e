"""The backbone export: a trained network's feature extractor, for detection and segmentation.

    out/
      backbone.py           class Backbone (readable PyTorch, the network up to its last stage)
                            and build_backbone(fpn=False, weights=True); torch + torchvision only
      backbone_weights.pt   the trained weights of that part (torch.load(..., weights_only=True))

``build_backbone()`` returns ``Backbone``: its ``forward`` gives an ``OrderedDict`` of the stages'
feature maps keyed by node id (``layer1`` … ``layer4``; ``backbone_levels`` says which nodes),
and ``out_channels`` is the last stage's channel count. ``build_backbone(fpn=True)`` puts the last
(up to) four stages through torchvision's ``FeaturePyramidNetwork`` with ``LastLevelMaxPool``,
as torchvision's ``resnet_fpn_backbone`` does: maps ``"0"`` … ``"3"`` and ``"pool"`` of 256
channels, so that ``FasterRCNN(build_backbone(fpn=True), num_classes=K)`` works with
torchvision's default anchors and RoI pooling. A network with fewer than four stages gets as
many further max-pooled levels as make five maps in all. ``frozen_norm=True`` turns the
BatchNorm layers into torchvision's ``FrozenBatchNorm2d``, as its detectors use with
pretrained backbones.
"""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import torch

from ..blocks.heads_modules import MaxPoolLevels
from ..compiler import Analyzer, generate_source
from ..compiler.module import upstream
from ..graph import Graph
from .backbone_levels import backbone_features
from .bundle import load_module
from .errors import ExportError
from .staging import CHECK_BATCH, ExportResult, compare, random_batch, staged_folder
from .trained import Trained

SOURCE, WEIGHTS = "backbone.py", "backbone_weights.pt"
CLASS_NAME = "Backbone"
ALLOWED_IMPORTS = {"torch", "torchvision", "collections", "os", "math"}
_IMPORTS = ("import os", "import torch.nn.functional as F",
            "from torchvision.ops import FeaturePyramidNetwork, FrozenBatchNorm2d",
            "from torchvision.ops.feature_pyramid_network import ExtraFPNBlock, LastLevelMaxPool")

_BUILDER = '''\
FEATURES = {features}  # feature map → channels
WEIGHTS = "{weights}"  # the trained weights, beside this file
# The input normalisation the network was trained with (per channel, on [0, 1] pixel values;
# None when not recorded): torchvision's detectors take it as image_mean and image_std.
IMAGE_MEAN, IMAGE_STD = {mean}, {std}
FPN_LEVELS = 4  # the features a pyramid takes: the last four, as torchvision's ResNets give


{max_pool_levels}


class BackboneWithFPN(nn.Module):
    """The backbone's last (up to) four feature maps through torchvision's feature pyramid:
    maps "0", "1", … and "pool", each of ``out_channels`` channels, as torchvision's
    resnet_fpn_backbone gives them; torchvision's FasterRCNN, MaskRCNN and RetinaNet take it."""

    def __init__(self, body, out_channels=256):
        super().__init__()
        self.body = body
        self.names = list(FEATURES)[-FPN_LEVELS:]
        extra = (LastLevelMaxPool() if len(self.names) == FPN_LEVELS
                 else MaxPoolLevels(FPN_LEVELS + 1 - len(self.names)))
        self.fpn = FeaturePyramidNetwork([FEATURES[n] for n in self.names], out_channels,
                                         extra_blocks=extra)
        self.out_channels = out_channels

    def forward(self, x):
        features = self.body(x)
        return self.fpn(OrderedDict((str(i), features[n]) for i, n in enumerate(self.names)))


def freeze_norms(module):
    """Every BatchNorm2d in ``module`` replaced by torchvision's FrozenBatchNorm2d with its
    statistics and scale, as torchvision's detectors do with pretrained backbones: the small
    batches of detection training would otherwise disturb the statistics."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d) and child.running_mean is not None:
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            frozen.running_mean.copy_(child.running_mean)
            frozen.running_var.copy_(child.running_var)
            if child.affine:
                frozen.weight.copy_(child.weight.detach())
                frozen.bias.copy_(child.bias.detach())
            setattr(module, name, frozen)
        else:
            freeze_norms(child)
    return module


def build_backbone(fpn=False, weights=True, frozen_norm=False):
    """``{name}`` (an OrderedDict of FEATURES' maps; ``out_channels`` is the last one's
    channels), or with ``fpn`` a BackboneWithFPN around it (``out_channels`` 256).

    ``weights``: True loads the exported weights (WEIGHTS, beside this file), False keeps a
    fresh initialisation, a path loads that state dict. ``frozen_norm`` freezes the
    BatchNorm layers (see freeze_norms).
    """
    body = {name}()
    if weights:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, WEIGHTS) if weights is True else weights
        body.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    if frozen_norm:
        freeze_norms(body)
    return BackboneWithFPN(body) if fpn else body'''


def export_backbone(trained: Trained, out: Path, overwrite: bool = False) -> ExportResult:
    """Write the backbone folder; it appears only when its features, loaded the way a user
    loads them, agree with the trained network's on a random batch."""
    with staged_folder(out, overwrite) as tmp:
        features = write_backbone(trained.graph, trained.checkpoint["model"], tmp,
                                  trained.mean, trained.std)
        diff = check_backbone(trained.model(), trained.image_shape, features, tmp, out)
    return ExportResult("backbone", out, trained.path, diff, CHECK_BATCH)


def write_backbone(graph: Graph, state: dict[str, torch.Tensor], folder: Path,
                   mean: tuple[float, ...] | None = None,
                   std: tuple[float, ...] | None = None) -> tuple[str, ...]:
    """Write backbone.py and backbone_weights.pt for ``graph`` with the weights ``state`` of
    the whole network (and the input normalisation, when known) into ``folder``; returns the
    features' node ids."""
    analysis = Analyzer().analyze(graph)
    features = backbone_features(graph, analysis)
    channels = {f: analysis.nodes[f].out_shape[0] for f in features}
    builder = _BUILDER.format(features=json.dumps(channels), weights=WEIGHTS, name=CLASS_NAME,
                              mean=_floats(mean), std=_floats(std),
                              max_pool_levels=inspect.getsource(MaxPoolLevels).strip())
    source = generate_source(graph, CLASS_NAME, analysis=analysis, features=features,
                             trailer=builder, imports=_IMPORTS)
    check_imports(source, folder / SOURCE)
    (folder / SOURCE).write_text(source, encoding="utf-8")
    torch.save(backbone_state(graph, features, state), folder / WEIGHTS)
    return features


def _floats(values: tuple[float, ...] | None) -> str:
    return "None" if values is None else repr([float(v) for v in values])


def backbone_state(graph: Graph, features: tuple[str, ...],
                   state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The entries of the whole network's ``state`` that belong to the nodes the features
    depend on (the classifier's are left out)."""
    prefixes = tuple(graph.node(n).module_name + "." for n in upstream(graph, features))
    return {k: v.detach().cpu() for k, v in state.items() if k.startswith(prefixes)}


def check_imports(source: str, where: Path) -> None:
    """backbone.py must run with torch and torchvision alone."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""] if not node.level else ["." * node.level]
        else:
            continue
        if any(n.split(".")[0] not in ALLOWED_IMPORTS for n in names):
            raise ExportError(f"{where} would import {ast.unparse(node)!r}, which needs more "
                              "than torch and torchvision; the backbone export needs updating.")


def check_backbone(model: torch.nn.Module, image_shape: tuple[int, int, int],
                   features: tuple[str, ...], folder: Path, out: Path) -> float:
    """Load backbone.py and its weights as a user would (``build_backbone()``), compare each
    feature map with the trained network's, and run the feature pyramid once."""
    module = load_module(folder / SOURCE)
    try:
        backbone = module.build_backbone(weights=str(folder / WEIGHTS)).eval()
    except RuntimeError as exc:
        raise ExportError(f"{out}: the backbone's weights do not load into its {SOURCE} "
                          f"({str(exc).splitlines()[0]}); nothing was written.") from None
    x = random_batch(image_shape, CHECK_BATCH, seed=2)
    with torch.no_grad():
        got, want = backbone(x), model.eval().node_values(x, nodes=features)
        module.BackboneWithFPN(backbone)(x)
    if list(got) != list(features):
        raise ExportError(f"{out}: {SOURCE} returns the features {list(got)} instead of "
                          f"{list(features)}; nothing was written.")
    return max(compare(f"{out} ({SOURCE}, feature ‘{name}’)", got[name], want[name])
               for name in features)
