"""Every model.py the studio writes imports back into the same project: `resnet-studio
source`, File ▸ Export model.py, and the bundle's."""

from __future__ import annotations

from resnet_studio import cli
from resnet_studio.export.bundle import write_bundle
from resnet_studio.export.model_source import import_model_source
from resnet_studio.export.trained import Trained
from resnet_studio.graph.project import save, to_dict


def same_project(path, graph) -> None:
    imported = import_model_source(path)
    assert to_dict(imported) == to_dict(graph)


def test_cli_source_writes_an_importable_model_py(window, tmp_path, capsys):
    graph = window.document.graph
    project = tmp_path / "net.rstudio.json"
    save(graph, project)
    model = tmp_path / "model.py"
    assert cli.main(["source", str(project), "-o", str(model)]) == 0
    same_project(model, graph)
    assert cli.main(["source", str(project)]) == 0  # to standard output: the same text
    assert capsys.readouterr().out.endswith(model.read_text(encoding="utf-8"))


def test_export_model_py_writes_an_importable_file(window, prompts, tmp_path):
    prompts.save_path = str(tmp_path / "exported.py")
    assert window.export_source()
    text = (tmp_path / "exported.py").read_text(encoding="utf-8")
    assert text.startswith(window.code_view.source.rstrip("\n"))  # the code the pane shows
    same_project(tmp_path / "exported.py", window.document.graph)


def test_the_bundle_model_py_imports(window, tmp_path, monkeypatch):
    # Only the bundle's model.py matters here: its checkpoint is a stand-in, copied as it is
    # (copying a real one is tested with the bundle in tests/core/test_export_bundle.py).
    import shutil

    from resnet_studio.export import bundle

    monkeypatch.setattr(bundle, "copy_checkpoint", shutil.copyfile)
    checkpoint = tmp_path / "last.pt"
    checkpoint.write_bytes(b"stand-in checkpoint")
    trained = Trained(checkpoint, {"config": {}, "epoch": 1, "step": 8},
                      window.document.graph, ["a", "b"])
    folder = tmp_path / "bundle"
    folder.mkdir()
    write_bundle(trained, folder)
    same_project(folder / "model.py", window.document.graph)
