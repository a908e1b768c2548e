"""Change events the document emits after each mutation.

Views mirror the document by listening to these; nothing in here knows about Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NodeAdded:
    node_id: str


@dataclass(frozen=True)
class NodeRemoved:
    node_id: str


@dataclass(frozen=True)
class NodeRenamed:
    """The node keeps its place; its edges were replaced by copies naming ``new_id`` (no
    EdgeRemoved / EdgeAdded events are sent for them)."""

    old_id: str
    new_id: str


@dataclass(frozen=True)
class NodeMoved:
    node_id: str
    old: tuple[float, float]
    new: tuple[float, float]


@dataclass(frozen=True)
class ParamsChanged:
    node_id: str
    old: dict[str, Any]
    new: dict[str, Any]


@dataclass(frozen=True)
class LabelChanged:
    node_id: str
    old: str
    new: str


@dataclass(frozen=True)
class EdgeAdded:
    edge: Any  # document.Edge; typed loosely to keep this module dependency-free


@dataclass(frozen=True)
class EdgeRemoved:
    edge: Any


@dataclass(frozen=True)
class DefinitionsChanged:
    """A custom block type was added or removed."""

    type_id: str


@dataclass(frozen=True)
class InputSpecChanged:
    old: Any
    new: Any


@dataclass(frozen=True)
class NameChanged:
    """The project's name changed."""

    old: str
    new: str


@dataclass(frozen=True)
class TrainingChanged:
    """The project's training settings (its free-form ``training`` object) changed."""

    old: Any
    new: Any


Listener = Callable[[object], None]


class Emitter:
    """The smallest observer: listeners are called in order with each event object."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def emit(self, event: object) -> None:
        for listener in list(self._listeners):
            listener(event)
