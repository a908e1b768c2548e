"""A graph as a standalone, readable ``model.py`` that needs only PyTorch.

The file defines one class per block type the network uses (our own block classes copied
from their source, one class per custom block configuration) and a network class whose
``__init__`` creates one attribute per module node, named by node id (a node with a module path
such as ``features.0`` goes into ``nn.ModuleDict`` containers) and in the order
``compiler.build`` registers them, so the two have identical ``state_dict`` keys and a
checkpoint trained in ResNet Studio loads into the generated model with ``strict=True``.
Its ``forward`` has one operation per line (see ``source_forward`` for the variable names),
and its weights are initialised exactly as ``build`` initialises them.

With ``features`` the network class is a feature extractor (a detection or segmentation
backbone): it holds only the nodes the named ones depend on, so its ``state_dict`` is the
matching part of the full network's, and ``forward`` returns an ``OrderedDict`` of their values.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..blocks import Call, Functional, shape_text
from ..graph import INPUT_TYPE, OUTPUT_TYPE, Graph
from ..graph.text import visible
from .builder import BuildError
from .dense import dense_plan
from .infer import Analysis, Analyzer, NodeInfo
from .module import module_path, operand_sources, upstream
from .resolve import block_for, root_of
from .source_forward import MAIN, Step, fresh_name, value_names
from .source_library import Library
from .source_render import (
    ClassRef,
    Group,
    SourceError,
    call_doc,
    camel_case,
    is_identifier,
    is_torch,
    layout,
    string_literal,
    torch_name,
)

_BODY = " " * 8

# The network class's weight initialisation: the generated twin of ``build.initialise_weights``.
_INIT_WEIGHTS = '''\
    def _init_weights(self, zero_init_residual):
        """Kaiming-normal (fan_out) convolutions, norms at weight 1 and bias 0, as torchvision
        initialises its ResNets."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.weight is not None:
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            # Start every residual block as the identity by zeroing its last norm layer
            # (Goyal et al. 2017, https://arxiv.org/abs/1706.02677).
            for m in self.modules():
                if callable(getattr(m, "zero_init_residual", None)):
                    m.zero_init_residual()'''


def generate_source(graph: Graph, class_name: str = "Net", *,
                    analysis: Analysis | None = None, features: Sequence[str] = (),
                    trailer: str = "", imports: Sequence[str] = (),
                    feature_keys: Sequence[str] = (),
                    about: tuple[str, str] | None = None) -> str:
    """The network as the text of a standalone Python module defining ``class_name``.

    ``analysis`` may be passed when the caller has one of this graph already (as for
    ``build``). ``features`` (top-level node ids, in order) makes the class return those nodes'
    values as an ``OrderedDict`` keyed by node id, leaving out every node they do not depend
    on; it then has an ``out_channels`` attribute, the last feature's channels. ``trailer`` is
    code placed after the network class, before the ``__main__`` block, and ``imports`` are the
    import lines it needs; ``feature_keys`` (one per feature) key the features instead of their
    node ids, and ``about`` replaces the module docstring's summary and the ``__main__`` block.
    A graph with a task head gives its detector or segmenter (``source_heads``): ``class_name``
    is then torchvision's model around the backbone. Raises BuildError when the graph has
    errors, and ValueError (a SourceError naming the node or class) when part of it cannot be
    written as source.
    """
    if not is_identifier(class_name):
        raise SourceError(f"‘{class_name}’ is not a valid Python class name")
    analysis = analysis or Analyzer().analyze(graph)
    if not analysis.ok:
        raise BuildError(analysis)
    plan = None if features else dense_plan(graph, analysis)
    if plan is not None:
        from .source_heads import dense_source  # it writes the backbone through this function
        return dense_source(graph, class_name, analysis, plan)
    writer = _Writer()
    needs = "PyTorch and torchvision" if any("torchvision" in i for i in imports) else "PyTorch"
    outline = _Outline(graph, analysis, tuple(features), needs, about)
    network = writer.plan(graph, analysis, ClassRef(class_name, class_name),
                          outline.network_doc(), outline.features, tuple(feature_keys))
    if outline.features:
        network.attributes.append(f"self.out_channels = {outline.channels[-1]}")
    writer.name_classes(class_name)
    return writer.text(outline, network, trailer, imports)


@dataclass
class _ClassPlan:
    """One generated ``nn.Module`` class, before its text is written."""

    ref: ClassRef
    doc: str
    modules: list[tuple[tuple[str, ...], Any]] = field(default_factory=list)  # path, constructor
    arguments: list[str] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)  # plain attributes set in __init__
    result: str = MAIN


class _Writer:
    """Collects the classes a network needs while planning it, then writes the module."""

    def __init__(self) -> None:
        self.library = Library()
        self.custom: dict[tuple, _ClassPlan] = {}  # inner blocks first: dependencies first

    # ----- planning ---------------------------------------------------------------------------
    def plan(self, graph: Graph, analysis: Analysis, ref: ClassRef, doc: str,
             features: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> _ClassPlan:
        """The class computing ``graph``, whose nodes ``analysis`` describes (returning the
        values of ``features`` when given)."""
        plan = _ClassPlan(ref, doc)
        inputs = _input_names(graph)
        plan.arguments = list(inputs.values())
        needed = upstream(graph, features) if features else None
        steps: list[Step] = []
        calls: dict[str, Callable[[Sequence[str]], str]] = {}
        for node_id in analysis.order:
            node = graph.node(node_id)
            if node.type_id == INPUT_TYPE or (needed is not None and node_id not in needed):
                continue
            sources = operand_sources(graph, node_id)
            if node.type_id == OUTPUT_TYPE:
                plan.result = sources[0]
                continue
            op = self._node_op(graph, analysis, node_id, plan)
            calls[node_id] = op
            placeholders = [f"_{i}" for i in range(len(sources))]
            steps.append(Step(node_id, sources, op(placeholders) == placeholders[0]))
        names = value_names(inputs, steps, features or (plan.result,))
        for step in steps:
            expression = calls[step.node_id]([names[s] for s in step.sources])
            plan.statements.append(f"{names[step.node_id]} = {expression}")
        plan.result = (_feature_dict(features, keys or features, names) if features
                       else names[plan.result])
        return plan

    def _node_op(self, graph: Graph, analysis: Analysis, node_id: str,
                 plan: _ClassPlan) -> Callable[[Sequence[str]], str]:
        """Record what the node needs; returns how its forward expression reads."""
        node = graph.node(node_id)
        info = analysis.nodes[node_id]
        op = info.op
        path = module_path(node)
        try:
            if info.body is not None:
                ref = self._custom(graph, info)
                plan.modules.append((path, Group(ref, [], ")", call=True)))
            elif isinstance(op, Functional):
                # Only the block type can say which of our helpers its expression calls.
                for dep in block_for(graph, node.type_id).source_deps:
                    self.library.add(dep)
                return op.expression
            else:
                plan.modules.append((path, self._call(op)))
        except SourceError as exc:
            spec = graph.spec(node.type_id)
            title = spec.title if spec else node.type_id
            raise SourceError(f"{title} ‘{node_id}’: {exc}") from None
        return lambda args: f"{_attribute(path)}({', '.join(args)})"

    def _call(self, call: Call) -> Group:
        target = call.target
        head = torch_name(target) if is_torch(target) else self.library.add(target)
        return call_doc(call, head, self._call)

    def _custom(self, graph: Graph, info: NodeInfo) -> ClassRef:
        """The class of a custom block for these parameter values and input shapes, planned
        from the body analysis the network's analysis already holds."""
        definition = root_of(graph).definitions[info.type_id]
        key = (info.type_id, tuple(sorted((k, repr(v)) for k, v in info.resolved.items())),
               info.in_shapes)
        if key not in self.custom:
            assert info.body is not None
            doc = _custom_doc(definition, info.resolved, info.in_shapes)
            self.custom[key] = self.plan(definition.graph, info.body,
                                         ClassRef(camel_case(definition.name)), doc)
        return self.custom[key].ref

    def name_classes(self, class_name: str) -> None:
        """Give custom block classes their names: the block's name in CamelCase, with ``_2``,
        ``_3`` … for further configurations of one block or a clash with another class."""
        taken = self.library.names()
        if class_name in taken:
            raise SourceError(f"the network class name ‘{class_name}’ is also the name of a block "
                              "class the network uses; choose another name")
        taken.add(class_name)
        for plan in self.custom.values():
            name, number = plan.ref.base, 2
            while name in taken:
                name, number = f"{plan.ref.base}_{number}", number + 1
            plan.ref.name = name
            taken.add(name)

    # ----- text -------------------------------------------------------------------------------
    def text(self, outline: _Outline, network: _ClassPlan, trailer: str = "",
             extra: Sequence[str] = ()) -> str:
        # the standard library's imports first, then torch's, as isort orders them
        torch_lines = [line for line in extra if line.split()[1].split(".")[0].startswith("torch")]
        standard = [line for line in extra if line not in torch_lines]
        standard += ["from collections import OrderedDict"] if outline.features else []
        imports = "\n".join(_isort(["import torch", "from torch import nn", *torch_lines]))
        if standard:
            imports = "\n".join(_isort(standard)) + "\n\n" + imports
        if self.library.aliases():
            imports += "\n\n" + "\n".join(self.library.aliases())
        parts = [imports, *self.library.sources()]
        parts += [_class_text(plan) for plan in self.custom.values()]
        parts += [_class_text(network, network=True), *([trailer.strip("\n")] if trailer else []),
                  outline.main(network.ref.name)]
        return outline.header() + "\n\n" + "\n\n\n".join(parts) + "\n"


def _isort(lines: list[str]) -> list[str]:
    """``import`` lines before ``from`` lines, each by module, as isort orders a section."""
    return sorted(lines, key=lambda line: (line.startswith("from "), line.split()[1]))


def _feature_dict(features: Sequence[str], keys: Sequence[str], names: dict[str, str]) -> str:
    items = "".join(f"\n{_BODY}    ({string_literal(k)}, {names[f]}),"
                    for f, k in zip(features, keys))
    return f"OrderedDict([{items}\n{_BODY}])"


def _input_names(graph: Graph) -> dict[str, str]:
    """Forward arguments: ``x`` for the first input, the port's name for further ones."""
    used = {MAIN}
    nodes = graph.nodes_of_type(INPUT_TYPE)
    return {node.id: MAIN if i == 0 else fresh_name(node.id, used) for i, node in enumerate(nodes)}


def _class_text(plan: _ClassPlan, network: bool = False) -> str:
    lines = [f"class {plan.ref.name}(nn.Module):", f'    """{_wrapped(_doc_text(plan.doc))}"""', "",
             f"    def __init__(self{', zero_init_residual=False' if network else ''}):",
             f"{_BODY}super().__init__()"]
    # The graph guarantees node ids are identifiers that no nn.Module attribute uses.
    for name, constructor in _nested(plan.modules).items():
        lines += layout(constructor, _BODY, f"self.{name} = ")
    lines += [_BODY + attribute for attribute in plan.attributes]
    if network:
        lines.append(f"{_BODY}self._init_weights(zero_init_residual)")
    lines += ["", f"    def forward(self, {', '.join(plan.arguments)}):"]
    lines += [_BODY + statement for statement in plan.statements]
    lines.append(f"{_BODY}return {plan.result}")
    if network:
        lines += ["", _INIT_WEIGHTS]
    return "\n".join(lines)


def _wrapped(doc: str) -> str:
    """A one-paragraph class docstring broken to fit the line length."""
    if "\n" in doc or len(doc) <= 88:
        return doc
    return textwrap.fill(doc, 92, subsequent_indent="    ", break_long_words=False,
                         break_on_hyphens=False)


def _attribute(path: tuple[str, ...]) -> str:
    """``self.conv1``, or ``self.features["0"]["1"]`` for a module inside containers."""
    return f"self.{path[0]}" + "".join(f"[{string_literal(name)}]" for name in path[1:])


def _nested(modules: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    """The top-level attributes: each module, or an ``nn.ModuleDict`` of the modules under a
    shared path, keys in order of first use as ``compiler.build`` registers them."""
    tree: dict[str, Any] = {}
    for path, constructor in modules:
        level = tree
        for name in path[:-1]:
            level = level.setdefault(name, {})
        level[path[-1]] = constructor
    return {name: _container(value) for name, value in tree.items()}


def _container(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = [(f"{string_literal(k)}: ", _container(v)) for k, v in value.items()]
    return Group("nn.ModuleDict(", [("", Group("{", items, "}"))], ")", call=True)


@dataclass
class _Outline:
    """What the module's docstrings and ``__main__`` block say of the network: its input and
    output, or (with ``features``) the feature maps it returns."""

    graph: Graph
    analysis: Analysis
    features: tuple[str, ...] = ()
    needs: str = "PyTorch"
    about: tuple[str, str] | None = None  # the summary and the __main__ block, when given

    @property
    def channels(self) -> list[int]:
        return [self._shape(f)[0] for f in self.features]

    def _shape(self, node_id: str) -> tuple[int, ...]:
        return self.analysis.nodes[node_id].out_shape or ()

    def _images(self) -> str:
        spec = self.graph.input_spec
        return shape_text((spec.channels, spec.height, spec.width))

    def _listed(self) -> str:
        return ", ".join(f"{f} ({shape_text(self._shape(f))})" for f in self.features)

    def header(self) -> str:
        if self.about:
            body = self.about[0]
        elif self.features:
            needed = upstream(self.graph, self.features)
            params = sum(self.analysis.nodes[n].params for n in needed if n in self.analysis.nodes)
            body = (f"Feature maps for {self._images()} images (channels × height × width; "
                    f"other sizes work too): {self._listed()}; {params:,} parameters.\n")
        else:
            spec = self.graph.input_spec
            body = (f"Input: {self._images()} images (channels × height × width); "
                    f"{spec.classes} classes; {self.analysis.total_params:,} parameters.\n")
        text = (f"Generated by ResNet Studio from project {_project(self.graph)}.\n\n{body}"
                f"Needs only {self.needs}; run this file to build the network and check its "
                "output shape.\n")
        return f'"""{_doc_text(text)}"""'

    def network_doc(self) -> str:
        start = f"The network of project {_project(self.graph)}: {self._images()} images in, "
        if self.features:
            return f"{start}its feature maps out: {self._listed()}."
        spec = self.graph.input_spec
        scores = shape_text(self.analysis.output_shape() or (spec.classes,))
        return f"{start}{scores} scores out."

    def main(self, class_name: str) -> str:
        if self.about:
            return self.about[1]
        spec = self.graph.input_spec
        lines = ['if __name__ == "__main__":', f"    net = {class_name}().eval()",
                 f"    images = torch.randn(2, {spec.channels}, {spec.height}, {spec.width})",
                 "    with torch.no_grad():"]
        if not self.features:
            expected = (2, *(self.analysis.output_shape() or ()))
            return "\n".join([*lines, f"        print(tuple(net(images).shape))  "
                                       f"# expected: {expected}"])
        expected = ", ".join(f"{f} {(2, *self._shape(f))}" for f in self.features)
        return "\n".join([*lines, "        for name, value in net(images).items():",
                           "            print(name, tuple(value.shape))",
                           f"    # expected: {expected}"])


def _custom_doc(definition: Any, params: dict[str, Any], shapes: Sequence[tuple[int, ...]]) -> str:
    listed = ", ".join(f"{k}={v!r}" for k, v in params.items())
    values = f" ({listed})" if listed else ""
    shapes_text = ", ".join(map(shape_text, shapes))
    text = f'Custom block "{definition.name}"{values} for {shapes_text} inputs.'
    if definition.description:
        text += "\n\n    " + definition.description.strip().replace("\n", "\n    ")
    return text


def _project(graph: Graph) -> str:
    return string_literal(graph.name) if graph.name else "(untitled)"


def _doc_text(text: str) -> str:
    """Text safe inside a triple-quoted docstring: backslashes and quotes escaped, and every
    control character (NUL, carriage return, ESC…) and other invisible one written as an
    escape, so that nothing in a name or description can end the string or the file."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    text = visible(text, keep_newlines=True)
    return text + " " if text.endswith('"') else text
