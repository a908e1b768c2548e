"""No host synchronisation inside a training step; one host copy per telemetry flush.

Every Python-level way for a step to wait on the device is patched to count while
``Engine._train_step`` (or ``Engine._flush``) runs in a real tiny run: ``Tensor.item``,
``.cpu``, ``.tolist``, ``.numpy``, the conversions a Python ``if``/``float``/``int``/index
does, ``Tensor.to`` towards the CPU, ``torch.cuda.synchronize``, and our own code building a
tensor from host data (``torch.tensor``/``as_tensor``: a blocking host-to-device copy on CUDA).
On the CPU these calls are harmless, which is why they are counted instead of timed.
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

import numpy as np
import pytest
import torch
from test_train_support import run_engine, tiny_config
from torch import nn

from resnet_studio.train import Engine, StepRecord, engine_telemetry
from resnet_studio.train.engine_telemetry import TelemetryWindows
from resnet_studio.train.telemetry import Layers, StepStats

TRANSFERS = ("item", "cpu", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


class SyncCounter:
    """Counts host syncs by kind while ``where`` is set (inside a step or a flush)."""

    def __init__(self) -> None:
        self.where: str | None = None
        # by where: "step", "step-flush" (a step that closes a window), "flush"
        self.calls: dict[str, Counter] = {k: Counter() for k in ("step", "step-flush", "flush")}
        self.runs = Counter()
        self.engine: Engine | None = None

    def hit(self, kind: str, tensor: Any = None) -> None:
        if self.where is not None and not self._host_state(tensor):
            self.calls[self.where][kind] += 1

    def _host_state(self, tensor: Any) -> bool:
        """Adam's step counters live on the host unless the optimiser is fused or capturable
        (torch.optim's design), so reading them syncs nothing; they are not counted."""
        if self.engine is None or not isinstance(tensor, torch.Tensor) or not tensor.is_cpu:
            return False
        states = self.engine.session.optimizer.state.values()
        return any(tensor is state.get("step") for state in states)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in TRANSFERS:
            monkeypatch.setattr(torch.Tensor, name, self._counted(name, getattr(torch.Tensor,
                                                                                  name)))
        monkeypatch.setattr(torch.Tensor, "to", self._to(torch.Tensor.to))
        real_sync = torch.cuda.synchronize
        monkeypatch.setattr(torch.cuda, "synchronize",
                            lambda *a, **k: (self.hit("synchronize"), real_sync(*a, **k))[1])
        for name in ("tensor", "as_tensor"):
            monkeypatch.setattr(torch, name, self._built(name, getattr(torch, name)))
        # windows close by step count only, however slow the patched calls make a step
        monkeypatch.setattr(engine_telemetry, "FLUSH_SECONDS", float("inf"))
        self._wrap(monkeypatch, Engine, "_train_step", "step")
        self._wrap(monkeypatch, TelemetryWindows, "_flush", "flush")

    def _counted(self, name: str, real):
        def method(tensor, *args, **kwargs):
            self.hit(name, tensor)
            return real(tensor, *args, **kwargs)
        return method

    def _to(self, real):
        def to(tensor, *args, **kwargs):
            target = kwargs.get("device", args[0] if args else None)
            if isinstance(target, (str, torch.device)) and torch.device(target).type == "cpu":
                self.hit("to(cpu)", tensor)
            return real(tensor, *args, **kwargs)
        return to

    def _built(self, name: str, real):
        def build(*args, **kwargs):
            if sys._getframe(1).f_globals.get("__name__", "").startswith("resnet_studio."):
                self.hit(f"torch.{name}")
            return real(*args, **kwargs)
        return build

    def _wrap(self, monkeypatch, cls, method: str, where: str) -> None:
        real = getattr(cls, method)
        counter = self

        def wrapped(engine, *args, **kwargs):
            key = f"{where}-flush" if kwargs.get("measure") else where
            outer, counter.where = counter.where, counter.where or key
            if where == "step" or engine._slot:  # a flush with no pending steps does nothing
                counter.runs[key] += 1
            counter.engine = engine
            try:
                return real(engine, *args, **kwargs)
            finally:
                counter.where = outer

        monkeypatch.setattr(cls, method, wrapped)


class SpareLayer(nn.Module):
    """A network with a layer that no batch reaches: its weight never gets a gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.spare = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean(dim=(2, 3)))


def _counted_run(monkeypatch, network=None, **changes) -> SyncCounter:
    counter = SyncCounter()
    counter.install(monkeypatch)
    config = tiny_config(epochs=2, telemetry_every=3, **changes)
    _, recorder, end = run_engine(config, graph=network)
    monkeypatch.undo()
    assert end.status == "finished", end.message
    assert len(recorder.of(StepRecord)) == 12
    return counter


CASES = {
    "sgd": {},
    "grad clip": {"grad_clip": 0.5},
    "label smoothing": {"label_smoothing": 0.1},
    "adamw": {"optimizer": "adamw", "lr": 0.01},
    "adamw, clip, smoothing": {"optimizer": "adamw", "lr": 0.01, "grad_clip": 1.0,
                               "label_smoothing": 0.2},
}


@pytest.mark.parametrize("changes", CASES.values(), ids=CASES.keys())
def test_a_step_never_waits_for_the_device(monkeypatch, changes):
    counter = _counted_run(monkeypatch, **changes)
    # steps 3, 6 (epoch end), 9 and 12 close a window: measured steps, then a flush each
    assert counter.runs == {"step": 8, "step-flush": 4, "flush": 4}
    assert counter.calls["step"] == Counter() and counter.calls["step-flush"] == Counter()
    assert counter.calls["flush"] == Counter({"cpu": 1 * 4, "numpy": 1 * 4})


def test_a_layer_without_gradient_keeps_the_step_sync_free(monkeypatch):
    counter = _counted_run(monkeypatch, SpareLayer(), grad_clip=1.0)
    assert counter.runs["step"] + counter.runs["step-flush"] == 12
    assert counter.calls["step"] == Counter() and counter.calls["step-flush"] == Counter()


def test_a_missing_gradient_counts_as_zero_in_the_layer_norms():
    model = SpareLayer()
    stats = StepStats(Layers.of(model), 2, torch.device("cpu"))
    x = torch.randn(5, 3, 6, 6, generator=torch.Generator().manual_seed(0))
    model(x).square().sum().backward()
    total = stats.record_grads(1)
    norms = stats.drain(2, stats.packed_sums(2, False)).grad_norms[1]
    expected = [torch.cat([p.grad.flatten() for p in layer.parameters()]).norm().item()
                if layer is not model.spare else 0.0 for layer in (model.conv, model.spare,
                                                                      model.fc)]
    assert Layers.of(model).names == ("conv", "spare", "fc")
    np.testing.assert_allclose(norms, expected, rtol=1e-5)
    assert expected[0] > 0 and expected[2] > 0
    assert total.item() == pytest.approx(float(np.linalg.norm(expected)), rel=1e-5)


def test_the_counter_catches_a_step_that_reads_its_loss(monkeypatch):
    """A wrong step (one ``loss.item()`` and one ``if`` on a tensor per step) is caught."""
    real = Engine._backward

    def chatty(engine, loss, measure):
        if loss > 100:  # Tensor.__bool__: waits for the forward pass
            pass
        engine.last_loss = loss.item()
        return real(engine, loss, measure)

    monkeypatch.setattr(Engine, "_backward", chatty)
    counter = SyncCounter()
    counter.install(monkeypatch)
    run_engine(tiny_config(epochs=1, telemetry_every=3))
    # one epoch of 6 steps, windows of 3: steps 3 and 6 close them
    assert counter.calls["step"] == Counter({"item": 4, "__bool__": 4})
    assert counter.calls["step-flush"] == Counter({"item": 2, "__bool__": 2})
