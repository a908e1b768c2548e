"""Damaged and hand-made checkpoints and safetensors files: every reader refuses them with its
own error type and one line naming the file, never a traceback or a silently wrong weight."""

from __future__ import annotations

import zipfile

import pytest
import torch
from test_export_support import trained_run

from resnet_studio.cli import main
from resnet_studio.export import ExportError, load_safetensors
from resnet_studio.export.formats import export_safetensors
from resnet_studio.export.trained import open_trained
from resnet_studio.train import CheckpointError, load_checkpoint


@pytest.fixture
def run_dir(tmp_path_factory):
    return trained_run(tmp_path_factory.getbasetemp())


def one_line_error(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("resnet-studio: error: ") and "Traceback" not in err
    return err


# ----- a flipped byte -------------------------------------------------------------------------
def flip_byte_of_member(path, suffix: str) -> str:
    """Flip one byte in the middle of the first archive member whose name ends with
    ``suffix``; return the member's name."""
    with zipfile.ZipFile(path) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(suffix))
    data = bytearray(path.read_bytes())
    name_len = int.from_bytes(data[info.header_offset + 26: info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28: info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.file_size // 2] ^= 0x10
    path.write_bytes(bytes(data))
    return info.filename


def test_a_flipped_byte_in_a_tensor_is_detected(run_dir, capsys):
    path = run_dir / "last.pt"
    member = flip_byte_of_member(path, "data/0")
    # torch alone loads it: the damage would go unnoticed into training
    assert torch.load(path, weights_only=True)["model"]
    with pytest.raises(CheckpointError, match=rf"last.pt: is damaged: its member ‘{member}’ "
                                              "does not match the checksum"):
        load_checkpoint(path)
    assert "last.pt: is damaged" in one_line_error(capsys, ["train", "--resume", path,
                                                            "--epochs", "2"])
    assert "last.pt: is damaged" in one_line_error(capsys, [
        "export", path, "-f", "safetensors", "-o", run_dir / "x.safetensors"])
    assert not (run_dir / "x.safetensors").exists()


def test_a_flipped_byte_in_the_pickle_is_detected(run_dir):
    path = run_dir / "best.pt"
    flip_byte_of_member(path, "data.pkl")
    with pytest.raises(CheckpointError, match=r"best\.pt: is damaged"):
        load_checkpoint(path)


# ----- wrong-typed fields ---------------------------------------------------------------------
def _set(key, value):
    return lambda state: state.__setitem__(key, value)


def _group(key, value):
    return lambda state: state["optimizer"]["param_groups"][0].__setitem__(key, value)


BAD_FIELDS = {
    "epoch text": (_set("epoch", "abc"), "‘epoch’ should be a whole number ≥ 0, not str"),
    "epoch flag": (_set("epoch", True), "‘epoch’ should be a whole number"),
    "negative step": (_set("step", -3), "‘step’ should be a whole number ≥ 0, not int -3"),
    "fractional batch": (_set("batch", 1.5), "‘batch’ should be a whole number"),
    "config a list": (_set("config", [1, 2]), "‘config’ should be a training configuration"),
    "config bad lr": (lambda s: s["config"].__setitem__("lr", "fast"),
                      "‘config’ is not a valid training configuration"),
    "config unknown key": (lambda s: s["config"].__setitem__("colour", 1),
                           "‘config’ is not a valid training configuration.*colour"),
    "model a list": (_set("model", [torch.ones(1)]), "‘model’ should be a dictionary of tensors"),
    "model a number": (lambda s: s["model"].__setitem__("fc.weight", 3),
                       "‘model’ should map names to tensors; entry 'fc.weight' holds int"),
    "model NaN": (lambda s: s["model"][next(iter(s["model"]))].view(-1).__setitem__(
        0, float("nan")), "‘model’ is not usable: its tensor ‘[^’]+’ holds 1 NaN and 0 infinite"),
    "model inf": (lambda s: s["model"][next(iter(s["model"]))].view(-1)[:2].fill_(
        float("inf")), "holds 0 NaN and 2 infinite value"),
    "optimizer a list": (_set("optimizer", []), "‘optimizer’ should be an optimiser state"),
    "lr text": (_group("lr", "abc"), "‘optimizer’ has a parameter group whose ‘lr’ is str"),
    "params text": (_group("params", "all"), "without its list of parameter indices"),
    "scheduler epoch": (lambda s: s["scheduler"].__setitem__("last_epoch", "x"),
                        "‘scheduler’ has ‘last_epoch’ 'x'"),
    "scheduler a list": (_set("scheduler", [0]), "‘scheduler’ should be a scheduler state"),
    "rng short": (_set("rng", [{"torch": torch.zeros(3, dtype=torch.uint8)}]),
                  "‘rng’ should hold a CPU generator state of"),
    "rng a tensor": (_set("rng", torch.zeros(3)), "‘rng’ should be a list"),
    "sums": (_set("epoch_sums", [1.0]), "‘epoch_sums’ should be three finite numbers"),
    "seconds": (_set("epoch_seconds", "long"), "‘epoch_seconds’ should be a finite number"),
    "graph a list": (_set("graph", [1]), "‘graph’ should be a dictionary"),
    "layers text": (_set("layers", "conv1"), "‘layers’ should be a list of layer names"),
    "metrics epochs": (lambda s: s["metrics"].__setitem__("epochs", "all"),
                       "‘metrics’ has ‘epochs’ that is not a list"),
    "best epoch": (lambda s: s["metrics"].__setitem__("best_epoch", "one"),
                   "‘metrics’ has ‘best_epoch’"),
    "versions": (_set("versions", 3), "‘versions’ should be a dictionary"),
    "missing keys": (lambda s: s.pop("batch"), "is incomplete \\(missing batch\\)"),
}


@pytest.mark.parametrize("change, problem", BAD_FIELDS.values(), ids=BAD_FIELDS)
def test_a_wrong_field_is_a_checkpoint_error_everywhere(run_dir, tmp_path, capsys, change,
                                                        problem):
    state = torch.load(run_dir / "last.pt", weights_only=True)
    change(state)
    path = tmp_path / "made.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=f"made.pt: .*{problem}"):
        load_checkpoint(path)
    with pytest.raises(ExportError, match=f"made.pt: .*{problem}"):
        open_trained(path)
    for argv in (["train", "--resume", path, "--epochs", "2"],
                 ["export", path, "-f", "pt2", "-o", tmp_path / "out.pt2"]):
        assert "made.pt: " in one_line_error(capsys, argv)


def test_an_unaltered_checkpoint_passes_every_check(run_dir):
    state = load_checkpoint(run_dir / "last.pt")
    assert state["epoch"] == 1 and set(state["model"]) and state["rng"]


# ----- safetensors ----------------------------------------------------------------------------
@pytest.fixture
def safetensors_file(run_dir, tmp_path):
    out = tmp_path / "net.safetensors"
    export_safetensors(open_trained(run_dir), out)
    return out


def _truncate(data: bytes) -> bytes:
    return data[: len(data) - 40]


def _bad_header_length(data: bytes) -> bytes:
    return (10**12).to_bytes(8, "little") + data[8:]


def _bad_header_json(data: bytes) -> bytes:
    return data[:8] + b"[" + data[9:]


def _bad_offsets(data: bytes) -> bytes:
    # the first tensor's offsets, "data_offsets":[0, N], made to point past the end
    return data.replace(b'"data_offsets":[0,', b'"data_offsets":[9,', 1)


def _bad_dtype(data: bytes) -> bytes:
    return data.replace(b'"dtype":"F32"', b'"dtype":"Q99"', 1)


DAMAGE = {"truncated": _truncate, "header length": _bad_header_length,
          "header json": _bad_header_json, "offsets": _bad_offsets, "dtype": _bad_dtype,
          "empty": lambda data: b"", "noise": lambda data: bytes(range(256)) * 4}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE)
def test_a_damaged_safetensors_file_is_an_export_error(safetensors_file, damage):
    data = safetensors_file.read_bytes()
    damaged = damage(data)
    assert damaged != data
    safetensors_file.write_bytes(damaged)
    with pytest.raises(ExportError, match=r"net\.safetensors"):
        load_safetensors(safetensors_file)


def test_a_flipped_byte_in_pretrained_weights_is_a_weights_error(run_dir):
    from resnet_studio.export import WeightsError, load_pretrained
    from resnet_studio.export.trained import graph_of

    path = run_dir / "best.pt"
    graph = graph_of(load_checkpoint(path), path)
    load_pretrained(graph, path)  # loads while intact
    member = flip_byte_of_member(path, "data/1")
    with pytest.raises(WeightsError, match=rf"best.pt is damaged: its member ‘{member}’"):
        load_pretrained(graph, path)


# ----- bounded reading ------------------------------------------------------------------------
def zip_bomb(path, unpacked: int = 64 * 2 ** 20):
    """A small zip archive (torch.save's container) whose one deflated member unpacks to
    ``unpacked`` bytes: the file is tiny, reading it is not."""
    block = bytes(2 ** 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("archive/data/0", "w") as member:
        for _ in range(unpacked // len(block)):
            member.write(block)
    return path


def test_a_checkpoint_that_unpacks_past_the_memory_is_refused_before_reading(tmp_path,
                                                                              monkeypatch,
                                                                              capsys):
    from resnet_studio import budget as budget_module
    from resnet_studio.export import WeightsError, load_pretrained
    from resnet_studio.presets import create
    from resnet_studio.train import checkpoint as checkpoint_module

    bomb = zip_bomb(tmp_path / "bomb.pt")
    assert bomb.stat().st_size < 2 ** 20  # the file alone would pass
    monkeypatch.setattr(budget_module, "device_memory",
                        lambda device="cpu": (32 * 2 ** 20, "this machine has available"))
    monkeypatch.setattr(checkpoint_module, "damaged_member", lambda path: pytest.fail("read"))
    refusal = r"bomb.pt.*would take about 64.0 MiB of memory to read, more than the 32.0 MiB"
    with pytest.raises(CheckpointError, match=refusal):
        load_checkpoint(bomb)
    with pytest.raises(ExportError, match=refusal):
        open_trained(bomb)
    with pytest.raises(WeightsError, match=refusal):
        load_pretrained(create("small_resnet"), bomb)
    for argv in (["train", "--resume", bomb, "--epochs", "2"],
                 ["export", bomb, "-f", "pt2", "-o", tmp_path / "out.pt2"],
                 ["lesion", bomb, "-o", tmp_path / "lesion"]):
        assert "would take about 64.0 MiB" in one_line_error(capsys, argv)


def test_a_checkpoint_within_the_memory_still_loads(run_dir, monkeypatch):
    from resnet_studio import budget as budget_module

    size = (run_dir / "last.pt").stat().st_size
    monkeypatch.setattr(budget_module, "device_memory",
                        lambda device="cpu": (2 * size, "this machine has available"))
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 1
    monkeypatch.setattr(budget_module, "device_memory",
                        lambda device="cpu": (size // 2, "this machine has available"))
    with pytest.raises(CheckpointError, match=r"last\.pt: would take about"):
        load_checkpoint(run_dir / "last.pt")


def test_a_folder_or_a_pipe_is_not_a_checkpoint(tmp_path):
    import os

    pipe = tmp_path / "pipe.pt"
    os.mkfifo(pipe)  # opening it to read would wait for a writer forever
    for path in (tmp_path, pipe):
        with pytest.raises(CheckpointError, match=r"is not a file .*give a checkpoint file"):
            load_checkpoint(path)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")
