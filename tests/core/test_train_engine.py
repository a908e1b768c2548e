"""The engine's loop: telemetry values, control from another thread, divergence, out-of-memory,
and the inputs it accepts."""

from __future__ import annotations

import copy
import dataclasses
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_train_support import LAYERS, Recorder, run_engine, tiny_config, tiny_data, tiny_graph
from torch import nn

from resnet_studio.compiler import build
from resnet_studio.data import load_data
from resnet_studio.graph import InputSpec
from resnet_studio.presets import create
from resnet_studio.train import (
    CallbackSink,
    Engine,
    EpochRecord,
    RunEndRecord,
    RunStartRecord,
    StateRecord,
    StepRecord,
    load_checkpoint,
)


def layer_norms(model: nn.Module, tensors: dict[str, torch.Tensor]) -> np.ndarray:
    """The naive reference: per layer, the norm of all its tensors concatenated."""
    return np.array([torch.cat([t.flatten() for n, t in tensors.items()
                                if n.split(".")[0] == layer]).norm().item() for layer in LAYERS])


def first_batch(config):
    bundle = load_data(config.data, config.batch_size, torch.device("cpu"))
    return next(iter(bundle.train.epoch(0))), bundle


# ----- telemetry ------------------------------------------------------------------------------
def test_records_have_the_documented_shapes():
    config = tiny_config(epochs=2, telemetry_every=4)
    _, recorder, end = run_engine(config)
    kinds = [type(r) for r in recorder.records]
    assert kinds[0] is RunStartRecord and kinds[-1] is RunEndRecord
    start = recorder.records[0]
    assert start.layer_names == LAYERS and start.steps_per_epoch == 6 and start.total_steps == 12
    assert start.layer_types == ("Conv2d", "BatchNorm2d", "Conv2d", "BatchNorm2d", "Linear")
    steps = recorder.of(StepRecord)
    assert [r.step for r in steps] == list(range(1, 13))
    assert [r.epoch for r in steps] == [1] * 6 + [2] * 6
    for r in steps:
        assert r.grad_norms.shape == (5,) and np.all(np.isfinite(r.grad_norms))
        assert 0 <= r.accuracy <= 1 and r.images_per_s > 0 and np.isfinite(r.loss)
    # ratios on the last step of each flush window: windows end at steps 4, 6, 10, 12
    measured = [r.step for r in steps if r.update_ratios is not None]
    assert measured == [4, 6, 10, 12]
    assert all(r.weight_norms.shape == (5,) for r in steps if r.weight_norms is not None)
    epochs = recorder.of(EpochRecord)
    assert [(e.epoch, e.step) for e in epochs] == [(1, 6), (2, 12)]
    assert epochs[0].confusion.shape == (4, 4) and epochs[0].confusion.sum() == 16
    assert end.status == "finished" and end.step == 12 and end.epoch == 2


def test_grad_norms_loss_and_update_ratios_match_a_naive_reference():
    config = tiny_config(epochs=1, telemetry_every=1, weight_decay=0.0, momentum=0.0)
    model = build(tiny_graph())
    reference = copy.deepcopy(model)
    (x, y), _ = first_batch(config)
    loss = F.cross_entropy(reference(x), y)
    loss.backward()
    grads = {n: p.grad for n, p in reference.named_parameters()}
    before = {n: p.detach().clone() for n, p in reference.named_parameters()}

    recorder = Recorder()
    holder = {}
    engine = Engine(model, config, [recorder, CallbackSink(
        lambda r: isinstance(r, StepRecord) and holder["engine"].stop())])
    holder["engine"] = engine
    end = engine.run()
    assert end.status == "stopped" and end.step == 1
    step = recorder.of(StepRecord)[0]
    assert step.loss == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(step.grad_norms, layer_norms(model, grads), rtol=1e-5)
    after = {n: p.detach() for n, p in model.named_parameters()}
    delta = {n: after[n] - before[n] for n in after}
    np.testing.assert_allclose(step.weight_norms, layer_norms(model, after), rtol=1e-5)
    np.testing.assert_allclose(step.update_ratios,
                               layer_norms(model, delta) / layer_norms(model, after), rtol=1e-4)
    # plain SGD: the update is exactly lr × gradient
    np.testing.assert_allclose(layer_norms(model, delta), 0.05 * step.grad_norms, rtol=1e-4)


def test_grad_clip_limits_the_update_to_the_clipped_gradient():
    config = tiny_config(epochs=1, telemetry_every=1, weight_decay=0.0, momentum=0.0,
                         grad_clip=0.01, lr=1.0)
    model = build(tiny_graph())
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    holder = {}
    recorder = Recorder()
    engine = Engine(model, config, [recorder, CallbackSink(
        lambda r: isinstance(r, StepRecord) and holder["engine"].stop())])
    holder["engine"] = engine
    engine.run()
    total = np.sqrt(np.sum(recorder.of(StepRecord)[0].grad_norms ** 2))
    assert total > 0.01  # the clip was active, and the record shows the norm before clipping
    moved = torch.cat([(p.detach() - before[n]).flatten() for n, p in model.named_parameters()])
    assert moved.norm().item() == pytest.approx(0.01, rel=1e-3)  # lr 1 × clipped norm


def test_validation_confusion_matches_an_independent_evaluation():
    config = tiny_config(epochs=1)
    engine, recorder, _ = run_engine(config)
    epoch = recorder.of(EpochRecord)[0]
    bundle = load_data(config.data, config.batch_size, torch.device("cpu"))
    model = engine.model.eval()
    matrix = np.zeros((4, 4), dtype=np.int64)
    losses = []
    with torch.no_grad():
        for x, y in bundle.val.epoch(0):
            logits = model(x)
            losses.append(F.cross_entropy(logits, y, reduction="sum").item())
            for t, p in zip(y.tolist(), logits.argmax(1).tolist()):
                matrix[t, p] += 1
    np.testing.assert_array_equal(epoch.confusion, matrix)
    assert epoch.val_acc == pytest.approx(np.trace(matrix) / 16)
    assert epoch.val_loss == pytest.approx(sum(losses) / 16, rel=1e-5)


def test_best_epoch_tracking():
    _, recorder, end = run_engine(tiny_config(epochs=3))
    epochs = recorder.of(EpochRecord)
    best = max(epochs, key=lambda e: (e.val_acc, -e.epoch))
    assert end.best_epoch == best.epoch and end.best_val_acc == best.val_acc
    assert epochs[0].best
    running = -1.0
    for e in epochs:
        assert e.best == (e.val_acc > running)
        running = max(running, e.val_acc)


# ----- control from another thread ------------------------------------------------------------
class Signals:
    """Events set from the engine thread as records arrive."""

    def __init__(self) -> None:
        self.first_step = threading.Event()
        self.paused = threading.Event()
        self.running = threading.Event()
        self.steps: list[int] = []

    def on_record(self, record) -> None:
        if isinstance(record, StepRecord):
            self.steps.append(record.step)
            self.first_step.set()
        elif isinstance(record, StateRecord):
            (self.paused if record.state == "paused" else self.running).set()

    def close(self) -> None:
        pass


def test_pause_resume_and_stop_from_another_thread(tmp_path):
    signals = Signals()
    engine = Engine(tiny_graph(), tiny_config(epochs=500, telemetry_every=1), [signals], tmp_path)
    result: dict[str, RunEndRecord] = {}
    worker = threading.Thread(target=lambda: result.setdefault("end", engine.run()))
    worker.start()
    try:
        assert signals.first_step.wait(30)
        engine.pause()
        assert signals.paused.wait(10)
        assert engine.state == "paused"
        held = len(signals.steps)
        assert not signals.running.wait(0.2)  # nothing moves while paused
        assert len(signals.steps) == held
        engine.resume()
        assert signals.running.wait(10) and engine.state == "running"
        signals.paused.clear()
        engine.pause()
        assert signals.paused.wait(10)
        at_pause = signals.steps[-1]
    finally:
        engine.stop()  # ends the pause: no further step is taken
        worker.join(30)
    end = result["end"]
    assert not worker.is_alive()
    assert end.status == "stopped" and end.step == at_pause and engine.state == "stopped"
    saved = load_checkpoint(tmp_path / "last.pt")
    assert saved["step"] == at_pause < 500 * 6


def test_stop_is_honoured_after_the_current_step():
    holder = {}
    engine = Engine(tiny_graph(), tiny_config(epochs=5, telemetry_every=1), [CallbackSink(
        lambda r: isinstance(r, StepRecord) and r.step == 3 and holder["e"].stop())])
    holder["e"] = engine
    end = engine.run()
    assert (end.status, end.step, engine.batch) == ("stopped", 3, 3)
    # run() goes on where it stopped
    end = engine.run()
    assert (end.status, end.step) == ("finished", 30)


def test_run_refuses_a_second_concurrent_call():
    signals = Signals()
    engine = Engine(tiny_graph(), tiny_config(epochs=500, telemetry_every=1), [signals])
    worker = threading.Thread(target=engine.run)
    worker.start()
    try:
        assert signals.first_step.wait(30)
        with pytest.raises(RuntimeError, match="already running"):
            engine.run()
    finally:
        engine.stop()
        worker.join(30)


# ----- divergence -----------------------------------------------------------------------------
def poison_after(model: nn.Module, calls: int) -> None:
    """From training forward call ``calls + 1`` on, the network outputs NaN."""
    count = {"n": 0}

    def hook(module, inputs, output):
        if not module.training:
            return output
        count["n"] += 1
        return output * float("nan") if count["n"] > calls else output

    model.fc.register_forward_hook(hook)


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    model = build(tiny_graph())
    poison_after(model, 8)  # steps 1..8 fine, step 9 (epoch 2) diverges
    recorder = Recorder()
    engine = Engine(model, tiny_config(epochs=3, telemetry_every=2), [recorder], tmp_path)
    end = engine.run()
    assert end.status == "failed" and engine.state == "failed"
    assert "NaN at step 9" in end.message and "epoch 2" in end.message
    assert "last finite loss was" in end.message and "at step 8" in end.message
    assert "last.pt (step 6)" in end.message
    saved = load_checkpoint(tmp_path / "last.pt")
    assert saved["step"] == 6
    assert all(torch.isfinite(t).all() for t in saved["model"].values() if t.is_floating_point())
    # the NaN steps still reach the sinks (a plot should show the divergence)
    assert np.isnan(recorder.of(StepRecord)[-2].loss)
    again = engine.run()
    assert again.status == "failed" and "NaN at step 9" in again.message
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 6


def test_weights_that_became_non_finite_are_never_saved(tmp_path):
    """A finite loss with an update that overflows: caught when the checkpoint is written."""
    model = build(tiny_graph())
    engine = Engine(model, tiny_config(epochs=1), [], tmp_path)
    holder = {"n": 0}

    def explode(module, inputs, output):
        holder["n"] += 1
        if holder["n"] == 6:  # the last step of the epoch: its gradients overflow the weights
            output.register_hook(lambda g: g * float("inf"))
        return output

    model.conv1.register_forward_hook(explode)
    end = engine.run()
    assert end.status == "failed" and "weights became non-finite by step 6" in end.message
    assert not (tmp_path / "last.pt").exists()


# ----- out of memory --------------------------------------------------------------------------
class OutOfMemoryOnce(nn.Module):
    def __init__(self, inner: nn.Module, at_call: int):
        super().__init__()
        self.inner, self.at_call, self.calls = inner, at_call, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == self.at_call:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return self.inner(x)


def test_out_of_memory_reports_a_smaller_batch_and_leaves_the_engine_usable():
    model = OutOfMemoryOnce(build(tiny_graph()), at_call=4)
    recorder = Recorder()
    engine = Engine(model, tiny_config(epochs=2, telemetry_every=5), [recorder])
    end = engine.run()
    assert end.status == "failed"
    assert "out of memory at step 4 with batch size 8" in end.message
    assert "smaller batch size (e.g. 4)" in end.message
    assert end.step == 3 and [r.step for r in recorder.of(StepRecord)] == [1, 2, 3]
    assert all(p.grad is None for p in model.parameters())
    again = engine.run()
    assert again.status == "finished" and again.step == 12
    assert [r.step for r in recorder.of(StepRecord)] == list(range(1, 13))


# ----- what the engine accepts ----------------------------------------------------------------
def test_a_preset_function_is_built_for_the_dataset_shape():
    config = tiny_config(epochs=1)
    _, recorder, end = run_engine(config, graph=lambda spec: create("small_resnet", spec))
    assert end.status == "finished"
    start = recorder.of(RunStartRecord)[0]
    assert start.graph["input"] == {"channels": 3, "height": 8, "width": 8, "classes": 4}
    assert start.layer_names[0] == "conv1" and start.layer_names[-1] == "fc"


def test_a_graph_for_other_images_is_refused_with_both_shapes_when_fitting_is_off():
    data = dataclasses.replace(tiny_data(), fit="none")
    _, _, end = run_engine(tiny_config(data=data), graph=tiny_graph(channels=1, size=16))
    assert end.status == "failed"
    assert "1×16×16 images" in end.message and "3×8×8" in end.message
    assert "--fit network" in end.message and "--image-size 16 --channels 1" in end.message


def test_a_graph_for_other_images_is_fed_fitted_images_by_default():
    _, recorder, end = run_engine(tiny_config(), graph=tiny_graph(channels=1, size=16))
    assert end.status == "finished", end.message
    start = recorder.of(RunStartRecord)[0]
    assert (start.data["channels"], start.data["height"], start.data["width"]) == (1, 16, 16)


def test_cpu_only_settings_are_refused_clearly():
    _, _, end = run_engine(tiny_config(amp="bf16"))
    assert end.status == "failed" and "CUDA" in end.message and "amp" in end.message
    if not torch.cuda.is_available():
        _, _, end = run_engine(tiny_config(device="cuda"))
        assert end.status == "failed" and "no CUDA GPU" in end.message


def test_a_failing_sink_fails_the_run_with_its_name():
    class Broken:
        def on_record(self, record):
            if isinstance(record, EpochRecord):
                raise OSError("disk full")

        def close(self):
            pass

    engine = Engine(tiny_graph(), tiny_config(epochs=1), [Broken()])
    end = engine.run()
    assert end.status == "failed" and "Broken failed on EpochRecord" in end.message
    assert "disk full" in end.message


def test_seed_decides_the_starting_weights():
    engines = [Engine(tiny_graph(), tiny_config(epochs=1, seed=seed)) for seed in (5, 5, 6)]
    for engine in engines:
        engine._setup()
    a, b, c = (e.model.conv1.weight for e in engines)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_zero_init_residual_starts_each_block_as_the_identity():
    def network(spec: InputSpec):
        return create("small_resnet", spec)

    plain = Engine(network, tiny_config(epochs=1))
    zeroed = Engine(network, tiny_config(epochs=1, zero_init_residual=True))
    for engine in (plain, zeroed):
        engine._setup()
    for stage in ("layer1", "layer2", "layer3"):
        assert not torch.all(plain.model.get_submodule(f"{stage}.0.bn2").weight == 0)
        assert torch.all(zeroed.model.get_submodule(f"{stage}.0.bn2").weight == 0)


def test_channels_last_trains_the_same_network():
    """Same data and seed: the memory format changes only the rounding, not the training."""
    plain, _, _ = run_engine(tiny_config(epochs=1))
    last, _, end = run_engine(tiny_config(epochs=1, channels_last=True))
    assert end.status == "finished"
    assert last.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    for (name, a), b in zip(plain.model.state_dict().items(), last.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=name)
