"""``resnet-studio train`` and ``bench`` run in this process: options, files, errors.
(Real processes: test_train_sigint.py, test_train_torchrun.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_train_support import CLI_DATA as DATA
from test_train_support import csv_rows as rows
from test_train_support import (
    tiny_project,
)

from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import main
from resnet_studio.graph import Graph, InputSpec, project
from resnet_studio.train import load_checkpoint


# ----- in-process -----------------------------------------------------------------------------
def test_train_writes_the_run_and_reports(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    out = tmp_path / "run"
    code = main(["train", str(project_file), *DATA, "--epochs", "2", "--lr", "0.05",
                 "--schedule", "onecycle", "--optimizer", "adamw", "--weight-decay", "0.01",
                 "--label-smoothing", "0.1", "--grad-clip", "1", "--warmup-steps", "2",
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Finished 2 epochs (12 steps)" in captured.out
    assert "epoch 1: train loss" in captured.err and "epoch 2: train loss" in captured.err
    assert "img/s" in captured.err and "ETA" in captured.err  # plain progress lines
    config = json.loads((out / "config.json").read_text())["config"]
    assert (config["optimizer"], config["schedule"], config["warmup_steps"]) == ("adamw",
                                                                                  "onecycle", 2)
    assert config["data"]["train_size"] == 48 and len(rows(out / "metrics.csv")) == 2


def test_resume_takes_the_checkpoints_settings_and_trains_longer(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    out = tmp_path / "run"
    assert main(["train", str(project_file), *DATA, "--epochs", "1", "--seed", "7",
                 "--out", str(out)]) == 0
    assert main(["train", "--resume", str(out / "last.pt"), "--epochs", "2"]) == 0
    saved = load_checkpoint(out / "last.pt")
    assert saved["config"]["seed"] == 7 and saved["config"]["epochs"] == 2
    assert saved["step"] == 12 and len(rows(out / "metrics.csv")) == 2
    assert "resuming after step 6" in capsys.readouterr().err


def test_a_preset_is_made_for_the_dataset(tmp_path, capsys):
    code = main(["train", "preset:small_resnet", *DATA, "--epochs", "1", "--out",
                 str(tmp_path / "p")])
    assert code == 0, capsys.readouterr().err
    graph = json.loads((tmp_path / "p" / "graph.json").read_text())
    assert graph["input"] == {"channels": 3, "height": 8, "width": 8, "classes": 4}


@pytest.mark.parametrize("args, words", [
    (["train", "missing.rstudio.json", "--out", "x"], "missing.rstudio.json: no such file"),
    (["train", "preset:resnet_20", "--out", "x"], "There is no preset ‘resnet_20’"),
    (["train", "{project}", "--lr", "-1", "--out", "x"], "training setting ‘lr’"),
    (["train", "{project}", "--cutout", "99", "--out", "x"], "‘data’: cutout"),
    (["train", "{project}"], "--out DIR"),
    (["train", "--epochs", "3"], "give a PROJECT"),
    (["train", "--resume", "{project}"], "not a ResNet Studio checkpoint"),
    (["train", "{project}", *DATA, "--image-size", "16", "--fit", "none", "--out", "{tmp}/r"],
     "takes 3×8×8 images"),
    (["bench", "{project}", "--steps", "0"], "--steps must be at least 1"),
])
def test_errors_are_one_line_without_traceback(args, words, tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    args = [a.format(project=project_file, tmp=tmp_path) for a in args]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("resnet-studio: error: ") and words in err and "Traceback" not in err


def test_an_existing_run_is_not_overwritten_without_force(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    out = tmp_path / "run"
    assert main(["train", str(project_file), *DATA, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["train", str(project_file), *DATA, "--epochs", "1", "--out", str(out)]) == 2
    assert f"--resume {out / 'last.pt'}" in capsys.readouterr().err
    assert main(["train", str(project_file), *DATA, "--epochs", "1", "--out", str(out),
                 "--force"]) == 0


def overflowing_project(path: Path) -> Path:
    """Seven ×10⁶ scales in a row: the logits overflow float32 on the first step."""
    g = Graph(CATALOGUE, InputSpec(channels=3, height=8, width=8, classes=4))
    chain = [("input", "input", {}), ("conv1", "conv2d", {"out_channels": 4})]
    chain += [(f"scale{i}", "scale", {"init": 1e6}) for i in range(7)]
    chain += [("flatten", "flatten", {}), ("fc", "linear", {"out_features": "$classes"}),
              ("output", "output", {})]
    previous = None
    for node_id, type_id, params in chain:
        g.add_node(type_id, params, node_id=node_id)
        if previous:
            g.connect(previous, "out", node_id, "in")
        previous = node_id
    project.save(g, path)
    return path


def test_a_diverging_run_exits_1_naming_the_step(tmp_path, capsys):
    path = overflowing_project(tmp_path / "overflow.rstudio.json")
    code = main(["train", str(path), *DATA, "--epochs", "3", "--out", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert code == 1
    assert "resnet-studio: error: Training diverged: the loss became NaN at step 1 " in err
    assert "no step had a finite loss" in err and "Traceback" not in err
    assert json.loads((tmp_path / "d" / "status.json").read_text())["status"] == "failed"
    assert not (tmp_path / "d" / "last.pt").exists()


def test_bench_reports_training_images_per_second(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    code = main(["bench", str(project_file), "--batch-size", "8", "--steps", "10",
                 "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0 and " on cpu: " in out and "training images/s" in out
    rate = float(out.split(" on cpu: ")[1].split()[0].replace(",", ""))
    assert rate > 0


def test_tensorboard_option_without_the_package(tmp_path, capsys):
    project_file = tiny_project(tmp_path)
    try:
        import tensorboard  # noqa: F401
        pytest.skip("tensorboard is installed here")
    except ImportError:
        pass
    code = main(["train", str(project_file), "--tensorboard", "--out", str(tmp_path / "t")])
    assert code == 2 and "needs the optional ‘tensorboard’ package" in capsys.readouterr().err


def test_adding_the_commands_does_not_load_torch():
    """``resnet-studio --help`` stays instant: the sub-commands import the engine when run."""
    code = ("import sys; from resnet_studio.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_progress_redraws_one_line_on_a_terminal():
    import io

    import numpy as np

    from resnet_studio.train import EpochRecord, RunEndRecord, RunStartRecord, StepRecord
    from resnet_studio.train.progress import ProgressSink, format_duration, summary

    stream = io.StringIO()
    sink = ProgressSink(stream, tty=True, interval=3600)
    sink.on_record(RunStartRecord(("fc",), ("Linear",), (10,), {}, {}, None, "cpu", 1, 4, 8, 0,
                                  None))
    for step in (1, 2):
        sink.on_record(StepRecord(step, 1, 0.5, 0.25, 0.1, 1234.0, np.ones(1)))
    sink.on_record(EpochRecord(1, 4, 0.5, 0.25, 0.6, 0.5, np.eye(2, dtype=int), True, 65.0))
    sink.close()
    text = stream.getvalue()
    assert "\r\033[K" in text and "epoch 1/2 [#####...............] step 1/8" in text
    assert "1,234 img/s" in text and "ETA" in text
    assert "epoch 1: train loss 0.5000 acc 25.0% | val loss 0.6000 acc 50.0%  (best)  [1:05]" \
        in text
    assert "step 2/8" not in text  # not redrawn within the interval
    assert format_duration(3725) == "1:02:05"
    end = RunEndRecord("finished", "Finished.", 8, 2, replica_digests=("a" * 64, "b" * 64))
    assert "replicas DIFFER" in summary(end, 1.0)
