"""Running out of memory: the engine's failure and its estimate, and the largest-batch search."""

from __future__ import annotations

import pytest
import torch
from test_train_support import Recorder, tiny_config, tiny_graph

from resnet_studio.train import Engine, RunStartRecord, StepRecord, load_checkpoint
from resnet_studio.train import largest_batch as lb
from resnet_studio.train.task import Task

GIB = 2**30


def failing_step_at(monkeypatch, k: int, error: BaseException):
    """Make the task's training step raise ``error`` at its k-th call, keeping a copy of the
    weights it was handed then (those before step k)."""
    real, seen = Task.step, {"calls": 0}

    def step(self, model, x, y, config):
        seen["calls"] += 1
        if seen["calls"] == k:
            seen["weights"] = {n: p.detach().clone() for n, p in model.named_parameters()}
            raise error
        return real(self, model, x, y, config)

    monkeypatch.setattr(Task, "step", step)
    return seen


def test_out_of_memory_keeps_the_steps_before_it_and_a_resumed_smaller_batch_goes_on(
        monkeypatch, tmp_path):
    seen = failing_step_at(monkeypatch, 4, torch.cuda.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB"))
    engine = Engine(tiny_graph(), tiny_config(epochs=1, checkpoint_every=0), [Recorder()],
                    tmp_path)
    end = engine.run()
    assert end.status == "failed" and end.step == 3
    assert "out of memory at step 4 with batch size 8 on cpu" in end.message
    assert "try a smaller batch size (e.g. 4)" in end.message  # no CUDA figures: half
    assert "resnet-studio find-batch PROJECT --device cpu" in end.message
    assert f"saved in {tmp_path / 'last.pt'}" in end.message and "\n" not in end.message
    for name, p in engine.model.named_parameters():
        assert torch.equal(p, seen["weights"][name]), name
    saved = load_checkpoint(tmp_path / "last.pt")
    assert (saved["step"], saved["batch"]) == (3, 3)
    for name, tensor in seen["weights"].items():
        assert torch.equal(saved["model"][name], tensor), name
    monkeypatch.undo()
    recorder = Recorder()
    again = Engine(tiny_graph(), tiny_config(epochs=1, batch_size=4), [recorder], tmp_path,
                   resume_from=tmp_path / "last.pt")
    done = again.run()
    assert done.status == "finished", done.message
    assert recorder.of(RunStartRecord)[0].resumed_step == 3
    assert recorder.of(StepRecord)[0].step == 4
    # 3 batches of 8 were done: the epoch goes on after those 24 images, 6 batches of 4
    assert len(recorder.of(StepRecord)) == len(again.session.data.train) - 6


def test_the_cpu_allocator_failing_is_reported_the_same_way(monkeypatch):
    failing_step_at(monkeypatch, 2, RuntimeError(
        "DefaultCPUAllocator: can't allocate memory: you tried to allocate 1073741824 bytes."))
    engine = Engine(tiny_graph(), tiny_config(epochs=1, batch_size=16), [Recorder()])
    end = engine.run()
    assert end.status == "failed" and end.step == 1
    assert "out of memory at step 2 with batch size 16" in end.message and "(e.g. 8)" in end.message
    assert "run again to go on" in end.message
    monkeypatch.undo()
    assert engine.run().status == "finished" and engine.step == 3


def test_on_cuda_the_message_gives_the_estimate(monkeypatch):
    monkeypatch.setattr("resnet_studio.train.engine.cuda_fitting_batch",
                        lambda device, batch, message: 40 if "2.00 GiB" in message else None)
    failing_step_at(monkeypatch, 1, torch.cuda.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB"))
    end = Engine(tiny_graph(), tiny_config(epochs=1), [Recorder()]).run()
    assert "try batch size 40 (a linear estimate" in end.message and "e.g." not in end.message


def test_the_failed_steps_tensors_are_let_go_before_the_memory_is_measured(monkeypatch):
    """Inside the ``except`` clause the traceback still holds the failed forward pass's
    locals: the estimate must read the memory after they are gone."""
    import weakref

    held, alive = [], []

    def step(self, model, x, y, config):
        activations = torch.ones(1000)
        held.append(weakref.ref(activations))
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    def measure(device, batch, message):
        alive.append(held[0]() is not None)
        return None

    monkeypatch.setattr(Task, "step", step)
    monkeypatch.setattr("resnet_studio.train.engine.cuda_fitting_batch", measure)
    end = Engine(tiny_graph(), tiny_config(epochs=1), [Recorder()]).run()
    assert end.status == "failed" and alive == [False]


# ----- the estimate ---------------------------------------------------------------------------
@pytest.mark.parametrize("batch, peak, fixed, free, requested, expected", [
    # 2 GiB fixed; the step reached 79 GiB and asked 2 more: 79/512 GiB an image; 0.9·78 GiB
    (512, 79 * GIB, 2 * GIB, 78 * GIB, 2 * GIB, 448),   # 454.9 → a multiple of 8
    (512, 41 * GIB, GIB, 40 * GIB, 0, 456),             # 460.8 → 456
    (256, 30 * GIB, 10 * GIB, 10 * GIB, 0, 112),        # others use the rest: 115.2 → 112
    (12, 9 * GIB, GIB, 8 * GIB, 0, 8),                  # 10.8 → 8
    (7, 9 * GIB, GIB, 8 * GIB, 0, 6),                   # under 8: not rounded (6.3 → 6)
    (4, 9 * GIB, GIB, 8 * GIB, 0, 3),
    (512, 2 * GIB, 2 * GIB, 78 * GIB, 0, None),         # no growth measured: cannot estimate
    (512, 10 * GIB, 2 * GIB, 78 * GIB, 0, None),        # would not be smaller: contradicts
    (1, 9 * GIB, GIB, 8 * GIB, 0, None),                # nothing below 1
    (512, 79 * GIB, 2 * GIB, 0, 0, None),               # nothing free
])
def test_the_linear_estimate(batch, peak, fixed, free, requested, expected):
    assert lb.estimate_fitting_batch(batch, peak, fixed, free, requested) == expected


@pytest.mark.parametrize("text, expected", [
    ("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has", 2 * GIB),
    ("Tried to allocate 512.00 MiB", 512 * 2**20), ("Tried to allocate 20 B", 20),
    ("CUDA error: out of memory", 0)])
def test_the_requested_allocation_is_read_from_the_message(text, expected):
    assert lb.requested_bytes(text) == expected


def test_the_cuda_estimate_reads_the_device_after_releasing_the_failed_step(monkeypatch):
    calls = []
    figures = {"max_memory_allocated": 79 * GIB, "memory_allocated": 2 * GIB,
               "memory_reserved": 3 * GIB}
    for name, value in figures.items():
        monkeypatch.setattr(f"torch.cuda.{name}", lambda d, v=value, n=name: calls.append(n) or v)
    monkeypatch.setattr("torch.cuda.mem_get_info", lambda d: (77 * GIB, 80 * GIB))
    monkeypatch.setattr("torch.cuda.empty_cache", lambda: calls.append("empty_cache"))
    monkeypatch.setattr("torch.cuda.reset_peak_memory_stats", lambda d: calls.append("reset"))
    size = lb.cuda_fitting_batch(torch.device("cuda", 1), 512,
                                 "CUDA out of memory. Tried to allocate 2.00 GiB")
    assert size == 448  # free 77 + 3 reserved - 2 allocated = 78 GiB, as in the first case
    assert calls.index("max_memory_allocated") < calls.index("empty_cache") \
        < calls.index("memory_allocated") and calls[-1] == "reset"
    assert lb.cuda_fitting_batch(torch.device("cpu"), 512, "") is None


# ----- the search -----------------------------------------------------------------------------
def threshold_step(most: int, error=torch.cuda.OutOfMemoryError):
    tried = []

    def step(batch: int) -> None:
        tried.append(batch)
        if batch > most:
            raise error(f"CUDA out of memory (batch {batch})")

    return step, tried


@pytest.mark.parametrize("most, start, limit", [(300, 8, 4096), (1, 8, 4096), (8, 8, 4096),
                                                 (4095, 1, 4096), (1000, 16, 600)])
def test_the_search_finds_the_exact_largest_size(most, start, limit):
    step, tried = threshold_step(most)
    found = lb.largest_batch(None, (3, 8, 8), "cpu", try_step=step, start=start, limit=limit)
    assert found.size == min(most, limit) and found.at_limit == (most >= limit)
    assert [b for b, _ in found.tries] == tried
    assert all(fitted == (b <= most) for b, fitted in found.tries)
    assert len(tried) <= 2 * (limit.bit_length() + 1)


def test_the_search_doubles_then_bisects():
    step, tried = threshold_step(300)
    lb.largest_batch(None, (3,), "cpu", try_step=step, start=8, limit=4096)
    assert tried[:7] == [8, 16, 32, 64, 128, 256, 512]
    assert tried[7:] == [384, 320, 288, 304, 296, 300, 302, 301]


def test_nothing_fits_and_other_errors_end_the_search():
    step, _ = threshold_step(0, error=lambda text: RuntimeError("can't allocate memory"))
    found = lb.largest_batch(None, (3,), "cpu", try_step=step, start=4)
    assert found.size == 0 and [b for b, _ in found.tries] == [4, 2, 1]

    def broken(batch):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        lb.largest_batch(None, (3,), "cpu", try_step=broken)


def test_the_default_step_trains_a_real_network_on_the_cpu():
    from resnet_studio.compiler import build

    model = build(tiny_graph())
    before = [p.detach().clone() for p in model.parameters()]
    seen = []
    found = lb.largest_batch(model, (3, 8, 8), "cpu", start=2, limit=8,
                             on_try=lambda b, ok: seen.append((b, ok)))
    assert found.size == 8 and found.at_limit and seen == [(2, True), (4, True), (8, True)]
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
