"""``compile=True`` compiles the training graph once: later epochs (after a validation pass
that switches the model to ``eval()`` and back) reuse it instead of recompiling."""

from __future__ import annotations

import pytest
import torch
from test_train_support import Recorder, tiny_config, tiny_graph

from resnet_studio.train import Engine, EpochRecord, setup


class CountingBackend:
    """A torch.compile backend that runs the captured graph as is and counts captures."""

    def __init__(self) -> None:
        self.compiles = 0
        self.calls: list[str] = []  # what the captured graphs call, by name

    def __call__(self, graph_module: torch.fx.GraphModule, example_inputs: list) -> object:
        self.compiles += 1
        self.calls += [getattr(n.target, "__name__", str(n.target))
                       for n in graph_module.graph.nodes if n.op.startswith("call")]
        return graph_module.forward


class CompilesPerEpoch(Recorder):
    def __init__(self, backend: CountingBackend) -> None:
        super().__init__()
        self.backend, self.after_epoch = backend, []

    def on_record(self, record) -> None:
        super().on_record(record)
        if isinstance(record, EpochRecord):
            self.after_epoch.append(self.backend.compiles)


@pytest.fixture
def backend(monkeypatch):
    counting = CountingBackend()
    monkeypatch.setattr(setup, "COMPILE_BACKEND", counting)
    torch._dynamo.reset()
    yield counting
    torch._dynamo.reset()


def test_compile_happens_once_not_every_epoch(backend):
    sink = CompilesPerEpoch(backend)
    engine = Engine(tiny_graph(), tiny_config(epochs=3, compile=True), [sink])
    end = engine.run()
    assert end.status == "finished", end.message
    # one graph for the whole forward (a graph break would compile pieces), never again
    assert sink.after_epoch == [1, 1, 1]
    assert backend.calls.count("conv2d") == 2 and backend.calls.count("linear") == 1
    assert engine.session.train_model is not engine.session.model


def test_compiled_training_matches_eager_training(backend):
    """The counting backend runs the captured graphs as they are, so compiled training must
    reach the very same weights as eager training from the same seed."""
    runs = []
    for compile_ in (False, True):
        engine = Engine(tiny_graph(), tiny_config(epochs=1, compile=compile_), [Recorder()])
        assert engine.run().status == "finished"
        runs.append(engine.model.state_dict())
    assert backend.compiles == 1
    for name, value in runs[0].items():
        torch.testing.assert_close(runs[1][name], value, rtol=1e-5, atol=1e-6, msg=name)
