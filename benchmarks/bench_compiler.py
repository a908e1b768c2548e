"""How fast the compiler answers: analysis (cold and after one edit), building, source.

    .venv/bin/python benchmarks/bench_compiler.py [--repeats 7]

Cases, each timed once per round and the rounds interleaved (the order rotates every round),
so that a noisy shared machine slows every case alike; the table gives the median and the
spread (fastest … slowest) over the rounds.

* ResNet-152 (the preset, stage-level nodes, 3×224×224): analysis with a cold cache (a new
  ``Analyzer``), and with a warm cache after one parameter edit: either of the 36-block stage
  ``layer3`` (the costliest node to recompute) or of the stem's BatchNorm (a cheap one). Each
  round edits to a value not seen before, so the edited node really is recomputed.
* A 500-node residual network built from primitives (70 basic blocks of conv / BN / ReLU /
  Add, 16 and 32 channels, 32×32 inputs): analysis cold and after an edit of a BatchNorm in
  the middle.
* Building the ``nn.Module`` (including weight initialisation) and generating ``model.py``
  source, for both networks.

Never part of the test suite; it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import Analyzer, build
from resnet_studio.compiler.source import generate_source
from resnet_studio.graph import Graph, InputSpec
from resnet_studio.presets import create

Case = Callable[[], None]


def primitive_resnet(blocks_per_stage: int = 35) -> Graph:
    """Input, stem, two stages of basic blocks written out node by node, classifier: with 35
    blocks per stage exactly 500 nodes."""
    graph = Graph(CATALOGUE, InputSpec(channels=3, height=32, width=32, classes=10))
    graph.add_node("input", node_id="input")
    last = _chain(graph, "input", [("conv1", "conv2d", {"out_channels": 16, "bias": False}),
                                   ("bn1", "batchnorm2d", {}), ("relu", "relu", {})])
    for stage, planes in ((1, 16), (2, 32)):
        for index in range(blocks_per_stage):
            stride = 2 if stage == 2 and index == 0 else 1
            last = _basic_block(graph, last, f"s{stage}b{index}", planes, stride)
    _chain(graph, last, [("avgpool", "adaptiveavgpool2d", {"output_size": 1}),
                         ("flatten", "flatten", {}), ("fc", "linear", {"out_features": "$classes"}),
                         ("output", "output", {})])
    return graph


def _basic_block(graph: Graph, source: str, name: str, planes: int, stride: int) -> str:
    conv = {"out_channels": planes, "bias": False}
    branch = _chain(graph, source, [
        (f"{name}_conv1", "conv2d", {**conv, "stride": stride}), (f"{name}_bn1", "batchnorm2d", {}),
        (f"{name}_relu1", "relu", {}), (f"{name}_conv2", "conv2d", conv),
        (f"{name}_bn2", "batchnorm2d", {})])
    shortcut = source
    if stride != 1:  # projection shortcut where the shape changes (option B)
        shortcut = _chain(graph, source, [
            (f"{name}_down", "conv2d", {**conv, "kernel_size": 1, "stride": stride, "padding": 0}),
            (f"{name}_down_bn", "batchnorm2d", {})])
    graph.add_node("add", node_id=f"{name}_add")
    graph.connect(branch, "out", f"{name}_add", "in")
    graph.connect(shortcut, "out", f"{name}_add", "in")
    return _chain(graph, f"{name}_add", [(f"{name}_relu2", "relu", {})])


def _chain(graph: Graph, source: str, steps: list[tuple[str, str, dict]]) -> str:
    for node_id, type_id, params in steps:
        graph.add_node(type_id, params, node_id=node_id)
        graph.connect(source, "out", node_id, "in")
        source = node_id
    return source


class EditCase:
    """Re-analysis with a warm cache after setting one float parameter to a new value."""

    def __init__(self, graph: Graph, node_id: str, param: str, step: float):
        self.graph, self.node_id, self.param, self.step = graph, node_id, param, step
        self.analyzer = Analyzer()
        self.analyzer.analyze(graph)
        self.base, self.count = graph.node(node_id).params[param], 0

    def __call__(self) -> None:
        self.count += 1
        self.graph.set_params(self.node_id, {self.param: self.base + self.step * self.count})
        self.analyzer.analyze(self.graph)


def cases(resnet152: Graph, chain500: Graph) -> dict[str, Case]:
    return {
        "ResNet-152  analyze, cold cache": lambda: Analyzer().analyze(resnet152),
        "ResNet-152  analyze after editing layer3 (36 blocks)":
            EditCase(create("resnet152"), "layer3", "dropout", 1e-4),
        "ResNet-152  analyze after editing bn1": EditCase(create("resnet152"), "bn1", "eps", 1e-7),
        "ResNet-152  build nn.Module (with init)": lambda: build(resnet152),
        "ResNet-152  generate source": lambda: generate_source(resnet152),
        f"{len(chain500)}-node net  analyze, cold cache": lambda: Analyzer().analyze(chain500),
        f"{len(chain500)}-node net  analyze after editing one BN":
            EditCase(primitive_resnet(), "s2b17_bn1", "eps", 1e-7),
        f"{len(chain500)}-node net  build nn.Module (with init)": lambda: build(chain500),
        f"{len(chain500)}-node net  generate source": lambda: generate_source(chain500),
    }


def measure(named: dict[str, Case], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in named}
    order = list(named)
    for round_index in range(repeats):
        shift = round_index % len(order)
        for name in order[shift:] + order[:shift]:
            start = time.perf_counter()
            named[name]()
            times[name].append(time.perf_counter() - start)
    return times


def report(times: dict[str, list[float]]) -> None:
    width = max(map(len, times))
    print(f"{'case':<{width}}  {'median':>9}  spread (fastest … slowest)")
    for name, values in times.items():
        print(f"{name:<{width}}  {_ms(statistics.median(values)):>9}  "
              f"{_ms(min(values))} … {_ms(max(values))}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="rounds (default 7)")
    args = parser.parse_args()
    start = time.perf_counter()
    Analyzer().analyze(create("small_resnet"))  # torch's one-off start-up cost, not measured
    print(f"first analysis in this process (one-off torch start-up): "
          f"{_ms(time.perf_counter() - start)}")
    resnet152, chain500 = create("resnet152"), primitive_resnet()
    assert Analyzer().analyze(chain500).ok and Analyzer().analyze(resnet152).ok
    report(measure(cases(resnet152, chain500), args.repeats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
