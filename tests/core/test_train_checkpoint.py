"""Checkpoints (contents, safe loading, atomic writes), exact resume, and the run directory."""

from __future__ import annotations

import csv
import json
import os
import pickle

import numpy as np
import pytest
import torch
from test_train_support import (
    LAYERS,
    Recorder,
    run_engine,
    state_tensors,
    stop_at,
    tiny_config,
    tiny_graph,
)

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import build
from resnet_studio.graph import project
from resnet_studio.train import (
    CheckpointError,
    Engine,
    EpochRecord,
    QueueSink,
    RunEndRecord,
    RunStartRecord,
    SinkError,
    StepRecord,
    TensorBoardSink,
    load_checkpoint,
    save_checkpoint,
)
from resnet_studio.train import checkpoint as checkpoint_module
from resnet_studio.train.checkpoint import MARKER


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One finished two-epoch run shared by the read-only tests."""
    torch.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("run")
    engine, recorder, end = run_engine(tiny_config(epochs=2, telemetry_every=4), run_dir)
    assert end.status == "finished"
    return run_dir, engine, recorder


# ----- contents -------------------------------------------------------------------------------
def test_checkpoint_is_a_plain_dict_that_loads_with_weights_only(finished_run):
    run_dir, engine, _ = finished_run
    state = torch.load(run_dir / "last.pt", weights_only=True)
    assert state[MARKER] == 1
    assert (state["epoch"], state["step"], state["batch"]) == (2, 12, 0)
    for key, value in engine.model.state_dict().items():
        assert torch.equal(state["model"][key], value)
    assert state["optimizer"]["state"] and state["scheduler"]["last_epoch"] == 12
    assert state["scaler"] is None
    assert state["config"] == tiny_config(epochs=2, telemetry_every=4).to_dict()
    graph = project.from_dict(state["graph"], CATALOGUE)
    assert set(graph.nodes) == set(tiny_graph().nodes)
    assert state["rng"][0]["torch"].dtype == torch.uint8
    assert [e["epoch"] for e in state["metrics"]["epochs"]] == [1, 2]
    assert state["versions"]["torch"] == torch.__version__ and state["layers"] == list(LAYERS)


def test_best_checkpoint_holds_the_best_epoch(finished_run):
    run_dir, _, recorder = finished_run
    best = load_checkpoint(run_dir / "best.pt")
    best_epoch = [e for e in recorder.of(EpochRecord) if e.best][-1]
    assert best["step"] == best_epoch.step
    assert best["metrics"]["best_epoch"] == best_epoch.epoch


# ----- refusing files -------------------------------------------------------------------------
class Payload:
    """Unpickling this would create a file: proof that a refused file ran nothing."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(np.random.default_rng(0).bytes(500))
    with pytest.raises(CheckpointError, match=r"noise\.pt: is not a ResNet Studio checkpoint"):
        load_checkpoint(path)


def test_a_torch_file_without_the_marker_is_refused(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"model": {"w": torch.ones(2)}}, path)
    with pytest.raises(CheckpointError, match=f"format marker ‘{MARKER}’ is missing"):
        load_checkpoint(path)


def test_a_pickled_object_is_refused_without_running_it(tmp_path):
    path, touched = tmp_path / "evil.pt", tmp_path / "touched"
    torch.save({MARKER: 1, "model": Payload(touched)}, path)
    with pytest.raises(CheckpointError, match=r"safe load refuses.*could run arbitrary code"):
        load_checkpoint(path)
    assert not touched.exists()
    plain = tmp_path / "plain.pt"
    plain.write_bytes(pickle.dumps(Payload(touched)))
    with pytest.raises(CheckpointError, match="not a PyTorch archive"):
        load_checkpoint(plain)
    assert not touched.exists()


def test_truncated_and_missing_files_are_refused(finished_run, tmp_path):
    run_dir, _, _ = finished_run
    data = (run_dir / "last.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or damaged"):
        load_checkpoint(cut)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "absent.pt")


def test_newer_formats_and_incomplete_dicts_are_refused(tmp_path):
    path = tmp_path / "future.pt"
    torch.save({MARKER: 99}, path)
    with pytest.raises(CheckpointError, match=r"format 99.*newer"):
        load_checkpoint(path)
    torch.save({MARKER: 1, "model": {}}, path)
    with pytest.raises(CheckpointError, match=r"incomplete.*optimizer"):
        load_checkpoint(path)


def test_a_crash_while_writing_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint({MARKER: 1, "step": 1}, path)
    before = path.read_bytes()

    def crash(state, handle):
        handle.write(b"PK\x03\x04 half a checkpoint")
        raise RuntimeError("power cut")

    monkeypatch.setattr(checkpoint_module.torch, "save", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        save_checkpoint({MARKER: 1, "step": 2}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["last.pt"]  # no temporary file left behind


def test_an_unwritable_folder_gives_a_checkpoint_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CheckpointError, match="cannot be written"):
        save_checkpoint({MARKER: 1}, blocker / "last.pt")


# ----- exact resume ---------------------------------------------------------------------------
def resume_config(**changes):
    """Dropout, augmentation, momentum, warm-up + cosine: every source of state at once."""
    values = {"epochs": 3, "telemetry_every": 4, "schedule": "cosine", "warmup_steps": 3,
              "nesterov": True, "label_smoothing": 0.1, "grad_clip": 5.0}
    values.update(changes)
    return tiny_config(**values)


def interrupted_run(run_dir, config, stop_step):
    holder, sink = stop_at(stop_step)
    engine = Engine(tiny_graph(dropout=0.3), config, [sink], run_dir)
    holder["engine"] = engine
    end = engine.run()
    assert end.status == "stopped"
    saved = load_checkpoint(run_dir / "last.pt")
    resumed = Engine(tiny_graph(dropout=0.3), config, [], run_dir,
                     resume_from=run_dir / "last.pt")
    assert resumed.run().status == "finished"
    return saved, resumed


def assert_same_training(straight, resumed):
    a, b = state_tensors(straight.model), state_tensors(resumed.model)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    opt_a = straight.session.optimizer.state_dict()["state"]
    opt_b = resumed.session.optimizer.state_dict()["state"]
    assert opt_a.keys() == opt_b.keys()
    assert all(torch.equal(opt_a[i]["momentum_buffer"], opt_b[i]["momentum_buffer"]) for i in opt_a)


# A stop request is seen at the next step (or, from a sink, at the flush after the one that
# delivered the step): with flushes every 4 steps, asking at step 8 stops after step 10.
@pytest.mark.parametrize("stop_step, stopped_at", [(8, (10, 1, 4)), (6, (6, 1, 0))],
                         ids=["mid-epoch", "epoch-boundary"])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, stop_step, stopped_at):
    config = resume_config()
    straight, _, _ = run_engine(config, tmp_path / "straight", graph=tiny_graph(dropout=0.3))
    saved, resumed = interrupted_run(tmp_path / "split", config, stop_step)
    assert (saved["step"], saved["epoch"], saved["batch"]) == stopped_at
    assert_same_training(straight, resumed)
    assert load_checkpoint(tmp_path / "split" / "last.pt")["step"] == 18
    # the run directory reads as one run: same epochs, same per-step losses
    assert _metrics(tmp_path / "straight") == _metrics(tmp_path / "split")
    assert _losses(tmp_path / "straight") == _losses(tmp_path / "split")


def test_resume_between_the_last_step_and_validation(tmp_path):
    """Stopped during an epoch's last step: the checkpoint says "batch 6 of 6", and the
    resumed run validates that epoch before going on."""
    config = resume_config()

    def network():
        torch.manual_seed(config.seed)  # as the engine seeds a graph's initial weights
        return build(tiny_graph(dropout=0.3))

    straight = Engine(network(), config)
    assert straight.run().status == "finished"
    model = network()
    engine = Engine(model, config, [], tmp_path)
    calls = {"n": 0}

    def stop_during_step_six(module, inputs, output):
        calls["n"] += module.training
        if calls["n"] == 6:
            engine.stop()

    hook = model.fc.register_forward_hook(stop_during_step_six)
    assert engine.run().status == "stopped"
    hook.remove()
    saved = load_checkpoint(tmp_path / "last.pt")
    assert (saved["step"], saved["epoch"], saved["batch"]) == (6, 0, 6)
    assert saved["metrics"]["epochs"] == []
    recorder = Recorder()
    resumed = Engine(network(), config, [recorder], tmp_path, resume_from=tmp_path / "last.pt")
    assert resumed.run().status == "finished"
    assert [e.epoch for e in recorder.of(EpochRecord)] == [1, 2, 3]
    assert_same_training(straight, resumed)


def _metrics(run_dir):
    with open(run_dir / "metrics.csv") as handle:
        return [{k: v for k, v in row.items() if k != "duration"}
                for row in csv.DictReader(handle)]


def _losses(run_dir):
    lines = (run_dir / "steps.jsonl").read_text().splitlines()
    return [(row["step"], row["loss"], row["grad_norms"]) for row in map(json.loads, lines)]


def test_resume_refuses_a_checkpoint_of_another_network(finished_run):
    run_dir, _, _ = finished_run
    engine = Engine(tiny_graph(dropout=0.3), tiny_config(),
                    resume_from=load_checkpoint(run_dir / "last.pt"))
    assert engine.run().status == "finished"  # dropout adds no weights: same network
    other = tiny_graph()
    other.node("conv2").params.update(kernel_size=1, padding=0)
    end = Engine(other, tiny_config(), resume_from=run_dir / "last.pt").run()
    assert end.status == "failed" and "do not fit this network" in end.message
    assert "different shape: conv2.weight" in end.message


# ----- the run directory and the sinks --------------------------------------------------------
def test_run_directory_files(finished_run):
    run_dir, _, recorder = finished_run
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == ["best.pt", "config.json", "confusion.json", "graph.json", "last.pt",
                     "metrics.csv", "status.json", "steps.jsonl"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["epochs"] == 2 and config["layers"] == list(LAYERS)
    assert config["data"]["classes"] == 4
    graph = project.from_dict(json.loads((run_dir / "graph.json").read_text()), CATALOGUE)
    assert set(graph.nodes) == set(tiny_graph().nodes)
    rows = _metrics(run_dir)
    epochs = recorder.of(EpochRecord)
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_acc"]) == pytest.approx(epochs[1].val_acc)
    steps = [json.loads(line) for line in (run_dir / "steps.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps] == list(range(1, 13))
    records = recorder.of(StepRecord)
    assert steps[3]["grad_norms"] == pytest.approx(records[3].grad_norms.tolist())
    assert len(steps[3]["update_ratios"]) == 5 and steps[0]["update_ratios"] is None
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "finished" and status["step"] == 12
    confusion = json.loads((run_dir / "confusion.json").read_text())
    assert confusion["epoch"] == 2
    assert confusion["matrix"] == epochs[1].confusion.tolist()


def test_queue_sink_hands_records_to_another_thread():
    sink = QueueSink()
    engine = Engine(tiny_graph(), tiny_config(epochs=1), [sink])
    end = engine.run()
    records = sink.drain()
    assert isinstance(records[0], RunStartRecord) and records[-1] == end
    assert sum(isinstance(r, StepRecord) for r in records) == 6
    assert sink.drain() == []
    engine.close()
    assert sink.closed


class FakeWriter:
    def __init__(self):
        self.scalars, self.closed = [], False

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))

    def flush(self):
        pass

    def close(self):
        self.closed = True


def test_tensorboard_sink_logs_scalars_and_per_layer_norms(tmp_path):
    writer = FakeWriter()
    engine = Engine(tiny_graph(), tiny_config(epochs=1), [TensorBoardSink(tmp_path, writer)])
    engine.run()
    engine.close()
    tags = {tag for tag, _, _ in writer.scalars}
    assert {"train/loss", "train/lr", "val/accuracy", "grad_norm/conv1", "grad_norm/fc"} <= tags
    assert [s for t, _, s in writer.scalars if t == "train/loss"] == list(range(1, 7))
    assert writer.closed


def test_tensorboard_sink_without_the_package_says_how_to_install_it(tmp_path):
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        with pytest.raises(SinkError, match=r"pip install 'resnet-studio\[tensorboard\]'"):
            TensorBoardSink(tmp_path)
    else:
        pytest.skip("tensorboard is installed here")


def test_only_rank_zero_writes(tmp_path, monkeypatch):
    """A process that is not rank 0 sends no records and writes no files."""
    from resnet_studio.train import distributed

    monkeypatch.setattr(distributed, "detect", lambda: distributed.DistEnv(1, 2, 1))
    monkeypatch.setattr(distributed, "join", lambda env, device: False)
    monkeypatch.setattr(distributed, "wrap", lambda model, device: model)
    monkeypatch.setattr(distributed, "all_reduce_sum", lambda tensor, env: tensor)
    monkeypatch.setattr(distributed, "gather_objects", lambda value, env: [value, value])
    recorder = Recorder()
    end = Engine(tiny_graph(), tiny_config(epochs=1), [recorder], tmp_path).run()
    assert end.status == "finished" and isinstance(end, RunEndRecord)
    assert recorder.records == [] and list(tmp_path.iterdir()) == []
