"""Refusals that need no network built come right after the command line is parsed, before
torch is imported (``resnet_studio.precheck``); what they let through is left to the
commands' own estimates."""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from test_train_support import child_env

from resnet_studio.budget import BudgetError
from resnet_studio.cli import build_parser
from resnet_studio.graph import InputSpec, project
from resnet_studio.precheck import Refused, check_arguments
from resnet_studio.presets import create

# Runs each command line through ``cli.main`` in one fresh interpreter and reports, for each,
# the exit status, stderr and whether torch had been imported by then.
CHILD = """
import contextlib, io, json, sys
from resnet_studio.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(argv)
    results.append([code, err.getvalue(), "torch" in sys.modules])
print(json.dumps(results))
"""


def bomb_png(path: Path, side: int = 65535) -> Path:
    """A 68-byte PNG whose header claims ``side``×``side`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def claiming_zip(path: Path, claimed: int = 0xFFFF0000) -> Path:
    """A 150-byte zip archive (torch.save's container) whose directory says its one member
    unpacks to ``claimed`` bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data/0", b"0123456789")
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # the central directory's entry: size at +24
    data[entry + 24: entry + 28] = struct.pack("<I", claimed)
    path.write_bytes(bytes(data))
    return path


def hostile_files(tmp: Path) -> dict[str, str]:
    huge = create("small_resnet", InputSpec(3, 100_000, 100_000, 10))
    project.save(huge, tmp / "huge.rstudio.json")
    nested = tmp / "nested"
    nested.mkdir()
    (nested / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    (nested / "graph.json").write_text("{}")
    (tmp / "empty_run").mkdir()
    (tmp / "claiming").mkdir()
    return {"huge": str(tmp / "huge.rstudio.json"), "nested": str(nested),
            "run": str(tmp / "empty_run"), "bomb": str(bomb_png(tmp / "bomb.png")),
            "claim": str(claiming_zip(tmp / "claiming" / "last.pt"))}


CLAIM = "last.pt: would take about 4.0 GiB of memory to read"


def cases(f: dict[str, str], out: str) -> dict[str, tuple[list[str], str]]:
    many = ",".join(str(i) for i in range(1, 3001))
    return {
        "grid": (["landscape", f["run"], "--grid", "100000", "-o", out], "--grid 100,000:"),
        "steps": (["landscape", f["run"], "--steps", "1000000000", "--grid", "3", "-o", out],
                  "--steps 1,000,000,000: the 1-D slice takes at most 10,001 points"),
        "signal batch": (["signal", "preset:small_resnet", "--batch-size", "1000000000", "-o",
                          out], "1,000,000,000 images at 3×32×32 (the images alone) needs"),
        "signal input": (["signal", f["huge"], "-o", out],
                         "32 images at 3×100000×100000 (the images alone) needs"),
        "train input": (["train", f["huge"], "--out", out + "/t"],
                        "training on one image at 3×100000×100000 (the image alone) needs"),
        "train batch": (["train", "preset:small_resnet", "--batch-size", "1000000000", "--out",
                         out + "/t"], "‘batch_size’: 1000000000 is outside the allowed range"),
        "sweep": (["experiment", "sweep", "preset:small_resnet", "--vary", "lr=" + many,
                   "--vary", "weight_decay=" + many, "--plan-only", "--out", out + "/s"],
                  "9,000,000 runs (3,000 × 3,000)"),
        "lesion nested": (["lesion", f["nested"], "-o", out],
                          "nested/config.json: is nested too deeply to be a run file"),
        "twin nested": (["experiment", "twin", "preset:small_resnet", "--run", f["nested"],
                         "--plan-only", "--out", out + "/w"],
                        f"{f['nested']} cannot be read as a run: {f['nested']}/config.json"),
        "bomb": (["explain", f["run"], f["bomb"], "-o", out],
                 "bomb.png: the image claims 4,294,836,225 pixels"),
        "resume claim": (["train", "--resume", f["claim"], "--epochs", "2"], CLAIM),
        "lesion claim": (["lesion", str(Path(f["claim"]).parent), "-o", out], CLAIM),
        "export claim": (["export", f["claim"], "-f", "safetensors", "-o", out + ".st"], CLAIM),
        "weights claim": (["import", "torchvision:resnet18", "-o", out + ".json", "--weights",
                           f["claim"]], CLAIM),
        "output": (["signal", "preset:small_resnet", "-o", "/dev/null/x"],
                   "/dev/null/x/signal.csv: a part of the path is a file, not a folder"),
    }


def test_refusals_that_need_no_network_come_before_torch_is_imported(tmp_path):
    table = cases(hostile_files(tmp_path), str(tmp_path / "out"))
    def two_gib() -> None:  # the archive's 4 GiB claim is then more than may be used
        resource.setrlimit(resource.RLIMIT_AS, (2 * 2 ** 30, 2 * 2 ** 30))

    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps([a for a, _ in
                                                                     table.values()])],
                          capture_output=True, text=True, env=child_env(), timeout=120,
                          preexec_fn=two_gib)
    assert done.returncode == 0, done.stderr
    for (name, (_, words)), (code, err, torch_loaded) in zip(table.items(),
                                                             json.loads(done.stdout)):
        assert code == 2 and len(err.strip().splitlines()) == 1, (name, err)
        assert err.startswith("resnet-studio: error: ") and words in err, (name, err)
        assert not torch_loaded, f"{name}: torch was imported before the refusal"
    assert not (tmp_path / "out").exists()


def parsed(*argv: str):
    return build_parser().parse_args(list(argv))


def test_requests_that_may_fit_are_left_to_the_commands(tmp_path):
    out = str(tmp_path / "out")
    for argv in (["signal", "preset:small_resnet", "--batch-size", "20000", "-o", out],
                 ["landscape", str(tmp_path), "--steps", "10001", "--grid", "199", "-o", out],
                 ["experiment", "sweep", "preset:small_resnet", "--vary", "lr=1,2,3", "--vary",
                  "seed=" + ",".join(map(str, range(333))), "--plan-only"],
                 ["train", "preset:small_resnet", "--batch-size", "1000000", "--out", out]):
        check_arguments(parsed(*argv))  # the images of 20,000 32×32 images fit: torch decides


def test_the_landscape_total_is_checked_as_well_as_each_side(tmp_path):
    with pytest.raises(BudgetError, match=r"evaluate the network 50,402 times"):
        check_arguments(parsed("landscape", str(tmp_path), "--steps", "10001", "--grid", "201",
                               "-o", str(tmp_path / "o")))


def test_a_sweep_is_counted_by_multiplying_and_once_per_setting(tmp_path):
    values = ",".join(map(str, range(1, 41)))
    with pytest.raises(BudgetError, match=r"1,600 runs \(40 × 40\)"):
        check_arguments(parsed("experiment", "sweep", "preset:small_resnet", "--vary",
                               f"lr={values}", "--vary", f"seed={values}"))
    # the same setting given twice is one setting, as the planner reads it
    check_arguments(parsed("experiment", "sweep", "preset:small_resnet", "--vary",
                           f"lr={values}", "--vary", f"lr={values}"))


def test_an_output_folder_under_a_file_is_refused_and_a_new_one_is_not(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError) as caught:
        check_arguments(parsed("lesion", str(tmp_path), "-o", str(tmp_path / "file" / "a")))
    assert caught.value.filename == str(tmp_path / "file" / "a" / "lesion.csv")
    check_arguments(parsed("lesion", str(tmp_path), "-o", str(tmp_path / "new" / "a")))
    assert not (tmp_path / "new").exists()  # nothing is made before the work


def test_training_images_are_checked_on_the_host_only_for_cpu_training(tmp_path):
    huge = create("small_resnet", InputSpec(3, 100_000, 100_000, 10))
    path = tmp_path / "huge.rstudio.json"
    project.save(huge, path)
    with pytest.raises(BudgetError, match="training on one image at 3×100000×100000"):
        check_arguments(parsed("train", str(path), "--device", "cpu", "--out", str(tmp_path)))
    check_arguments(parsed("train", str(path), "--device", "cuda", "--out", str(tmp_path)))


def test_a_readable_run_config_and_an_ordinary_image_pass(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"config": {}}))
    small = tmp_path / "small.png"
    from PIL import Image

    Image.new("RGB", (4, 4)).save(small)
    check_arguments(parsed("explain", str(tmp_path), str(small), "-o", str(tmp_path / "o")))
    (tmp_path / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(Refused, match=r"config\.json: is nested too deeply"):
        check_arguments(parsed("explain", str(tmp_path), str(small), "-o", str(tmp_path / "o")))
