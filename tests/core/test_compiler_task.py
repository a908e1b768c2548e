"""The task follows from the head blocks (compiler.task)."""

from __future__ import annotations

import pytest

from resnet_studio.compiler.task import (
    HEAD_TASKS,
    TaskError,
    task_of,
    task_of_project,
    task_of_types,
)
from resnet_studio.graph.project import to_dict
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


@pytest.mark.parametrize("types, task", [
    ([], "classification"), (["conv2d", "linear"], "classification"),
    (["conv2d", "fcos", "retinanet"], "detection"), (["fcn_head"], "segmentation"),
    (["faster_rcnn", "deeplabv3_head"], None), ([None, 3, "fcn_head"], "segmentation")])
def test_the_task_of_block_types_follows_their_heads(types, task):
    assert task_of_types(types) == task


@pytest.mark.parametrize("graph, task", [
    ({"nodes": [{"type": "conv2d"}, {"type": "retinanet"}]}, "detection"),
    ({"nodes": [{"type": "deeplabv3_head"}]}, "segmentation"),
    ({"nodes": [{"type": "fcn_head"}, {"type": "fcos"}]}, "classification"),  # refused mix
    ({"nodes": [{"type": "fcn_head"}, "garbage"]}, "segmentation"),
    ({"nodes": "garbage"}, "classification"), (None, "classification")])
def test_the_task_of_a_project_dict_follows_its_heads(graph, task):
    assert task_of_project(graph) == task


@pytest.mark.parametrize("type_id", [None, *sorted(HEAD_TASKS)])
def test_a_saved_project_has_the_task_of_its_graph(type_id):
    graph = create("resnet20")
    if type_id is not None:
        _with_type(graph, list(graph.nodes)[-1], type_id)
    assert task_of_project(to_dict(graph)) == task_of(graph)
