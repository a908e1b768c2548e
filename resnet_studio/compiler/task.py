"""A project's task follows from its head blocks: a detection head makes it a detector, a
segmentation head a segmenter, and a network with neither is a classifier.

    task_of(graph)  →  "classification" | "detection" | "segmentation"

Pure Python (no torch): the editor, the CLI's refusals and the engine all ask it.
"""

from __future__ import annotations

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


def task_of(graph: Graph) -> str:
    """The task of ``graph``'s head blocks; classification when it has none. Heads of two
    tasks in one graph raise ``TaskError`` naming them."""
    found = {node_id: HEAD_TASKS[node.type_id] for node_id, node in graph.nodes.items()
             if node.type_id in HEAD_TASKS}
    tasks = sorted(set(found.values()))
    if len(tasks) > 1:
        heads = ", ".join(f"‘{node_id}’ ({task})" for node_id, task in sorted(found.items()))
        raise TaskError(f"the network has heads of more than one task: {heads}; keep the heads "
                        "of one task")
    return tasks[0] if tasks else CLASSIFICATION


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
