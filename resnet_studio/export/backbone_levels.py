"""Which feature maps a backbone returns: the network's stages.

A network with two or more (top-level) Stage nodes returns the output of each, in order, keyed
by node id (torchvision's ResNets: ``layer1`` … ``layer4``, strides 4 to 32). A network without
them returns, for each spatial size its feature maps pass through, the last node at that size
(the output just before each downsampling, and the last feature map before the classifier);
nodes whose output does not grow with the image (a global pooling, what follows a flatten) are
never features. Detection feeds images of any size, so every feature must grow with the image:
the network is analysed at twice the input size too.
"""

from __future__ import annotations

from dataclasses import replace

from ..compiler import Analysis, Analyzer
from ..graph import INPUT_TYPE, OUTPUT_TYPE, Graph
from .errors import ExportError

STAGE_TYPE = "stage"
MIN_FEATURES = 2


def backbone_features(graph: Graph, analysis: Analysis | None = None) -> tuple[str, ...]:
    """The node ids whose outputs the backbone returns, in order; raises ExportError (one line
    naming the node) when the network cannot be a backbone."""
    analysis = analysis or Analyzer().analyze(graph)
    if not analysis.ok:
        first = next(d for d in analysis.diagnostics if d.severity == "error")
        raise ExportError(f"the network has errors: [{first.node_id or 'network'}] "
                          f"{first.message}")
    larger = _at_twice_the_size(graph)
    stages = [n for n in analysis.order if graph.node(n).type_id == STAGE_TYPE]
    features = stages if len(stages) >= MIN_FEATURES else _levels(graph, analysis, larger)
    if len(features) < MIN_FEATURES:
        raise ExportError(f"the network has {len(features)} stage(s) of feature maps; a "
                          f"backbone needs at least {MIN_FEATURES} (Stage nodes, or "
                          "downsamplings between convolutions).")
    _check_growing(analysis, larger, features)
    return tuple(features)


def _at_twice_the_size(graph: Graph) -> Analysis:
    spec = graph.input_spec
    larger = graph.copy()
    larger.set_input_spec(replace(spec, height=2 * spec.height, width=2 * spec.width))
    return Analyzer().analyze(larger)


def _grows(node_id: str, analysis: Analysis, larger: Analysis) -> bool:
    """A feature map (channels × height × width) that is larger for larger images."""
    small, big = analysis.nodes[node_id].out_shape, larger.nodes[node_id].out_shape
    return (small is not None and big is not None and len(small) == len(big) == 3
            and big[1] > small[1] and big[2] > small[2])


def _levels(graph: Graph, analysis: Analysis, larger: Analysis) -> list[str]:
    """The last node at each spatial size, in order, sizes shrinking."""
    levels: list[str] = []
    for node_id in analysis.order:
        if graph.node(node_id).type_id in (INPUT_TYPE, OUTPUT_TYPE) or \
                not _grows(node_id, analysis, larger):
            continue
        size = analysis.nodes[node_id].out_shape[1:]
        last = analysis.nodes[levels[-1]].out_shape[1:] if levels else None
        if last == size:
            levels[-1] = node_id
        elif last is None or (size[0] <= last[0] and size[1] <= last[1]):
            levels.append(node_id)
    return levels


def _check_growing(analysis: Analysis, larger: Analysis, features: list[str]) -> None:
    """Every feature grows with the image (so does everything it depends on, or the analysis
    at twice the size would give it no shape)."""
    for node_id in features:
        if not _grows(node_id, analysis, larger):
            raise ExportError(f"the feature maps of ‘{node_id}’ do not grow with the image (a "
                              "global or adaptive pooling before it?), but a backbone must take "
                              "images of any size.")
