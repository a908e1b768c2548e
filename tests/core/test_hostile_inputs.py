"""Settings and files that would blow up an analysis, a study plan or training: each is
refused with one line giving the estimate and the limit (or naming the file) before anything
large is allocated — never a traceback, a hang or runaway memory."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from test_analysis_support import tiny_resnet, tiny_run
from test_study_support import budget, staged_graph

from resnet_studio import budget as budget_module
from resnet_studio.analysis import explain as explain_module
from resnet_studio.analysis import signal as signal_module
from resnet_studio.analysis.common import AnalysisError
from resnet_studio.analysis.landscape import landscape
from resnet_studio.analysis.signal import signal_propagation
from resnet_studio.budget import BudgetError, check_landscape, check_memory, check_runs
from resnet_studio.cli import main
from resnet_studio.data import DataConfig, DataError
from resnet_studio.data.folders import decode_image, load_folder
from resnet_studio.data.images import ImageTooLargeError
from resnet_studio.graph import InputSpec
from resnet_studio.graph.project import save
from resnet_studio.study import kinds
from resnet_studio.study.plan import Study, StudyError
from resnet_studio.train import rundir
from resnet_studio.train.limits import check_training

DEEP = 100_000


def bomb_png(path: Path, width: int = 65535, height: int = 65535) -> Path:
    """A PNG whose header claims ``width``×``height`` RGB pixels, with no pixels at all."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("runs") / "run", epochs=1)


@pytest.fixture(scope="module")
def nested(trained, tmp_path_factory) -> Path:
    """A copy of the run whose config.json nests 100,000 arrays deep."""
    run = shutil.copytree(trained, tmp_path_factory.mktemp("nested") / "run")
    (run / "config.json").write_text("[" * DEEP + "]" * DEEP)
    return run


def one_line_error(capsys, code: int) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("resnet-studio: error: "), err
    return err


# ----- resources, checked before the work -----------------------------------------------------
def test_run_count_is_checked_on_the_product_of_the_value_counts():
    assert check_runs([10, 100]) == 1000
    with pytest.raises(BudgetError, match=r"9,000,000 runs \(3,000 × 3,000\), more than the "
                                          r"1,000"):
        check_runs([3000, 3000])


def test_a_huge_sweep_is_refused_before_one_run_is_planned(monkeypatch):
    def no_planning(*args, **kwargs):
        raise AssertionError("a run was planned")

    monkeypatch.setattr(kinds, "_apply", no_planning)
    values = {"lr": [0.001 * (i + 1) for i in range(3000)],
              "weight_decay": [1e-6 * (i + 1) for i in range(3000)]}
    with pytest.raises(StudyError, match="9,000,000 runs"):
        kinds.plan_sweep(staged_graph(), budget(), values)


def test_a_degradation_study_of_too_many_depths_is_refused():
    with pytest.raises(StudyError, match="1,002 runs"):
        kinds.plan_degradation(staged_graph(), budget(), list(range(6, 6 + 501)))


def test_landscape_bounds_name_the_option_and_the_limit():
    assert check_landscape(21, 11) == 21 + 121
    with pytest.raises(BudgetError, match=r"--grid 100,000: .*10,000,000,000 evaluations"):
        check_landscape(21, 100_000)
    with pytest.raises(BudgetError, match=r"--steps 1,000,000,000"):
        check_landscape(1_000_000_000, 3)


def test_landscape_refuses_a_huge_grid_before_evaluating():
    with pytest.raises(AnalysisError, match="--grid 100,000"):
        landscape(object(), [], steps_2d=100_000)  # neither model nor batches are touched


def test_memory_check_gives_the_estimate_and_the_limit():
    check_memory(2 ** 30, "a thing", limit=2 ** 30)
    with pytest.raises(BudgetError, match=r"a thing needs about 2.0 GiB of memory, more than "
                                          r"the 1.0 GiB the limit is; do less\."):
        check_memory(2 ** 31, "a thing", advice="do less", limit=2 ** 30)


def test_available_memory_is_what_meminfo_says():
    meminfo = Path("/proc/meminfo").read_text()
    kib = int(next(line for line in meminfo.splitlines()
                   if line.startswith("MemAvailable:")).split()[1])
    assert abs(budget_module.available_memory() - kib * 1024) < 2 ** 30  # moments apart


def test_signal_refuses_a_batch_that_cannot_fit_before_drawing_it(monkeypatch):
    def no_batch(*args, **kwargs):
        raise AssertionError("a batch was drawn")

    monkeypatch.setattr(signal_module, "project_batch", no_batch)
    with pytest.raises(AnalysisError, match=r"1,000,000,000 images at 3×8×8 needs about "
                                            r"[\d,.]+ GiB of memory, more than the .*"
                                            r"lower --batch-size"):
        signal_propagation(tiny_resnet(), batch_size=1_000_000_000)


def test_signal_of_a_huge_input_is_refused(tmp_path, monkeypatch):
    graph = tiny_resnet()
    graph.input_spec = InputSpec(3, 100_000, 100_000, 3)
    monkeypatch.setattr(signal_module, "project_batch", lambda *a: pytest.fail("drawn"))
    with pytest.raises(AnalysisError, match="32 images at 3×100000×100000"):
        signal_propagation(graph)


def test_a_fitting_signal_batch_still_runs():
    result = signal_propagation(tiny_resnet(), batch_size=4, twin=False)
    assert result.settings["batch_size"] == 4


def test_training_a_huge_input_is_refused_before_loading_data(tmp_path, capsys):
    graph = tiny_resnet()
    graph.input_spec = InputSpec(3, 100_000, 100_000, 3)
    with pytest.raises(BudgetError, match=r"training on 3×100000×100000 images in batches "
                                          r"of 8 needs about"):
        check_training(graph, budget(), "cpu")
    check_training(tiny_resnet(), budget(), "cpu")  # a small one passes
    path = tmp_path / "huge.rstudio.json"
    save(graph, path)
    code = main(["train", str(path), "--epochs", "1", "--out", str(tmp_path / "run")])
    assert "needs about" in one_line_error(capsys, code)


def test_explain_refuses_a_network_whose_attribution_cannot_fit(trained, tmp_path, monkeypatch):
    from resnet_studio.analysis.common import load_run

    run = load_run(trained)
    run.graph.input_spec = InputSpec(3, 100_000, 100_000, 3)
    monkeypatch.setattr(explain_module, "load_image", lambda *a: pytest.fail("image read"))
    with pytest.raises(AnalysisError, match="32 attribution steps"):
        explain_module.explain_run(run, tmp_path / "any.png")


# ----- the command line: parser refusals --------------------------------------------------------
@pytest.mark.parametrize("span", ["nan", "inf", "-inf", "0"])
def test_landscape_span_must_be_a_positive_finite_number(span, trained, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["landscape", str(trained), "--span", span, "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument --span" in err and "Traceback" not in err


def test_signal_init_must_be_one_of_the_builder_s(tmp_path, capsys):
    from resnet_studio.compiler.builder import INITS

    with pytest.raises(SystemExit) as stop:
        main(["signal", "preset:small_resnet", "--init", "os.system", "-o", str(tmp_path)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "invalid choice: 'os.system'" in err
    assert all(f"'{name}'" in err for name in INITS)


# ----- run files through the project reader's guards --------------------------------------------
@pytest.mark.parametrize("command", ["lesion", "landscape", "explain"])
def test_a_deeply_nested_config_is_one_line(command, nested, tmp_path, capsys):
    extra = [str(bomb_png(tmp_path / "x.png", 8, 8))] if command == "explain" else []
    code = main([command, str(nested), *extra, "-o", str(tmp_path / "out")])
    err = one_line_error(capsys, code)
    assert f"{nested / 'config.json'}: is nested too deeply to be a run file" in err


def test_twin_with_a_deeply_nested_run_is_one_line(nested, tmp_path, capsys):
    project = tmp_path / "tiny.rstudio.json"
    save(tiny_resnet(), project)
    code = main(["experiment", "twin", str(project), "--run", str(nested), "--plan-only",
                 "--out", str(tmp_path / "study")])
    err = one_line_error(capsys, code)
    assert "config.json: is nested too deeply" in err


def test_run_files_are_bounded_in_size_and_depth(tmp_path, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps({"a": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[
        1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}))
    with pytest.raises(rundir.RunReadError, match=r"a\[0\]\[0\].*nested more than 32 levels"):
        rundir.read_data_spec(tmp_path)
    monkeypatch.setattr(rundir, "MAX_JSON_BYTES", 100)
    (tmp_path / "config.json").write_text(json.dumps({"x": "y" * 200}))
    with pytest.raises(rundir.RunReadError, match="too large to be a run file"):
        rundir.read_data_spec(tmp_path)
    assert rundir.read_config(tmp_path) == {}  # the lenient readers just see nothing


def test_hostile_step_lines_are_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(rundir, "MAX_LINE_BYTES", 64)
    lines = ['{"step": 1}', "[" * DEEP + "]" * DEEP, '{"step": 2, "pad": "' + "x" * 300 + '"}',
             '{"step": 3}']
    (tmp_path / "steps.jsonl").write_text("\n".join(lines) + "\n")
    assert [row["step"] for row in rundir.read_steps(tmp_path)] == [1, 3]


def test_a_deeply_nested_study_plan_is_one_line(tmp_path):
    (tmp_path / "study.json").write_text("[" * DEEP + "]" * DEEP)
    with pytest.raises(StudyError, match=r"study\.json: is nested too deeply to be a study plan"):
        Study.load(tmp_path)


def test_a_deeply_nested_queue_state_is_ignored(tmp_path):
    from resnet_studio.study.queue import _run_status

    (tmp_path / "status.json").write_text("[" * DEEP + "]" * DEEP)
    assert _run_status(tmp_path) is None


# ----- images within Pillow's limits ------------------------------------------------------------
@pytest.mark.parametrize("side", [65535, 10_000])  # Pillow's error, and its mere warning
def test_explain_refuses_an_image_claiming_too_many_pixels(side, trained, tmp_path, capsys):
    image = bomb_png(tmp_path / "bomb.png", side, side)
    assert image.stat().st_size < 100  # a few dozen bytes
    code = main(["explain", str(trained), str(image), "-o", str(tmp_path / "out")])
    err = one_line_error(capsys, code)
    assert f"{image}: the image claims" in err and "decompression bomb" in err


@pytest.mark.parametrize("side", [65535, 10_000])
def test_check_an_image_reader_refuses_a_bomb(side, tmp_path):
    image = bomb_png(tmp_path / "bomb.png", side, side)
    with pytest.raises(ImageTooLargeError, match=f"{image.name}: the image claims"):
        decode_image(str(image), (3, 8, 8))


def test_a_folder_dataset_holding_a_bomb_names_it(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / name / f"{i}.png")
    bomb = bomb_png(tmp_path / "b" / "3.png")
    cfg = DataConfig(dataset=f"folder:{tmp_path}", image_size=8, channels=3,
                     val_fraction=0.5).validate()
    with pytest.raises(DataError, match=f"{bomb}: the image claims"):
        load_folder(cfg)


# ----- bounded memory, proven under a hard limit ------------------------------------------------
def test_an_oversized_batch_is_refused_within_a_4_gib_address_space(tmp_path):
    import os
    import resource
    import subprocess
    import sys

    limit = 4 * 2 ** 30  # torch (the CUDA build) alone maps nearly 3 GiB

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "resnet_studio", "signal", "preset:small_resnet",
         "--batch-size", "20000", "--no-twin", "-o", str(tmp_path)],
        capture_output=True, text=True, timeout=120, preexec_fn=cap,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
             "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    err = done.stderr.strip()
    assert done.returncode == 2 and "Traceback" not in err, err
    assert "20,000 images at 3×32×32 needs about" in err and "lower --batch-size" in err, err
    assert not (tmp_path / "signal.csv").exists()


def test_the_address_space_limit_counts_as_memory(monkeypatch):
    monkeypatch.setattr(budget_module, "address_space_left", lambda: 2 ** 20)
    with pytest.raises(BudgetError, match=r"more than the 1.0 MiB this process may still use"):
        check_memory(2 ** 21, "a thing")


def test_a_metrics_file_with_a_giant_field_keeps_the_rows_before_it(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,step,val_acc\n1,10,0.5\n2,20," + "9" * 200_000
                                          + "\n3,30,0.7\n")
    assert [row["step"] for row in rundir.read_metrics(tmp_path)] == [10.0]


def test_signal_and_explain_name_the_pass_the_device_and_the_way_out(monkeypatch):
    """Each refusal says what would not fit, asks the device it would run on, and says what
    to do: a smaller batch for signal, nothing for explain (its batch is fixed)."""
    from resnet_studio.analysis import limits

    asked = []

    def tiny_device(device="cpu"):
        asked.append(device)
        return 1000, "the device has free"

    monkeypatch.setattr(budget_module, "device_memory", tiny_device)
    with pytest.raises(AnalysisError, match=r"^a forward and backward pass of 4 images at "
                                            r"3×8×8 needs about .* lower --batch-size\.$"):
        limits.check_signal(tiny_resnet(), 4, device="cuda:1")
    with pytest.raises(AnalysisError, match=rf"^explaining one image at 3×8×8 "
                                            rf"\({limits.IG_STEPS} attribution steps\) needs "
                                            r"about .*; the network's input is too large\.$"):
        limits.check_explain(tiny_resnet(), device="cuda:2")
    assert asked == ["cuda:1", "cuda:2"]


def test_signal_of_a_network_without_weighted_layers_names_it():
    from resnet_studio.presets.base import Chain

    chain = Chain(InputSpec(channels=3, height=8, width=8, classes=3))
    chain.add("pool", "adaptiveavgpool2d")
    chain.add("flatten", "flatten")
    graph = chain.finish()
    graph.name = "weightless"
    with pytest.raises(AnalysisError, match=r"^the weightless has no convolution or linear "
                                            r"layer to measure\.$"):
        signal_propagation(graph, batch_size=2, twin=False)
