"""The bundle of a detector and of a segmenter: model.py loads the checkpoint key for key, and
train.py — run without ResNet Studio — trains the dense task on the shapes exactly as ResNet
Studio's engine continues the same run (same weights, losses, mAP@0.5 / mean IoU)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from test_export_support import PYTHON, child_env

from resnet_studio.blocks import CATALOGUE
from resnet_studio.data import DataConfig
from resnet_studio.export import export_checkpoint
from resnet_studio.export.bundle import load_module
from resnet_studio.graph import project
from resnet_studio.train import Engine, TrainConfig, load_checkpoint

EXAMPLES = Path(__file__).resolve().parents[2] / "resnet_studio" / "examples"
TASKS = {"detector": ("shapes-detection", "mAP@0.5"),
         "segmenter": ("shapes-segmentation", "mean IoU")}
STANDALONE = ("import runpy, sys; sys.modules['resnet_studio'] = None; "
              "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


def tiny_config(dataset: str, epochs: int = 1) -> TrainConfig:
    """Two steps of two 64×64 shapes images an epoch, crops and flips on, dropout in the
    segmenter's head and proposal sampling in the detector's drawing random numbers."""
    return TrainConfig(optimizer="adamw", lr=1e-3, epochs=epochs, batch_size=2, device="cpu",
                       telemetry_every=1, seed=2,
                       data=DataConfig(dataset=dataset, train_size=4, val_size=2, seed=1))


_EXPORTED: dict[str, tuple[str, Path, Path]] = {}


def _exported(name: str, base: Path) -> tuple[str, Path, Path]:
    """(name, run directory, bundle) of one example trained for one epoch, made once."""
    if name not in _EXPORTED:
        graph = project.load(EXAMPLES / f"shapes_{name}.rstudio.json", CATALOGUE)
        engine = Engine(graph, tiny_config(TASKS[name][0]), [], base / name / "run")
        end = engine.run()
        engine.close()
        assert end.status == "finished", end.message
        export_checkpoint(base / name / "run", "bundle", base / name / "bundle")
        _EXPORTED[name] = (name, base / name / "run", base / name / "bundle")
    return _EXPORTED[name]


@pytest.fixture(scope="module", params=sorted(TASKS))
def exported(request, tmp_path_factory):
    return _exported(request.param, tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def segmenter_bundle(tmp_path_factory):
    return _exported("segmenter", tmp_path_factory.getbasetemp())[2]


def engine_continuation(run: Path, out: Path, epochs: int) -> dict:
    ck = load_checkpoint(run / "best.pt")
    config = TrainConfig.from_dict(ck["config"]).replace(epochs=epochs)
    engine = Engine(project.from_dict(ck["graph"], CATALOGUE), config, [], out,
                    resume_from=run / "best.pt")
    end = engine.run()
    engine.close()
    assert end.status == "finished", end.message
    return load_checkpoint(out / "last.pt")


def test_the_dense_bundle_holds_the_dense_script_and_data(exported):
    _, _, bundle = exported
    assert {p.name for p in bundle.iterdir()} == {
        "README.md", "checkpoint.pt", "config.json", "model.py", "project.rstudio.json",
        "train.py", "rstudio_train.py", "rstudio_data"}
    assert {p.name for p in (bundle / "rstudio_data" / "dense").iterdir()} == {
        "__init__.py", "sample.py", "synthetic.py", "transforms.py", "voc.py"}
    assert "class DenseRun" in (bundle / "train.py").read_text()


def test_the_bundles_model_py_loads_the_checkpoint_key_for_key(exported):
    _, run, bundle = exported
    net = load_module(bundle / "model.py").Net()
    state = load_checkpoint(run / "best.pt")["model"]
    assert list(net.state_dict()) == list(state)
    net.load_state_dict(state)  # strict: every key, every shape


def test_train_py_continues_the_dense_run_exactly_as_resnet_studio(exported, tmp_path):
    name, run, bundle = exported
    out = tmp_path / "bundle-run"
    result = subprocess.run(
        [PYTHON, "-c", STANDALONE, "train.py", "--epochs", "2", "--out", str(out)],
        cwd=bundle, env=child_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "epoch 2: train loss" in result.stdout and TASKS[name][1] in result.stdout
    ours = load_checkpoint(out / "last.pt")  # ResNet Studio reads it
    theirs = engine_continuation(run, tmp_path / "engine-run", 2)
    assert ours["step"] == theirs["step"] == 4
    start = load_checkpoint(run / "best.pt")["model"]
    moved = [k for k, v in start.items() if v.is_floating_point()
             and not torch.equal(v, ours["model"][k])]
    assert moved, "train.py did not change the weights"
    for key, value in theirs["model"].items():
        torch.testing.assert_close(ours["model"][key], value, atol=1e-5, rtol=1e-4)
    mine, engine = ours["metrics"]["epochs"][-1], theirs["metrics"]["epochs"][-1]
    for field in ("train_loss", "val_loss", "val_acc"):
        assert mine[field] == pytest.approx(engine[field], rel=1e-4, abs=1e-6), field
    assert all(torch.isfinite(torch.tensor(mine[f])) for f in ("train_loss", "val_loss"))


def test_train_py_refuses_a_dataset_of_another_task_in_one_line(exported, tmp_path):
    name, _, bundle = exported
    other = "shapes-segmentation" if name == "detector" else "shapes-detection"
    result = subprocess.run(
        [PYTHON, "-c", STANDALONE, "train.py", "--dataset", other, "--out", str(tmp_path)],
        cwd=bundle, env=child_env(), capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().startswith(f"train.py: error: dataset '{other}' cannot train")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def bundle_script(segmenter_bundle):
    """The segmenter bundle's train.py imported (as ``bundle_dense_train``), with its own
    modules; forgotten after."""
    sys.path.insert(0, str(segmenter_bundle))
    spec = importlib.util.spec_from_file_location("bundle_dense_train",
                                                  segmenter_bundle / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(segmenter_bundle))
    for name in [n for n in sys.modules
                 if n in ("model", "rstudio_train") or n.split(".")[0] == "rstudio_data"]:
        del sys.modules[name]


def mask_folder(root: Path) -> Path:
    """Six 40×48 images of coloured rectangles (classes 1–3) and their grey masks."""
    gen = np.random.default_rng(5)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("background\nsquare\ndisc\ntriangle\n")
    for i in range(6):
        pixels = gen.integers(0, 60, (40, 48, 3)).astype(np.uint8)
        mask = np.zeros((40, 48), np.uint8)
        for label in (1, 2, 3):
            top, left = gen.integers(0, 28), gen.integers(0, 36)
            mask[top: top + 10, left: left + 10] = label
            pixels[top: top + 10, left: left + 10] = gen.integers(100, 255, 3)
        Image.fromarray(pixels).save(root / "images" / f"m{i}.png")
        Image.fromarray(mask, mode="L").save(root / "masks" / f"m{i}.png")
    return root


def test_the_scripts_mask_folder_batches_are_resnet_studios(bundle_script, tmp_path):
    from resnet_studio.data.dense.loading import load_dense

    folder = mask_folder(tmp_path / "seg")
    data = {"dataset": f"masks:{folder}", "val_fraction": 0.34, "val_folder": None, "seed": 3,
            "augment": True, "crop_padding": 4, "flip": None}
    train_src, val_src = bundle_script.dense_sources(data, "segmentation", (3, 64, 64))
    train = bundle_script.DenseSplit(train_src, (3, 64, 64), bundle_script.dense_augment(data), 3)
    theirs = load_dense(DataConfig(**data), 2, target=(3, 64, 64))
    assert (len(train), len(val_src)) == (theirs.info.train_size, theirs.info.val_size) == (4, 2)
    assert train.mean == pytest.approx(theirs.info.mean) and train.std == pytest.approx(
        theirs.info.std)
    from rstudio_data.augment import Normaliser

    env = SimpleNamespace(rank=0, world=1)
    ours = bundle_script.DenseBatches(train, 2, 3, env, "segmentation",
                                      Normaliser(train.mean, train.std, "cpu"), "cpu")
    for epoch in (0, 1):
        pairs = list(zip(ours.epoch(epoch), theirs.train.epoch(epoch)))
        assert len(pairs) == 2
        for (_, x, y), (x2, y2) in pairs:
            torch.testing.assert_close(x, x2)
            assert torch.equal(y, y2) and set(y.unique().tolist()) - {0, 1, 2, 3, 255} == set()


def test_train_py_trains_a_segmenter_on_a_mask_folder(segmenter_bundle, tmp_path):
    folder = mask_folder(tmp_path / "seg")
    out = tmp_path / "fresh"
    result = subprocess.run(
        [PYTHON, "-c", STANDALONE, "train.py", "--fresh", "--dataset", f"masks:{folder}",
         "--max-steps", "2", "--out", str(out)],
        cwd=segmenter_bundle, env=child_env(), capture_output=True, text=True, timeout=180,
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "from new weights" in result.stdout and "stopped after 2 steps" in result.stdout
    ours = load_checkpoint(out / "last.pt")
    assert ours["step"] == 2 and ours["config"]["data"]["dataset"] == f"masks:{folder}"
    assert all(bool(torch.isfinite(v).all()) for v in ours["model"].values()
               if v.is_floating_point())


def test_the_scripts_head_table_is_resnet_studios(bundle_script):
    from resnet_studio.compiler.task import HEAD_TASKS

    assert bundle_script.HEAD_TASKS == HEAD_TASKS


def _boxes(gen: torch.Generator, n: int, size: float = 64.0) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=gen) * size * 0.7
    wh = 10 + torch.rand(n, 2, generator=gen) * size * 0.3
    return torch.cat([xy, xy + wh], 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_scripts_map50_is_cocos_as_torchmetrics_computes_it(seed):
    from resnet_studio.export.train_dense import average_precision_50
    from resnet_studio.train.dense_metrics import detection_scores, mean_average_precision

    gen = torch.Generator().manual_seed(seed)
    found, truth = [], []
    for _ in range(5):  # true boxes, and detections near some of them plus strays
        gt = _boxes(gen, 4)
        labels = torch.randint(1, 4, (4,), generator=gen)
        near = gt[:3] + torch.randn(3, 4, generator=gen) * 2.5  # boxes stay boxes
        det = torch.cat([near, _boxes(gen, 4)])
        truth.append({"boxes": gt, "labels": labels})
        found.append({"boxes": det, "scores": torch.rand(7, generator=gen),
                      "labels": torch.cat([labels[:3], torch.randint(1, 4, (4,),
                                                                     generator=gen)])})
    metric = mean_average_precision()
    metric.update(found, truth)
    want = detection_scores(metric)["map_50"]
    assert 0.05 < want < 0.95  # a case where matching and ranking both matter
    assert average_precision_50(found, truth) == pytest.approx(want, abs=1e-6)


def test_the_scripts_mean_iou_is_resnet_studios():
    import numpy as np

    from resnet_studio.export.train_dense import mean_iou
    from resnet_studio.train.dense_metrics import segmentation_scores

    confusion = torch.tensor([[50, 3, 0, 1], [4, 20, 2, 0], [0, 0, 0, 0], [2, 1, 0, 9]])
    want = segmentation_scores(np.asarray(confusion))["miou"]
    assert mean_iou(confusion) == pytest.approx(want) and 0.3 < want < 0.9
