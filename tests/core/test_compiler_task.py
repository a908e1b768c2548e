"""The task follows from the head blocks (compiler.task)."""

from __future__ import annotations

import pytest

from resnet_studio.compiler.task import HEAD_TASKS, TaskError, task_of
from resnet_studio.presets import create


def _with_type(graph, node_id, type_id):
    graph.nodes[node_id].type_id = type_id
    return graph


def test_a_network_without_heads_is_a_classifier():
    assert task_of(create("resnet20")) == "classification"


@pytest.mark.parametrize("type_id", sorted(HEAD_TASKS))
def test_each_head_makes_its_task(type_id):
    graph = create("resnet20")
    last = list(graph.nodes)[-1]
    assert task_of(_with_type(graph, last, type_id)) == HEAD_TASKS[type_id]


def test_heads_of_two_tasks_are_refused_naming_both():
    graph = create("resnet20")
    first, last = list(graph.nodes)[-2:]
    _with_type(graph, first, "faster_rcnn")
    _with_type(graph, last, "fcn_head")
    with pytest.raises(TaskError, match=f"‘{first}’ \\(detection\\).*‘{last}’ \\(segmentation\\)"):
        task_of(graph)
