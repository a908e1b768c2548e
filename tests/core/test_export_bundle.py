"""The bundle export: its files, its copy of the synthetic data and augmentation, and its
train.py — which continues a run exactly as ResNet Studio would, without ResNet Studio.
(Its run under torchrun is in test_export_torchrun.py.)"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_export_support import (
    PYTHON,
    child_env,
    exported_bundle,
    run_config,
)

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import build
from resnet_studio.data import load_data
from resnet_studio.data import synthetic as studio_synthetic
from resnet_studio.export import ExportError, export_checkpoint, import_model_source, train_script
from resnet_studio.graph import project
from resnet_studio.train import CallbackSink, Engine, TrainConfig, load_checkpoint
from resnet_studio.train.optim import SchedulePlan, parameter_groups

BUNDLE_FILES = {"README.md", "checkpoint.pt", "config.json", "model.py", "project.rstudio.json",
                "train.py", "rstudio_data"}
# Runs train.py as `python train.py ...` would, with every import of ResNet Studio made to fail.
STANDALONE = ("import runpy, sys; sys.modules['resnet_studio'] = None; "
              "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """(run directory, bundle exported from its best.pt), shared and read-only."""
    return exported_bundle(tmp_path_factory.getbasetemp())


@pytest.fixture
def bundle_imports(exported):
    """Import the bundle's own modules (train.py as ``bundle_train``); forget them after."""
    bundle = exported[1]
    sys.path.insert(0, str(bundle))
    spec = importlib.util.spec_from_file_location("bundle_train", bundle / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(bundle))
    for name in [n for n in sys.modules if n == "model" or n.split(".")[0] == "rstudio_data"]:
        del sys.modules[name]


def engine_continuation(run: Path, out: Path, epochs: int, stop_step: int) -> Path:
    """ResNet Studio's engine going on from the run's best.pt, stopped after ``stop_step``."""
    ck = load_checkpoint(run / "best.pt")
    config = TrainConfig.from_dict(ck["config"]).replace(epochs=epochs, telemetry_every=1)
    holder = {}

    def stop(record):
        if type(record).__name__ == "StepRecord" and record.step == stop_step:
            holder["engine"].stop()

    engine = Engine(project.from_dict(ck["graph"], CATALOGUE), config, [CallbackSink(stop)],
                    out, resume_from=run / "best.pt")
    holder["engine"] = engine
    engine.run()
    engine.close()
    return out / "last.pt"


# ----- contents -------------------------------------------------------------------------------
def test_the_bundle_holds_project_model_checkpoint_and_script(exported):
    run, bundle = exported
    assert {p.name for p in bundle.iterdir()} == BUNDLE_FILES
    ck = load_checkpoint(run / "best.pt")
    graph = project.load(bundle / "project.rstudio.json", CATALOGUE)
    assert project.to_dict(graph) == ck["graph"]
    assert (bundle / "checkpoint.pt").read_bytes() == (run / "best.pt").read_bytes()
    assert json.loads((bundle / "config.json").read_text()) == ck["config"]
    assert (bundle / "train.py").read_text() == inspect.getsource(train_script)
    assert "torchrun --nproc-per-node" in (bundle / "README.md").read_text()
    assert {p.name for p in (bundle / "rstudio_data").iterdir()} == {
        "__init__.py", "augment.py", "config.py", "fit.py", "source.py", "synthetic.py"}


def test_a_bundle_replaces_an_old_one_only_when_asked(exported, tmp_path):
    run = exported[0]
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "stale.txt").write_text("from an older export")
    with pytest.raises(ExportError, match="already exists"):
        export_checkpoint(run / "last.pt", "bundle", out)
    assert [p.name for p in out.iterdir()] == ["stale.txt"]
    export_checkpoint(run / "last.pt", "bundle", out, overwrite=True)
    assert {p.name for p in out.iterdir()} == BUNDLE_FILES
    assert (out / "checkpoint.pt").read_bytes() == (run / "last.pt").read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # nothing staged is left
    readme = (out / "README.md").read_text()
    assert "classes: disk, square, triangle, ring" in readme and "1 epoch(s), 4 steps" in readme


@pytest.mark.parametrize("name", ["train.py", "model.py", "rstudio_data/augment.py",
                                  "rstudio_data/source.py", "rstudio_data/synthetic.py"])
def test_bundle_code_imports_only_torch_torchvision_and_its_own_files(exported, name):
    own = {"model", "rstudio_data", "__future__"}
    allowed = own | {"torch", "torchvision", "numpy"} | set(sys.stdlib_module_names)
    tree = ast.parse((exported[1] / name).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level:
            roots.add(node.module.split(".")[0])
    assert roots and roots <= allowed, sorted(roots - allowed)


def test_the_bundled_model_py_opens_as_the_project(exported):
    run, bundle = exported
    graph = import_model_source(bundle / "model.py")
    assert project.to_dict(graph) == load_checkpoint(run / "best.pt")["graph"]


# ----- the bundle's data equal ResNet Studio's ------------------------------------------------
@pytest.mark.parametrize("args", [(12, 8, 3, 4, 3, "train"), (12, 8, 3, 4, 3, "val"),
                                  (7, 16, 1, 9, 11, "train")])
def test_the_bundled_synthetic_set_equals_resnet_studios(bundle_imports, exported, args):
    from rstudio_data import synthetic as bundled

    assert Path(bundled.__file__).parent == exported[1] / "rstudio_data"
    size, image, channels, classes, seed, split = args
    mine = bundled.make_synthetic(size, image, channels, classes, seed, split)
    studio = studio_synthetic.make_synthetic(size, image, channels, classes, seed, split)
    assert torch.equal(mine[0], studio[0]) and torch.equal(mine[1], studio[1])
    other = bundled.make_synthetic(size, image, channels, classes, seed + 1, split)
    assert not torch.equal(mine[0], other[0])  # the seed matters: equality is not by accident


@pytest.mark.parametrize("rank,world", [(0, 1), (1, 2)])
def test_the_bundled_batches_equal_the_engines(bundle_imports, rank, world):
    from types import SimpleNamespace

    from rstudio_data.augment import Normaliser

    config = run_config()
    data = config.data.to_dict()
    dataset = bundle_imports.load_dataset(data)
    norm = Normaliser(dataset.mean, dataset.std, torch.device("cpu"))
    env = SimpleNamespace(rank=rank, world=world)
    mine = bundle_imports.TrainBatches(*dataset.train, config.batch_size, data["seed"], env,
                                       bundle_imports.augmentation(data, dataset.flip), norm)
    studio = load_data(config.data, config.batch_size, rank=rank, world_size=world).train
    assert len(mine) == len(studio) == 4 // world
    for epoch in (0, 1):
        ours = list(mine.epoch(epoch, start=1))
        theirs = list(studio.epoch(epoch, start_batch=1))
        assert [b for b, _, _ in ours] == list(range(1, len(studio)))
        assert len(ours) == len(theirs)
        for (_, x, y), (x2, y2) in zip(ours, theirs):
            assert torch.equal(x, x2) and torch.equal(y, y2)


# ----- the bundle's optimisation equals ResNet Studio's ---------------------------------------
SCHEDULES = [
    {"schedule": "cosine", "warmup_steps": 6, "min_lr": 0.001},
    {"schedule": "cosine", "warmup_epochs": 1.5},
    {"schedule": "step", "step_size": 2, "gamma": 0.5, "warmup_epochs": 1.0},
    {"schedule": "multistep", "milestones": (2, 3), "gamma": 0.2},
    {"schedule": "multistep", "milestone_fractions": (0.5, 0.75), "gamma": 0.1},
    {"schedule": "onecycle", "pct_start": 0.25, "warmup_steps": 3},
    {"schedule": "constant", "warmup_steps": 4},
]


@pytest.mark.parametrize("changes", SCHEDULES, ids=lambda c: "-".join(c))
def test_the_learning_rate_schedule_equals_the_engines(changes):
    config = TrainConfig(epochs=5, lr=0.2, **changes).validate()
    plan = SchedulePlan(config, steps_per_epoch=7, total_steps=35)
    cfg = config.to_dict()
    ours = [train_script.lr_factor(s, cfg, 7, 35) for s in range(40)]
    theirs = [plan.factor(s) for s in range(40)]
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15)
    assert len(set(theirs)) > 1 or changes["schedule"] == "constant"


@pytest.mark.parametrize("decay_all", [False, True])
def test_parameter_groups_equal_the_engines(decay_all):
    from resnet_studio.presets import create

    model = build(create("preact_resnet18"))
    config = TrainConfig(decay_norm_and_bias=decay_all)
    ours = train_script.parameter_groups(model, config.to_dict())
    theirs = parameter_groups(model, config)
    assert [[id(p) for p in g["params"]] for g in ours] == \
        [[id(p) for p in g["params"]] for g in theirs]
    assert [g["weight_decay"] for g in ours] == [g["weight_decay"] for g in theirs]
    assert len(ours) == (1 if decay_all else 2)


# ----- running train.py -----------------------------------------------------------------------
def test_train_py_continues_the_run_exactly_as_resnet_studio_would(exported, tmp_path):
    run, bundle = exported
    out = tmp_path / "bundle-run"
    result = subprocess.run(
        [PYTHON, "-c", STANDALONE, "train.py", "--epochs", "2", "--max-steps", "3",
         "--log-every", "1", "--out", str(out)],
        cwd=bundle, env=child_env(), capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "from checkpoint.pt" in result.stdout and "stopped after 3 steps" in result.stdout
    ours = load_checkpoint(out / "last.pt")  # ResNet Studio reads (and could resume) it
    assert (ours["epoch"], ours["batch"], ours["step"]) == (1, 3, 7)
    assert TrainConfig.from_dict(ours["config"]).epochs == 2
    theirs = load_checkpoint(engine_continuation(run, tmp_path / "engine-run", 2, 7))
    assert theirs["step"] == 7
    # Warm-up (steps 5-6), cosine decay, crops, flips and cutout: every weight agrees.
    for key, value in theirs["model"].items():
        torch.testing.assert_close(ours["model"][key], value, atol=1e-6, rtol=1e-5)
    assert ours["scheduler"]["last_epoch"] == theirs["scheduler"]["last_epoch"] == 7
    assert ours["optimizer"]["param_groups"][0]["lr"] == pytest.approx(
        theirs["optimizer"]["param_groups"][0]["lr"])
    start = load_checkpoint(run / "best.pt")["model"]
    assert not torch.equal(ours["model"]["fc.weight"], start["fc.weight"])  # it did train


def test_train_py_fresh_start_matches_a_fresh_engine_run(bundle_imports, exported, tmp_path):
    run = exported[0]
    out = tmp_path / "fresh"
    bundle_imports.main(["--fresh", "--max-steps", "2", "--out", str(out)])
    ours = load_checkpoint(out / "last.pt")
    assert (ours["epoch"], ours["batch"], ours["step"]) == (0, 2, 2)
    holder = {}

    def stop(record):
        if type(record).__name__ == "StepRecord" and record.step == 2:
            holder["engine"].stop()

    ck = load_checkpoint(run / "best.pt")
    config = TrainConfig.from_dict(ck["config"]).replace(telemetry_every=1)
    engine = Engine(project.from_dict(ck["graph"], CATALOGUE), config, [CallbackSink(stop)],
                    tmp_path / "engine")
    holder["engine"] = engine
    engine.run()
    engine.close()
    theirs = load_checkpoint(tmp_path / "engine" / "last.pt")
    for key, value in theirs["model"].items():
        torch.testing.assert_close(ours["model"][key], value, atol=1e-6, rtol=1e-5)


def test_train_py_refuses_a_dataset_it_cannot_load(bundle_imports, tmp_path):
    with pytest.raises(SystemExit, match="not available in the standalone script"):
        bundle_imports.main(["--dataset", "folder:/images", "--out", str(tmp_path / "x")])


def test_train_py_refuses_a_training_subset_it_cannot_draw(bundle_imports):
    data = {**TrainConfig().data.to_dict(), "subset": 300}
    with pytest.raises(SystemExit, match="subset of 300 images"):
        bundle_imports.load_dataset(data, (3, 32, 32))


def test_the_scripts_torchvision_table_matches_the_studios_datasets():
    """train.py needs only torchvision, so it carries its own copy of the normalisation
    table: a bundle must normalise exactly as the run it was exported from."""
    from resnet_studio.data.torchvision_sets import SETS

    assert set(train_script.TORCHVISION_SETS) == set(SETS)
    for name, (cls_name, mean, std, flip) in train_script.TORCHVISION_SETS.items():
        spec = SETS[name]
        assert (cls_name, mean, std, flip) == (spec.cls.__name__, spec.mean, spec.std,
                                               spec.flip), name


def test_train_py_serves_the_synthetic_set_at_the_network_s_input(bundle_imports):
    """``fit: network`` (the default) draws the synthetic set at the network's C×H×W, as the
    engine does, whatever the data settings' own image size and channels say."""
    from resnet_studio.data import DataConfig
    from resnet_studio.data.loading import _load_source

    data = run_config().data.replace(image_size=12, channels=1)
    mine = bundle_imports.load_dataset(data.to_dict(), (3, 8, 8))
    studio, _ = _load_source(data, (3, 8, 8))
    assert tuple(mine.train[0].shape[1:]) == (3, 8, 8)
    assert torch.equal(mine.train[0], studio.train.images)
    assert mine.mean == pytest.approx(studio.mean) and mine.std == pytest.approx(studio.std)
    kept = bundle_imports.load_dataset(DataConfig(**{**data.to_dict(), "fit": "none"}).to_dict(),
                                       (3, 8, 8))
    assert tuple(kept.train[0].shape[1:]) == (1, 12, 12)
    with pytest.raises(SystemExit, match="square"):
        bundle_imports.load_dataset(data.to_dict(), (3, 8, 6))


def test_train_py_fits_in_memory_images_as_the_engine_does(bundle_imports):
    """torchvision's sets: resized and turned grey→RGB like data/fit.py, statistics redone."""
    from types import SimpleNamespace

    from resnet_studio.data.fit import fit_images
    from resnet_studio.data.source import channel_stats

    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (10, 1, 28, 28), generator=gen, dtype=torch.uint8)
    labels = torch.arange(10) % 3
    dataset = SimpleNamespace(train=(images, labels), val=(images[:4], labels[:4]),
                              mean=(0.5,), std=(0.25,), flip=False)
    fitted = bundle_imports.fit_dataset(dataset, (3, 32, 32))
    assert torch.equal(fitted.train[0], fit_images(images, (3, 32, 32)))
    assert fitted.mean == pytest.approx(channel_stats(fitted.train[0])[0])
    assert fitted.flip is False and torch.equal(fitted.train[1], labels)
    assert bundle_imports.fit_dataset(dataset, (1, 28, 28)) is dataset


@pytest.mark.parametrize("name", ["auto", "cuda", "cuda:0", "cuda:3", "mps", "cpu"])
def test_train_py_takes_each_device_form(bundle_imports, name):
    assert bundle_imports.parse_args(["--device", name]).device == name


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:one", "cuda:-1", "CPU"])
def test_train_py_refuses_a_device_that_is_not_one(bundle_imports, name, capsys):
    with pytest.raises(SystemExit):
        bundle_imports.parse_args(["--device", name])
    assert f"‘{name}’ is not a device" in capsys.readouterr().err


def test_train_py_picks_the_gpu_it_is_told_and_refuses_one_the_machine_lacks(
        bundle_imports, monkeypatch):
    chosen = []
    cuda = bundle_imports.torch.cuda
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(cuda, "device_count", lambda: 2)
    monkeypatch.setattr(cuda, "set_device", chosen.append)
    assert bundle_imports.pick_device("cuda:1", None) == torch.device("cuda", 1)
    assert bundle_imports.pick_device("cuda:1", 0) == torch.device("cuda", 0)  # torchrun's
    assert chosen == [1, 0]
    with pytest.raises(SystemExit, match=r"has 2 GPUs \(cuda:0 … cuda:1\)"):
        bundle_imports.pick_device("cuda:2", None)
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="sees no CUDA GPU"):
        bundle_imports.pick_device("cuda:0", None)
