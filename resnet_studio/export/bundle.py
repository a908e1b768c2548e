"""The bundle: a folder that trains and reproduces the network without ResNet Studio.

    bundle/
      README.md              what is here and how to use it
      project.rstudio.json   the project (open it in ResNet Studio)
      model.py               readable PyTorch (class Net), with the project in a comment block
      checkpoint.pt          the training checkpoint: weights, optimiser, schedule, progress
      config.json            the training settings of the run
      train.py               standalone training script (torch + torchvision; torchrun-ready)
      rstudio_data/          the synthetic set, data fitting and batched augmentation

``rstudio_data`` holds verbatim copies of the modules of ``resnet_studio.data`` that train.py
uses, so the bundle draws the same synthetic images and the same augmented batches for the
same seed; a copied module may import only the standard library, torch and its fellow copies.

A detector's or segmenter's bundle trains its dense task: its train.py is ``train_dense``,
which builds on the classifier's script (copied beside it as ``rstudio_train.py``), and
``rstudio_data/dense/`` adds the shapes generator, the mask-folder reader and the fitting and
augmentation that move boxes and masks with the image (they may also import numpy and
Pillow, which torchvision installs).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import sys
import uuid
from pathlib import Path
from types import ModuleType

from ..compiler.task import CLASSIFICATION, task_of
from ..data import augment, fit, images, source, synthetic
from ..data import config as data_config
from ..data.dense import sample as dense_sample
from ..data.dense import synthetic as dense_synthetic
from ..data.dense import transforms as dense_transforms
from ..data.dense import voc as dense_voc
from ..graph import project
from . import train_dense, train_script
from .errors import ExportError
from .formats import comparable_outputs
from .model_source import model_source_with_project
from .staging import (
    CHECK_BATCH,
    ExportResult,
    compare,
    random_batch,
    staged_folder,
)
from .trained import Trained, copy_checkpoint

DATA_PACKAGE = "rstudio_data"
TRAIN_LIBRARY = "rstudio_train.py"  # a dense bundle's copy of the classifier's train.py
# What train.py imports from rstudio_data (fit needs config for its DataConfig).
DATA_MODULES = (augment, data_config, fit, source, synthetic)
# What a dense train.py adds (sample reads images through ``images``).
DENSE_MODULES = (images, dense_sample, dense_synthetic, dense_transforms, dense_voc)
_ALLOWED_IMPORTS = {"torch", "math", "hashlib", "struct", "dataclasses", "collections",
                    "__future__", "typing"}
_DENSE_IMPORTS = {"numpy", "PIL", "re", "threading", "warnings", "contextlib", "pathlib"}


def export_bundle(trained: Trained, out: Path, overwrite: bool = False) -> ExportResult:
    with staged_folder(out, overwrite) as tmp:
        write_bundle(trained, tmp)
        diff = _check_model_py(trained, tmp, out)
    return ExportResult("bundle", out, trained.path, diff, CHECK_BATCH)


def write_bundle(trained: Trained, folder: Path) -> None:
    project.save(trained.graph, folder / "project.rstudio.json")
    (folder / "model.py").write_text(model_source_with_project(trained.graph), encoding="utf-8")
    copy_checkpoint(trained.path, folder / "checkpoint.pt")  # with the data's description
    config = json.dumps(trained.config, indent=2, ensure_ascii=False) + "\n"
    (folder / "config.json").write_text(config, encoding="utf-8")
    dense = task_of(trained.graph) != CLASSIFICATION
    script = train_dense if dense else train_script
    (folder / "train.py").write_text(inspect.getsource(script), encoding="utf-8")
    if dense:
        (folder / TRAIN_LIBRARY).write_text(inspect.getsource(train_script), encoding="utf-8")
    _copy_data_modules(folder / DATA_PACKAGE, DATA_MODULES + (DENSE_MODULES if dense else ()))
    (folder / "README.md").write_text(readme(trained), encoding="utf-8")


def _copy_data_modules(target: Path, modules: tuple[ModuleType, ...]) -> None:
    copied = {_data_name(m) for m in modules}
    for module in modules:
        text = inspect.getsource(module)
        _check_self_contained(module.__name__, text, copied)
        path = target.joinpath(*_data_name(module).split(".")).with_suffix(".py")
        _make_package(path.parent, target)
        path.write_text(text, encoding="utf-8")


def _make_package(folder: Path, root: Path) -> None:
    if folder.exists():
        return
    if folder != root:
        _make_package(folder.parent, root)
    folder.mkdir()
    (folder / "__init__.py").write_text(
        '"""Copied from ResNet Studio (resnet_studio.data) by the bundle export; do not edit."""\n',
        encoding="utf-8")


def _data_name(module: ModuleType) -> str:
    """``resnet_studio.data.dense.voc`` → ``dense.voc``."""
    return module.__name__.split(".", 2)[2]


def _check_self_contained(name: str, text: str, copied: set[str]) -> None:
    """A copied module must run without ResNet Studio: only allowed absolute imports (numpy
    and Pillow too in the dense modules), and relative ones of modules that are copied too."""
    package = name.split(".")[2:-1]  # resnet_studio.data.dense.voc → ["dense"]
    dense = package or name.endswith(".images")
    allowed = _ALLOWED_IMPORTS | (_DENSE_IMPORTS if dense else set())
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.level:
            up = node.level - 1
            bad = node.module is None or up > len(package) or \
                ".".join([*package[:len(package) - up], node.module]) not in copied
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            bad = any(n.split(".")[0] not in allowed for n in names)
        else:
            continue
        if bad:
            raise ExportError(f"{name} imports {ast.unparse(node)!r}, which a bundle cannot "
                              "carry; the bundle export needs updating.")



# ----- the check ------------------------------------------------------------------------------
def _check_model_py(trained: Trained, folder: Path, out: Path) -> float:
    """Load the bundle's model.py and checkpoint.pt the way a user would and compare outputs."""
    import torch

    module = load_module(folder / "model.py")
    net = module.Net()
    state = torch.load(folder / "checkpoint.pt", map_location="cpu", weights_only=True)["model"]
    try:
        net.load_state_dict(state)
    except RuntimeError as exc:
        raise ExportError(f"{out}: the bundle's checkpoint does not load into its model.py "
                          f"({str(exc).splitlines()[0]}); nothing was written.") from None
    compile((folder / "train.py").read_text(encoding="utf-8"), str(folder / "train.py"), "exec")
    x = random_batch(trained.image_shape, CHECK_BATCH, seed=2)
    return compare(f"{out} (model.py with checkpoint.pt)", comparable_outputs(net, x),
                   comparable_outputs(trained.model(), x))



def load_module(path: Path) -> ModuleType:
    name = f"_rstudio_bundle_model_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


# ----- README ---------------------------------------------------------------------------------
# The two readmes' shared paragraph: loading the weights, and how train.py goes on.
USE_AND_TRAIN = """Use the trained network:

```python
import torch
from model import Net
net = Net()
net.load_state_dict(torch.load("checkpoint.pt", weights_only=True)["model"])
net.eval()
```

Train on (by default from `checkpoint.pt`, with the settings in `config.json`):
"""


def readme(trained: Trained) -> str:
    if task_of(trained.graph) != CLASSIFICATION:
        return dense_readme(trained)
    spec, ck = trained.input_spec, trained.checkpoint
    data = trained.config.get("data", {})
    norm = (f"mean {list(trained.mean)}, std {list(trained.std)} (per channel, on [0, 1] "
            "pixel values)" if trained.mean and trained.std else "as recorded by the run")
    return f"""# {trained.graph.name or "network"} — exported by ResNet Studio

Trained for {ck['epoch']} epoch(s), {ck['step']} steps, on `{data.get('dataset', '?')}`.
Input: {spec.channels}×{spec.height}×{spec.width} images, normalised with {norm}.
Output: {spec.classes} class scores (logits); classes: {', '.join(trained.class_names)}.

| file | what it is |
|---|---|
| `model.py` | the network as readable PyTorch (`Net`); needs only torch |
| `checkpoint.pt` | the training checkpoint: weights (`["model"]`), optimiser, schedule, progress |
| `config.json` | the training settings of the run |
| `train.py` | standalone training script: torch + torchvision only |
| `rstudio_data/` | the synthetic set, data fitting and augmentation, used by `train.py` |
| `project.rstudio.json` | the project: open it in ResNet Studio to edit the network |

{USE_AND_TRAIN}
```
python train.py --out runs/more                    # go on to the recorded epoch count
python train.py --epochs 30 --out runs/longer
python train.py --fresh --dataset cifar10 --data-root ~/data --download
torchrun --nproc-per-node 4 train.py --out runs/ddp  # DistributedDataParallel
```

`python train.py --help` lists every option. `model.py` ends with a comment block holding the
project: `resnet-studio import model.py -o net.rstudio.json` opens the network again.
Load `checkpoint.pt` only with `weights_only=True` (as above), like any file from elsewhere.
"""


def dense_readme(trained: Trained) -> str:
    spec, ck, task = trained.input_spec, trained.checkpoint, task_of(trained.graph)
    data = trained.config.get("data", {})
    output = ("`model(images)` in eval mode: per image a dict of `boxes` (x1, y1, x2, y2 in "
              "pixels), `labels` and `scores`; in train mode `model(images, targets)` returns "
              "its losses" if task == "detection" else
              f"`model(images)[\"out\"]`: {spec.classes} class scores per pixel (B×K×H×W)")
    return f"""# {trained.graph.name or "network"} — exported by ResNet Studio ({task})

Trained for {ck['epoch']} epoch(s), {ck['step']} steps, on `{data.get('dataset', '?')}`.
Input: {spec.channels}×{spec.height}×{spec.width} images, normalised per channel with the
training images' statistics (train.py measures them as ResNet Studio does).
Output: {output}. Classes: {', '.join(trained.class_names)}.

| file | what it is |
|---|---|
| `model.py` | the network as readable PyTorch (`Net`, a torchvision {task} model) |
| `checkpoint.pt` | the training checkpoint: weights (`["model"]`), optimiser, schedule, progress |
| `config.json` | the training settings of the run |
| `train.py` | standalone training script for the {task} task: torch + torchvision only |
| `{TRAIN_LIBRARY}` | settings, processes, optimiser, schedule, checkpoints: `train.py` uses them |
| `rstudio_data/` | the shapes generator, mask-folder reader, fitting and augmentation |
| `project.rstudio.json` | the project: open it in ResNet Studio to edit the network |

{USE_AND_TRAIN}
```
python train.py --out runs/more                    # go on to the recorded epoch count
python train.py --epochs 30 --out runs/longer
torchrun --nproc-per-node 4 train.py --out runs/ddp  # DistributedDataParallel
```

It trains on the built-in shapes (drawn as ResNet Studio draws them) or, for a segmenter, a
mask folder (`--dataset masks:PATH`); COCO folders train in ResNet Studio itself. Validation
reports {"mAP@0.5 (COCO's definition) and the summed losses" if task == "detection" else
         "mean IoU and the pixel cross-entropy"}; best.pt keeps the best epoch.
`python train.py --help` lists every option. Load `checkpoint.pt` only with
`weights_only=True` (as above), like any file from elsewhere.
"""
