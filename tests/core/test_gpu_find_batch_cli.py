"""``resnet-studio find-batch``: the tries and the answer, and one-line refusals."""

from __future__ import annotations

import pytest
from heads_graphs import segmenter
from test_train_support import tiny_project

from resnet_studio.blocks import CATALOGUE
from resnet_studio.cli import main
from resnet_studio.graph import project
from resnet_studio.train import largest_batch as lb


def test_find_batch_prints_the_tries_and_the_answer_on_the_cpu(tmp_path, capsys):
    assert main(["find-batch", str(tiny_project(tmp_path)), "--device", "cpu", "--start",
                 "2", "--limit", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["batch 2: fits", "batch 4: fits", "batch 8: fits",
                     "largest batch size that fits for 3×8×8 images on cpu: at least 8 (the "
                     "limit; --limit N tries more); 3 tries"]


def test_find_batch_reports_the_exact_size_where_memory_runs_out(tmp_path, capsys, monkeypatch):
    real = lb.training_step

    def step_failing_above_5(*args, **kwargs):
        inner = real(*args, **kwargs)

        def step(batch):
            if batch > 5:
                raise RuntimeError("DefaultCPUAllocator: can't allocate memory")
            inner(batch)

        return step

    monkeypatch.setattr(lb, "training_step", step_failing_above_5)
    assert main(["find-batch", str(tiny_project(tmp_path)), "--device", "cpu", "--start",
                 "2", "--limit", "64"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:5] == ["batch 2: fits", "batch 4: fits", "batch 8: out of memory",
                       "batch 6: out of memory", "batch 5: fits"]
    assert out[-1] == "largest batch size that fits for 3×8×8 images on cpu: 5; 5 tries"


def test_a_size_the_host_cannot_hold_is_not_tried(tmp_path, capsys, monkeypatch):
    from resnet_studio.train.command import project_config
    from resnet_studio.train.limits import training_bytes

    monkeypatch.setattr("resnet_studio.budget.device_memory",
                        lambda device="cpu": (50_000_000, "this machine has available"))
    path = tiny_project(tmp_path)
    assert main(["find-batch", str(path), "--device", "cpu", "--start", "64", "--limit",
                 "100000"]) == 0
    out = capsys.readouterr().out.splitlines()
    graph = project.load(path, CATALOGUE)
    config = project_config(str(path), graph)[0].replace(device="cpu")
    held = int(out[-1].split(": ")[1].split(";")[0].replace(",", ""))
    assert 256 < held < 10_000  # the estimate's limit, far below --limit
    bytes_at = [training_bytes(graph, config.replace(batch_size=b)) for b in (held, held + 1)]
    assert bytes_at[0] <= 50_000_000 < bytes_at[1]
    assert f"batch {held + 1:,}: out of memory" in out and f"batch {held:,}: fits" in out


@pytest.mark.parametrize("argv, words", [
    (["find-batch", "missing.rstudio.json"], "missing.rstudio.json"),
    (["find-batch", "preset:nope"], "nope"),
])
def test_a_bad_project_is_one_line(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("resnet-studio: error:") and words in err


def test_a_dense_network_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "seg.rstudio.json"
    project.save(segmenter(), path)
    assert main(["find-batch", str(path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "classifiers only" in err and "segmentation" in err


def test_a_bad_limit_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["find-batch", "preset:resnet20", "--limit", "0"])
    assert exited.value.code == 2 and "--limit" in capsys.readouterr().err
