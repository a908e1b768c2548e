"""The shape of a block type: its schema plus how it becomes PyTorch.

A block is built from its resolved parameters and the per-sample shapes of its inputs (the
batch dimension left out), so the user never types an input channel count: the compiler
infers it. One ``make`` function serves both the live module and the generated source, which
is why a built network and its ``model.py`` cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..graph import BlockSpec, Subgraph

if TYPE_CHECKING:  # torch is imported when a block is built, not when the catalogue is read
    from torch import nn

Shape = tuple[int, ...]
Params = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """A constructor call: ``target(*args, **kwargs)``.

    ``target`` is a class (``nn.Conv2d``, ``BasicBlock``); generated source spells it
    ``nn.Conv2d`` for torch classes and includes the source of our own classes. Arguments may
    themselves be Calls (a stage is ``Call(nn.Sequential, (Call(BasicBlock, ...), ...))``).
    """

    target: Callable[..., nn.Module]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self) -> nn.Module:
        args = [a.build() if isinstance(a, Call) else a for a in self.args]
        kwargs = {k: v.build() if isinstance(v, Call) else v for k, v in self.kwargs.items()}
        return self.target(*args, **kwargs)


@dataclass(frozen=True)
class Functional:
    """A parameter-free operation applied in ``forward`` rather than held as a submodule.

    ``fn`` takes the input tensors; ``expression`` renders the same operation as source from
    the argument names (for example ``torch.flatten(x, 1)``).
    """

    fn: Callable[..., Any]
    expression: Callable[[Sequence[str]], str]


@dataclass(frozen=True)
class BlockType:
    """A catalogue entry.

    make(params, in_shapes) -> Call | Functional
        How the block computes, for resolved parameters and inferred input shapes.
    check(params, in_shapes) -> str | None
        A plain-language problem with these inputs (checked before building), or None.
    expand(params, in_shapes) -> Subgraph
        For composite blocks: the equivalent sub-graph of simpler blocks.
    deps
        Our own classes and functions that generated source must define for ``make``'s target:
        a tuple, or a function giving one, so that a catalogue entry can name classes of a
        module that imports torch without importing it (see ``source_deps``).
    context
        Names from the project's input specification (``classes``, ``height`` …) that the
        compiler adds to the parameters ``make`` and ``check`` receive: a head predicts the
        project's classes at the input's size without asking the user to repeat them.
    """

    spec: BlockSpec
    make: Callable[[Params, Sequence[Shape]], Call | Functional]
    check: Callable[[Params, Sequence[Shape]], str | None] | None = None
    expand: Callable[[Params, Sequence[Shape]], Subgraph] | None = None
    deps: tuple[Any, ...] | Callable[[], tuple[Any, ...]] = ()
    context: tuple[str, ...] = ()

    @property
    def type_id(self) -> str:
        return self.spec.type_id

    @property
    def source_deps(self) -> tuple[Any, ...]:
        """The classes and functions generated source defines for this block, in order."""
        return self.deps() if callable(self.deps) else self.deps


class Catalogue:
    """All block types by id; the graph looks schemas up here through ``spec``."""

    def __init__(self) -> None:
        self._types: dict[str, BlockType] = {}

    def register(self, block: BlockType) -> BlockType:
        if block.type_id in self._types:
            raise ValueError(f"block type {block.type_id!r} registered twice")
        self._types[block.type_id] = block
        return block

    def spec(self, type_id: str) -> BlockSpec | None:
        block = self._types.get(type_id)
        return block.spec if block else None

    def get(self, type_id: str) -> BlockType | None:
        return self._types.get(type_id)

    def __iter__(self):
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    def categories(self) -> dict[str, list[BlockType]]:
        result: dict[str, list[BlockType]] = {}
        for block in self._types.values():
            result.setdefault(block.spec.category, []).append(block)
        return result


class Pyramid(tuple):
    """What a feature pyramid (FPN) gives: its maps' shapes (each C×H×W), finest first.

    A tuple of shapes rather than one shape, so that blocks checking for a feature map or a
    vector by its length refuse it, and only the detection heads that know it accept it.
    ``taps`` is how many of the maps come from the network (the rest are max-pooled from the
    last of them); it takes part in equality, since the heads pool regions from those only."""

    def __new__(cls, levels, taps: int):
        pyramid = super().__new__(cls, levels)
        pyramid.taps = taps
        return pyramid

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Pyramid) and other.taps == self.taps
                and tuple(self) == tuple(other))

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash((tuple(self), self.taps))

    def __reduce__(self):
        return Pyramid, (tuple(self), self.taps)

    def text(self) -> str:
        return (f"pyramid of {len(self)} maps "
                + ", ".join("×".join(str(d) for d in level) for level in self))


class Detections(tuple):
    """What a detection head gives: per image, boxes (M×4), labels and scores for ``classes``
    classes (the background included); held as ``(classes,)``."""

    def text(self) -> str:
        return f"boxes, labels, scores per image ({self[0]} classes incl. background)"


def shape_text(shape: Shape) -> str:
    """``64×56×56`` for a feature map, ``1000`` for a vector; a pyramid or a detector's output
    in words."""
    if isinstance(shape, (Pyramid, Detections)):
        return shape.text()
    return "×".join(str(d) for d in shape)
