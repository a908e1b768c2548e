"""The data spec: its JSON, the balanced subset, old run directories, changed data, flips,
and the analyses' CSV files."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter

import pytest
import torch
from test_analysis_support import image_folder, tiny_net, train_once

from resnet_studio.analysis.common import AnalysisError, load_run, validation_batches, write_csv
from resnet_studio.cli import main
from resnet_studio.data import DataConfig, DataError, DataSpec, balanced_indices, load_data
from resnet_studio.train.command import settings
from resnet_studio.train.config import TrainConfig

SPEC = DataSpec(DataConfig(dataset="folder:/tmp/digits", fit="network", flip=False),
                (1, 28, 28), (1, 28, 28), (0.13,), (0.31,), ("zero", "one"),
                {"crop_padding": 4, "flip": False, "cutout": 0, "color_jitter": 0.0},
                ((10, 12), (2, 3)))


def test_a_spec_reads_back_as_written_through_json():
    text = json.dumps(SPEC.to_dict())
    assert DataSpec.from_dict(json.loads(text)) == SPEC
    assert json.loads(text)["version"] == 2
    assert json.loads(text)["task"] == "classification"
    assert json.loads(text)["class_counts"] == {"train": [10, 12], "val": [2, 3]}


@pytest.mark.parametrize("change, named", [
    ({"version": 3}, "version 3"),
    ({"task": "detection"}, "task"),
    ({"shape": [1, 28]}, "shape"),
    ({"normalisation": {"mean": [0.1]}}, "normalisation.std"),
    ({"class_counts": {"train": [1]}}, "class_counts.val"),
    ({"data": {"dataset": "nonsense"}}, "nonsense"),
])
def test_a_damaged_spec_names_the_field(change, named):
    with pytest.raises(DataError, match=named.replace(".", r"\.")):
        DataSpec.from_dict({**SPEC.to_dict(), **change})


# ----- balanced subsets -----------------------------------------------------------------------
def test_a_subset_is_spread_evenly_over_the_classes_as_far_as_they_allow():
    labels = [0] * 196 + [1] * 60 + [2] * 5  # sorted by class, as a folder's split is
    picked = balanced_indices(labels, 30, seed=0)
    counts = Counter(labels[i] for i in picked)
    assert counts == {0: 13, 1: 12, 2: 5}  # the small class gives all it has
    assert picked == sorted(picked) and len(set(picked)) == 30
    assert Counter(labels[i] for i in balanced_indices(labels, 256, 0)) == {0: 191, 1: 60, 2: 5}


def test_a_subset_depends_on_the_seed_only():
    labels = [i % 4 for i in range(200)]
    assert balanced_indices(labels, 20, 7) == balanced_indices(list(labels), 20, 7)
    assert balanced_indices(labels, 20, 7) != balanced_indices(labels, 20, 8)
    assert Counter(labels[i] for i in balanced_indices(labels, 20, 8)) == {k: 5 for k in range(4)}


def test_no_count_or_too_large_a_count_takes_everything():
    assert balanced_indices([1, 0, 1], None, 0) == [0, 1, 2]
    assert balanced_indices([1, 0, 1], 5, 0) == [0, 1, 2]


# ----- flips ----------------------------------------------------------------------------------
def test_image_folders_are_not_flipped_unless_asked(tmp_path):
    folder = image_folder(tmp_path / "digits", channels=1, size=12, per_class=(4, 4, 4))
    cfg = DataConfig(dataset=f"folder:{folder}", image_size=12, channels=1, val_fraction=0.25)
    assert load_data(cfg, 4).info.augmentation["flip"] is False
    assert load_data(cfg.replace(flip=True), 4).info.augmentation["flip"] is True
    assert load_data(cfg.replace(flip=True, augment=False), 4).info.augmentation["flip"] is False


@pytest.mark.parametrize("flags, flip, augment", [
    ([], None, True), (["--flip"], True, True), (["--no-flip"], False, True),
    (["--no-augment"], None, False), (["--no-augment", "--flip"], True, False)])
def test_train_flip_flags_set_data_flip(flags, flip, augment):
    from resnet_studio.cli import build_parser

    args = build_parser().parse_args(["train", "preset:small_resnet", *flags])
    data = settings(args, TrainConfig()).data
    assert (data.flip, data.augment) == (flip, augment)


# ----- CSV ------------------------------------------------------------------------------------
def test_analysis_csv_cells_read_back_as_written(tmp_path):
    name = 'block "a", second\nline'
    write_csv(tmp_path / "t.csv", ["network", "value"], [[name, 0.5], ["plain", 3]])
    with open(tmp_path / "t.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["network", "value"], [name, "0.5"], ["plain", "3"]]


# ----- run directories ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def grey_run(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("grey")
    folder = image_folder(root / "digits", channels=1, size=28)
    data = DataConfig(dataset=f"folder:{folder}", val_fraction=0.25, seed=5)
    train_once(root / "run", tiny_net(1, 28), data)
    yield root / "run"
    torch.set_num_threads(before)


def _copy_without_spec(run, target):
    shutil.copytree(run, target)
    config = json.loads((target / "config.json").read_text())
    del config["data_spec"]
    (target / "config.json").write_text(json.dumps(config))
    return target


def test_an_old_run_without_a_spec_gets_one_derived_exactly(grey_run, tmp_path):
    old = load_run(_copy_without_spec(grey_run, tmp_path / "old"))
    new = load_run(grey_run)
    assert old.spec.target == new.spec.target == (1, 28, 28)
    assert (old.spec.shape, old.spec.mean, old.spec.class_names) == \
        (new.spec.shape, new.spec.mean, new.spec.class_names)
    x_old = torch.cat([b[0] for b in validation_batches(old, None, 8)])
    x_new = torch.cat([b[0] for b in validation_batches(new, None, 8)])
    assert torch.equal(x_old, x_new)


def test_an_old_run_without_graph_json_is_one_line_naming_it(grey_run, tmp_path, capsys):
    old = _copy_without_spec(grey_run, tmp_path / "old")
    (old / "graph.json").unlink()
    with pytest.raises(AnalysisError, match=r"graph\.json.*network's input"):
        load_run(old)
    assert main(["lesion", str(old), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "graph.json" in err and "Traceback" not in err


def test_a_run_trained_on_handed_in_batches_says_so(grey_run, tmp_path):
    old = shutil.copytree(grey_run, tmp_path / "handed")
    config = json.loads((old / "config.json").read_text())
    (old / "config.json").write_text(json.dumps({**config, "data_spec": None}))
    with pytest.raises(AnalysisError, match="ready-made"):
        load_run(old)


def test_data_that_changed_since_training_is_refused(grey_run, tmp_path):
    run = shutil.copytree(grey_run, tmp_path / "changed")
    spec = json.loads((run / "config.json").read_text())["data_spec"]
    folder = spec["data"]["dataset"].removeprefix("folder:")
    moved = shutil.copytree(folder, tmp_path / "digits")
    shutil.copy(moved / "class_a" / "000.png", moved / "class_a" / "999.png")
    spec["data"]["dataset"] = f"folder:{moved}"
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "data_spec": spec}))
    with pytest.raises(AnalysisError, match="has changed since the run"):
        validation_batches(load_run(run), None, 8)
