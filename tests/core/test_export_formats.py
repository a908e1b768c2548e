"""ONNX, torch.export and safetensors exports of a real (short) training run: each is
verified against the trained network, written atomically, and refused inputs say why."""

from __future__ import annotations

import json
import os
import sys
import threading

import numpy as np
import pytest
import torch
from test_export_support import leftovers, trained_run

from resnet_studio.blocks import CATALOGUE
from resnet_studio.compiler import build
from resnet_studio.export import (
    FORMATS,
    ExportError,
    export_checkpoint,
    load_safetensors,
    staging,
)
from resnet_studio.export import formats as formats_module
from resnet_studio.export.command import FORMAT_NAMES
from resnet_studio.export.errors import ExportCancelled
from resnet_studio.export.trained import copy_checkpoint
from resnet_studio.graph import project
from resnet_studio.train import load_checkpoint, save_checkpoint
from resnet_studio.train.checkpoint import DATA_INFO, DATA_SPEC


@pytest.fixture
def run_dir(tmp_path_factory: pytest.TempPathFactory):
    """A copy of the shared training run's directory."""
    return trained_run(tmp_path_factory.getbasetemp())


def trained_model(checkpoint_path):
    ck = load_checkpoint(checkpoint_path)
    graph = project.from_dict(ck["graph"], CATALOGUE)
    model = build(graph)
    model.load_state_dict(ck["model"])
    return model.eval(), graph


def images(batch: int, seed: int = 7) -> torch.Tensor:
    return torch.randn(batch, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


# ----- each format ----------------------------------------------------------------------------
def test_onnx_export_runs_in_onnxruntime_with_any_batch_size(run_dir, tmp_path):
    import onnx
    import onnxruntime as ort

    out = tmp_path / "net.onnx"
    result = export_checkpoint(run_dir, "onnx", out)
    assert result.path == out and result.checkpoint == run_dir / "best.pt"
    assert result.max_abs_diff < 1e-4 and result.checked_batch != staging.EXAMPLE_BATCH
    model, _ = trained_model(run_dir / "best.pt")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        x = images(batch)
        got = session.run(None, {"images": x.numpy()})[0]
        with torch.no_grad():
            np.testing.assert_allclose(got, model(x).numpy(), atol=1e-4, rtol=1e-4)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["class_names"]) == ["disk", "square", "triangle", "ring"]
    assert json.loads(props["input_spec"]) == {"channels": 3, "height": 8, "width": 8,
                                               "classes": 4}
    assert len(json.loads(props["normalisation"])["mean"]) == 3
    assert leftovers(tmp_path) == []


def test_pt2_export_loads_back_with_a_dynamic_batch(run_dir, tmp_path):
    out = tmp_path / "net.pt2"
    result = export_checkpoint(run_dir / "last.pt", "pt2", out)
    assert result.checkpoint == run_dir / "last.pt" and result.max_abs_diff < 1e-5
    model, _ = trained_model(run_dir / "last.pt")
    program = torch.export.load(str(out)).module()
    for batch in (1, 4):
        x = images(batch)
        with torch.no_grad():
            torch.testing.assert_close(program(x), model(x), atol=1e-5, rtol=1e-5)


def test_safetensors_export_rebuilds_the_network_from_its_metadata(run_dir, tmp_path):
    from safetensors import safe_open

    out = tmp_path / "net.safetensors"
    export_checkpoint(run_dir, "safetensors", out)
    graph, model = load_safetensors(out)
    reference, original = trained_model(run_dir / "best.pt")
    assert project.to_dict(graph) == project.to_dict(original)
    with torch.no_grad():
        torch.testing.assert_close(model(images(3)), reference(images(3)), atol=0, rtol=0)
    with safe_open(str(out), framework="pt") as handle:
        meta = handle.metadata()
        keys = set(handle.keys())
    assert keys == set(reference.state_dict())
    assert json.loads(meta["input_spec"])["classes"] == 4
    assert json.loads(meta["class_names"])[0] == "disk"
    run_info = json.loads((run_dir / "config.json").read_text())["data"]
    assert json.loads(meta["normalisation"]) == {"mean": run_info["mean"], "std": run_info["std"]}


def test_class_names_come_from_the_data_settings_outside_a_run_directory(run_dir, tmp_path):
    from safetensors import safe_open

    folder = tmp_path / "bundle-like"  # a checkpoint beside a training config.json, no run
    folder.mkdir()
    old = load_checkpoint(run_dir / "last.pt")
    del old[DATA_INFO], old[DATA_SPEC]  # as checkpoints were before they carried the data
    save_checkpoint(old, folder / "checkpoint.pt")
    (folder / "config.json").write_text(json.dumps(old["config"]))
    export_checkpoint(folder / "checkpoint.pt", "safetensors", tmp_path / "net.safetensors")
    with safe_open(str(tmp_path / "net.safetensors"), framework="pt") as handle:
        meta = handle.metadata()
    assert json.loads(meta["class_names"]) == ["disk", "square", "triangle", "ring"]
    assert json.loads(meta["normalisation"]) is None  # not recorded: said, not guessed


def test_normalisation_comes_from_the_checkpoints_data_spec_outside_a_run_directory(
        run_dir, tmp_path):
    from safetensors import safe_open

    old = load_checkpoint(run_dir / "last.pt")
    del old[DATA_INFO]  # the spec alone must carry the normalisation
    save_checkpoint(old, tmp_path / "checkpoint.pt")
    export_checkpoint(tmp_path / "checkpoint.pt", "safetensors", tmp_path / "net.safetensors")
    with safe_open(str(tmp_path / "net.safetensors"), framework="pt") as handle:
        meta = handle.metadata()
    spec = old[DATA_SPEC]["normalisation"]
    assert json.loads(meta["normalisation"]) == {"mean": spec["mean"], "std": spec["std"]}


def onnx_and_safetensors_metadata(source, folder) -> list[dict]:
    """The class names and normalisation of an ONNX and a safetensors export of ``source``."""
    import onnx
    from safetensors import safe_open

    folder.mkdir()
    export_checkpoint(source, "onnx", folder / "net.onnx")
    export_checkpoint(source, "safetensors", folder / "net.safetensors")
    props = {p.key: p.value for p in onnx.load(str(folder / "net.onnx")).metadata_props}
    with safe_open(str(folder / "net.safetensors"), framework="pt") as handle:
        meta = handle.metadata()
    return [{k: json.loads(d[k]) for k in ("class_names", "normalisation")}
            for d in (props, meta)]


def test_an_exported_checkpoint_keeps_the_input_normalisation_in_every_format(run_dir,
                                                                              tmp_path):
    import shutil

    alone = tmp_path / "best-copy.pt"  # no run directory beside it: the file alone says it
    shutil.copyfile(run_dir / "best.pt", alone)
    from_run = onnx_and_safetensors_metadata(run_dir, tmp_path / "from-run")
    from_copy = onnx_and_safetensors_metadata(alone, tmp_path / "from-copy")
    run_info = json.loads((run_dir / "config.json").read_text())["data"]
    normalisation = {"mean": run_info["mean"], "std": run_info["std"]}
    assert [m["normalisation"] for m in from_run] == [normalisation, normalisation]
    assert from_copy == from_run


def test_copying_an_old_checkpoint_adds_the_run_s_data_to_it(run_dir, tmp_path):
    import shutil

    old = load_checkpoint(run_dir / "best.pt")
    del old[DATA_INFO], old[DATA_SPEC]  # as checkpoints were before they carried the data
    save_checkpoint(old, run_dir / "best.pt")
    shutil.copyfile(run_dir / "best.pt", tmp_path / "plain-copy.pt")
    copy_checkpoint(run_dir / "best.pt", tmp_path / "exported.pt")
    plain = onnx_and_safetensors_metadata(tmp_path / "plain-copy.pt", tmp_path / "plain")
    kept = onnx_and_safetensors_metadata(tmp_path / "exported.pt", tmp_path / "kept")
    assert [m["normalisation"] for m in plain] == [None, None]  # what a plain copy loses
    run_info = json.loads((run_dir / "config.json").read_text())["data"]
    assert [m["normalisation"]["std"] for m in kept] == [run_info["std"]] * 2
    assert load_checkpoint(tmp_path / "exported.pt")[DATA_INFO]["class_names"] == (
        run_info["class_names"])


def test_copying_a_checkpoint_to_a_folder_that_cannot_be_written_says_so(run_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="cannot be written"):
        copy_checkpoint(run_dir / "best.pt", blocker / "x.pt")


def test_the_command_line_offers_every_format():
    assert set(FORMAT_NAMES) == set(FORMATS)


# ----- verification and atomic writing --------------------------------------------------------
@pytest.mark.parametrize("fmt", ["bundle", "onnx", "pt2", "safetensors"])
def test_a_failed_check_leaves_nothing_behind(run_dir, tmp_path, monkeypatch, fmt):
    # Nothing may differ at all: every export then fails its check, whatever its precision.
    monkeypatch.setattr(staging, "ATOL", -1.0)
    monkeypatch.setattr(staging, "RTOL", 0.0)
    out = tmp_path / f"net.{fmt}"
    with pytest.raises(ExportError, match="nothing was written") as caught:
        export_checkpoint(run_dir, fmt, out)
    assert caught.value.max_abs_diff is not None and caught.value.max_abs_diff >= 0
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["bundle", "safetensors"])
def test_an_export_reports_its_stages_and_a_cancel_leaves_nothing_behind(run_dir, tmp_path,
                                                                         fmt):
    out, reports = tmp_path / f"net.{fmt}", []
    export_checkpoint(run_dir, fmt, out, progress=lambda *r: reports.append(r))
    assert [(done, total) for done, total, _ in reports] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert reports[2][2] == f"putting net.{fmt} in place" and out.exists()
    cancel, seen = threading.Event(), []

    def cancel_while_writing(done, total, text):
        seen.append(done)
        if done == 1:  # the export is written and checked next, then cancelled
            cancel.set()

    again = tmp_path / f"again.{fmt}"
    with pytest.raises(ExportCancelled, match="nothing was written"):
        export_checkpoint(run_dir, fmt, again, progress=cancel_while_writing, cancel=cancel)
    assert seen == [0, 1] and not again.exists() and leftovers(tmp_path) == []


def test_a_corrupted_export_reports_the_largest_difference(run_dir, tmp_path, monkeypatch):
    real = formats_module.load_safetensors

    def corrupted(path):
        graph, model = real(path)
        with torch.no_grad():
            model.fc.bias.add_(0.5)  # as if the file had been damaged on the way to disk
        return graph, model

    monkeypatch.setattr(formats_module, "load_safetensors", corrupted)
    out = tmp_path / "net.safetensors"
    with pytest.raises(ExportError) as caught:
        export_checkpoint(run_dir, "safetensors", out)
    assert caught.value.max_abs_diff == pytest.approx(0.5, abs=1e-5)
    assert "differ from the trained network by up to 0.5" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_export_is_kept_unless_overwriting(run_dir, tmp_path):
    out = tmp_path / "net.safetensors"
    out.write_bytes(b"keep me")
    with pytest.raises(ExportError, match="already exists"):
        export_checkpoint(run_dir, "safetensors", out)
    assert out.read_bytes() == b"keep me"
    export_checkpoint(run_dir, "safetensors", out, overwrite=True)
    assert load_safetensors(out)[0].input_spec.classes == 4
    assert leftovers(tmp_path) == []


def test_a_missing_optional_package_names_the_extra(run_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(ExportError, match=r"pip install 'resnet-studio\[onnx\]'"):
        export_checkpoint(run_dir, "onnx", tmp_path / "net.onnx")
    assert list(tmp_path.iterdir()) == []


# ----- refused inputs -------------------------------------------------------------------------
def test_a_missing_checkpoint_is_refused(tmp_path):
    with pytest.raises(ExportError, match="no such checkpoint file or run directory"):
        export_checkpoint(tmp_path / "absent.pt", "onnx", tmp_path / "net.onnx")
    with pytest.raises(ExportError, match=r"neither best\.pt nor last\.pt"):
        export_checkpoint(tmp_path, "onnx", tmp_path / "net.onnx")


def test_a_run_directory_without_best_uses_last(run_dir, tmp_path):
    (run_dir / "best.pt").unlink()
    result = export_checkpoint(run_dir, "safetensors", tmp_path / "net.safetensors")
    assert result.checkpoint == run_dir / "last.pt"


def test_foreign_and_damaged_files_are_refused(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ExportError, match="not a ResNet Studio checkpoint"):
        export_checkpoint(foreign, "onnx", tmp_path / "a.onnx")
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(ExportError, match="not a PyTorch archive"):
        export_checkpoint(text, "onnx", tmp_path / "b.onnx")
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"resnet_studio_checkpoint": 1, "payload": os.system}, unsafe)  # a callable
    with pytest.raises(ExportError, match="safe load refuses"):
        export_checkpoint(unsafe, "onnx", tmp_path / "c.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.pt", "notes.pt", "unsafe.pt"]


def test_a_checkpoint_without_a_project_is_refused(run_dir, tmp_path):
    ck = load_checkpoint(run_dir / "last.pt")
    ck["graph"] = None  # as when a plain nn.Module was trained
    torch.save(ck, tmp_path / "module.pt")
    with pytest.raises(ExportError, match="holds no project"):
        export_checkpoint(tmp_path / "module.pt", "pt2", tmp_path / "net.pt2")


def test_weights_that_do_not_fit_the_project_are_refused(run_dir, tmp_path):
    ck = load_checkpoint(run_dir / "last.pt")
    del ck["model"]["fc.bias"]
    torch.save(ck, tmp_path / "cut.pt")
    with pytest.raises(ExportError, match=r"missing from the file: fc\.bias"):
        export_checkpoint(tmp_path / "cut.pt", "safetensors", tmp_path / "net.safetensors")


def test_an_unknown_format_is_refused(run_dir, tmp_path):
    with pytest.raises(ExportError, match="unknown export format ‘tflite’"):
        export_checkpoint(run_dir, "tflite", tmp_path / "net.tflite")


def test_a_foreign_safetensors_file_cannot_be_rebuilt(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ExportError, match="not written by ResNet Studio"):
        load_safetensors(tmp_path / "plain.safetensors")
