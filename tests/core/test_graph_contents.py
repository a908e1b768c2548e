"""Replacing a document's contents in place announces every change, the project's name and
training settings included, so a view that mirrors the document never misses one."""

from __future__ import annotations

from graph_fakes import Recorder, chain_graph

from resnet_studio.graph import events
from resnet_studio.graph.contents import replace_contents, snapshot
from resnet_studio.graph.project import to_dict


def test_replace_contents_announces_the_name_and_the_training_settings():
    target = chain_graph("relu")
    source = chain_graph("conv", "relu")
    source.set_name("other")
    source.set_training({"lr": 0.5})
    recorder = Recorder(target)
    replace_contents(target, snapshot(source))
    kinds = [type(e) for e in recorder.events]
    assert events.NameChanged(old="", new="other") in recorder.events
    assert events.TrainingChanged(old=None, new={"lr": 0.5}) in recorder.events
    assert kinds.index(events.NameChanged) < kinds.index(events.NodeAdded)
    assert to_dict(target) == to_dict(source)


def test_setting_the_same_name_or_settings_announces_nothing():
    graph = chain_graph("relu")
    graph.set_training({"lr": 0.1})
    recorder = Recorder(graph)
    graph.set_name(graph.name)
    graph.set_training({"lr": 0.1})
    assert recorder.events == []


def test_the_training_settings_are_copied_not_shared():
    graph = chain_graph("relu")
    settings = {"schedule": {"steps": [1, 2]}}
    graph.set_training(settings)
    settings["schedule"]["steps"].append(3)
    assert graph.training == {"schedule": {"steps": [1, 2]}}
