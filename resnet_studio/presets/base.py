"""What a preset is, and the small chain builder the preset families are written with."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..blocks import CATALOGUE
from ..graph import Graph, InputSpec
from ..graph.layout import READING_ASPECT, auto_layout

Builder = Callable[[InputSpec], Graph]


@dataclass(frozen=True)
class Preset:
    """A ready-made network for the gallery, the CLI and the tests.

    ``builder`` makes the graph for an input specification; ``create`` adds the checks and the
    layout every caller wants.
    """

    name: str
    title: str
    family: str
    description: str
    default_input: InputSpec
    torchvision_name: str | None
    builder: Builder = field(repr=False, compare=False)
    timm_name: str | None = None  # the timm model this preset equals, key for key

    def create(self, input_spec: InputSpec | None = None) -> Graph:
        """The network for ``input_spec`` (default: ``default_input``), laid out in reading order
        (bands side by side; see ``graph.layout``).
        Every classifier ends in ``$classes`` outputs, so any class count works."""
        spec = self.default_input if input_spec is None else input_spec
        spec.validate()
        graph = self.builder(spec)
        graph.name = self.name
        auto_layout(graph, READING_ASPECT)
        return graph


class UnknownPresetError(KeyError):
    """A preset name that does not exist; the message lists the names that do."""

    def __init__(self, name: str, known: Iterable[str]):
        known = list(known)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean ‘{close[0]}’?" if close else ""
        super().__init__(f"There is no preset ‘{name}’.{hint} Known presets: {', '.join(known)}.")
        self.name, self.known = name, tuple(known)

    def __str__(self) -> str:  # KeyError would wrap the message in quotes
        return self.args[0]


class Chain:
    """Builds a network as a chain: each added node is fed by the one added before it.

    Node ids are given explicitly because they become module names (and so state_dict keys);
    ``module`` places a node's module elsewhere (``features.0``) where a reference network
    nests its modules in containers.
    """

    def __init__(self, input_spec: InputSpec):
        self.graph = Graph(CATALOGUE, input_spec)
        self._last: str | None = None
        self.add("input", "input")

    def add(self, node_id: str, type_id: str, *, module: str = "", **params: Any) -> str:
        self.graph.add_node(type_id, params, node_id=node_id, module=module)
        if self._last is not None:
            self.graph.connect(self._last, "out", node_id, "in")
        self._last = node_id
        return node_id

    def classifier(self, pool: str = "avgpool", fc: str = "fc") -> Graph:
        """Global average pooling, flatten, one linear layer to ``$classes``, and the Output."""
        self.add(pool, "adaptiveavgpool2d", output_size=1)
        self.add("flatten", "flatten")
        self.add(fc, "linear", out_features="$classes")
        return self.finish()

    def finish(self) -> Graph:
        self.add("output", "output")
        return self.graph
