"""A project's task follows from its head blocks: a detection head makes it a detector, a
segmentation head a segmenter, and a network with neither is a classifier.

    task_of(graph)  →  "classification" | "detection" | "segmentation"
    task_of_project(graph.json as a dict)  →  the same, for a run's recorded project

Pure Python (no torch): the editor, the CLI's refusals and the engine all ask it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..graph import Graph

CLASSIFICATION, DETECTION, SEGMENTATION = "classification", "detection", "segmentation"
TASKS = (CLASSIFICATION, DETECTION, SEGMENTATION)

# The catalogue ids of the head blocks, by the task each makes.
HEAD_TASKS: dict[str, str] = {
    "faster_rcnn": DETECTION,
    "retinanet": DETECTION,
    "fcos": DETECTION,
    "fcn_head": SEGMENTATION,
    "deeplabv3_head": SEGMENTATION,
}


class TaskError(ValueError):
    """The graph's heads name more than one task."""


def task_of_types(type_ids: Iterable[object]) -> str | None:
    """The task that the head blocks among ``type_ids`` make: classification without any,
    None when they are heads of more than one task."""
    tasks = {HEAD_TASKS[t] for t in type_ids if isinstance(t, str) and t in HEAD_TASKS}
    if len(tasks) > 1:
        return None
    return tasks.pop() if tasks else CLASSIFICATION


def task_of(graph: Graph) -> str:
    """The task of ``graph``'s head blocks; classification when it has none. Heads of two
    tasks in one graph raise ``TaskError`` naming them."""
    task = task_of_types(node.type_id for node in graph.nodes.values())
    if task is None:
        heads = ", ".join(f"‘{node_id}’ ({HEAD_TASKS[node.type_id]})"
                          for node_id, node in sorted(graph.nodes.items())
                          if node.type_id in HEAD_TASKS)
        raise TaskError(f"the network has heads of more than one task: {heads}; keep the heads "
                        "of one task")
    return task


def task_of_project(graph: dict[str, Any] | None) -> str:
    """The task of a project written as a dict (graph.json, ``RunStartRecord.graph``): that
    of its head blocks, classification without any, with heads of two tasks (a project that
    could not have trained) or when unreadable."""
    nodes = (graph or {}).get("nodes")
    types = [n.get("type") for n in nodes if isinstance(n, dict)] \
        if isinstance(nodes, list) else []
    return task_of_types(types) or CLASSIFICATION


_DATASETS = {CLASSIFICATION: "synthetic, cifar10, folder:PATH, …",
             DETECTION: "shapes-detection or coco:PATH",
             SEGMENTATION: "shapes-segmentation or masks:PATH"}


def task_mismatch(graph_task: str | None, data_task: str, dataset: str) -> str:
    """Why the network's task is not the dataset's, naming both ("" when they agree, or when
    the network's task is not known). Torch-free: the app's settings ask it at start-up."""
    if graph_task is None or graph_task == data_task:
        return ""
    return (f"the network is a {graph_task} network but dataset ‘{dataset}’ is a {data_task} "
            f"set; choose a {graph_task} dataset ({_DATASETS[graph_task]}) or change the "
            "network's head")
