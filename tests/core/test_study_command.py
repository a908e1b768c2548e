"""``resnet-studio experiment``: planning, running, resuming and refusing bad input."""

from __future__ import annotations

import json
import re

import pytest
from test_study_support import staged_graph

from resnet_studio.cli import main
from resnet_studio.graph import project

DATA = ["--dataset", "synthetic", "--train-size", "24", "--val-size", "8", "--image-size", "8",
        "--classes", "4", "--channels", "3", "--batch-size", "8", "--device", "cpu",
        "--epochs", "1", "--telemetry-every", "1"]


@pytest.fixture
def project_file(tmp_path):
    path = tmp_path / "tiny.rstudio.json"
    project.save(staged_graph(), path)
    return path


def test_plan_only_writes_the_plan_and_trains_nothing(project_file, capsys):
    out = project_file.parent / "study"
    code = main(["experiment", "degradation", str(project_file), "--depths", "6,10",
                 "--plan-only", "--out", str(out), *DATA])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "4 runs" in captured.out and "[4/4] plain-10" in captured.out
    assert "estimated total:" in captured.out
    plan = json.loads((out / "study.json").read_text())
    assert [r["name"] for r in plan["runs"]] == ["residual-6", "plain-6", "residual-10",
                                                  "plain-10"]
    assert plan["runs"][0]["config"]["epochs"] == 1 and not (out / "runs").exists()


def test_the_default_directory_is_beside_the_project(project_file, capsys):
    assert main(["experiment", "twin", str(project_file), "--plan-only", "--no-estimate",
                 *DATA]) == 0
    assert (project_file.parent / "studies" / "tiny-twin" / "study.json").is_file()


def test_a_study_runs_writes_results_and_a_second_call_resumes(project_file, capsys):
    out = project_file.parent / "study"
    args = ["experiment", "twin", str(project_file), "--out", str(out), "--no-estimate", *DATA]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "[1/2] tiny (residual): training" in captured.err
    # the plan, printed before training, says what the runs train with: the recipe for a
    # network without saved settings, and the options over it
    assert "every run: AdamW, lr 0.001" in captured.out and "24 train / 8 val" in captured.out
    assert "[2/2] tiny plain twin (no skips): finished" in captured.err
    # the study's progress on the run lines: none done at the start, all at the end
    assert "[1/2] tiny (residual): training; study 0% done" in captured.err
    assert re.search(r"\[2/2\] tiny plain twin \(no skips\): finished — [^\n]*; "
                     r"study 100% done", captured.err)
    for name in ("results.csv", "curves.png", "curves.svg"):
        assert (out / name).is_file()
    assert (out / "runs" / "plain" / "last.pt").is_file()
    assert "finished" in captured.out  # the table
    assert main(args) == 0
    again = capsys.readouterr()
    assert "holds this study already" in again.out
    assert again.err.count("finished, skipped") == 2


def test_a_failed_run_exits_1_after_the_others_ran(project_file, capsys):
    out = project_file.parent / "study"
    code = main(["experiment", "sweep", str(project_file), "--vary", "batch_size=8,64",
                 "--out", str(out), "--no-estimate", *DATA])
    captured = capsys.readouterr()
    assert code == 1
    assert "[1/2] batch_size=8: finished" in captured.err
    assert "run ‘batch_size-64’ failed" in captured.err
    assert "larger than the 24 training images" in captured.err
    state = json.loads((out / "state.json").read_text())["runs"]
    assert state["batch_size-8"]["status"] == "finished"


def test_a_different_study_in_the_directory_needs_force(project_file, capsys):
    out = project_file.parent / "study"
    base = ["experiment", "degradation", str(project_file), "--out", str(out), "--plan-only",
            "--no-estimate", *DATA]
    assert main([*base, "--depths", "6"]) == 0
    assert main([*base, "--depths", "10"]) == 2
    assert "holds a different degradation study" in capsys.readouterr().err
    (out / "runs" / "residual-6").mkdir(parents=True)
    (out / "runs" / "residual-6" / "metrics.jsonl").write_text("{}\n")
    (out / "state.json").write_text("{}")
    assert main([*base, "--depths", "10", "--force"]) == 0
    # the old study's runs and state go: the new one neither resumes nor reports them
    assert not (out / "runs").exists() and not (out / "state.json").exists()
    assert json.loads((out / "study.json").read_text())["settings"]["depths"] == [10]


@pytest.mark.parametrize("args, message", [
    (["degradation", "{p}", "--depths", "6,x"], "--depths ‘6,x’ is not a comma-separated"),
    (["degradation", "{p}", "--depths", "7"], "depth 7 cannot be reached"),
    (["variants", "{p}", "--blocks", "nope"], "‘nope’ is not a residual block type"),
    (["sweep", "{p}", "--vary", "lr"], "--vary ‘lr’: write NAME=V1,V2"),
    (["sweep", "{p}", "--vary", "momentum=0.5"], "‘momentum’ cannot be swept"),
    (["sweep", "{p}", "--vary", "seed=1,2", "--seeds", "2"], "varies the seed itself"),
    (["twin", "preset:resnet2O"], "There is no preset ‘resnet2O’"),
    (["twin", "{p}", "--run", "{d}/none"], "graph.json is missing"),
    (["twin", "{d}/missing.json"], "missing.json"),
    (["resume", "{d}"], "holds no study"),
    (["twin", "{p}", "--parallel", "0"], "--parallel must be at least 1 (got 0)."),
    (["twin", "{p}", "--parallel", "two"], "--parallel ‘two’ is not a whole number."),
    (["twin", "{p}", "--gpus-per-trial", "nan"], "--gpus-per-trial ‘nan’ is not a finite"),
    (["twin", "{p}", "--parallel", "2", "--gpus-per-trial", "1.5"],
     "--gpus-per-trial must be a fraction in (0, 1] or a whole number (got 1.5)."),
    (["twin", "{p}", "--parallel", "64", "--gpus-per-trial", "1"],
     "--gpus-per-trial 1 with --parallel 64 needs 64 GPUs; this machine has"),
    (["report", "{d}"], "holds no study"),
])
def test_bad_input_is_one_line_and_exit_2(project_file, capsys, args, message):
    filled = [a.format(p=project_file, d=project_file.parent) for a in args]
    extra = [] if filled[0] in ("resume", "report") else ["--plan-only", "--no-estimate", *DATA]
    code = main(["experiment", *filled, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_preset_is_made_for_the_dataset(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", "degradation", "preset:resnet20", "--depths", "8",
                 "--plan-only", "--no-estimate", *DATA]) == 0
    plan = json.loads((tmp_path / "studies" / "resnet20-degradation" / "study.json").read_text())
    assert plan["runs"][0]["graph"]["input"] == {"channels": 3, "height": 8, "width": 8,
                                                 "classes": 4}


def test_on_the_synthetic_set_a_project_keeps_its_input(project_file, capsys):
    out = project_file.parent / "study"
    assert main(["experiment", "twin", str(project_file), "--plan-only", "--no-estimate",
                 "--out", str(out), "--epochs", "1"]) == 0
    data = json.loads((out / "study.json").read_text())["runs"][0]["config"]["data"]
    assert (data["channels"], data["image_size"], data["classes"]) == (3, 8, 4)


def test_on_the_synthetic_set_an_option_wins_over_the_project_input(project_file, capsys):
    out = project_file.parent / "study"
    assert main(["experiment", "twin", str(project_file), "--plan-only", "--no-estimate",
                 "--out", str(out), "--epochs", "1", "--image-size", "16"]) == 0
    data = json.loads((out / "study.json").read_text())["runs"][0]["config"]["data"]
    assert (data["channels"], data["image_size"], data["classes"]) == (3, 16, 4)


def test_the_plans_estimate_is_the_eta_before_any_step_is_timed(project_file, capsys,
                                                                 monkeypatch):
    from resnet_studio.study import estimate as estimate_module

    hour = estimate_module.Estimate({"residual": 3600.0, "plain": 3600.0}, 0.1, "residual")
    monkeypatch.setattr(estimate_module, "estimate", lambda study: hour)
    out = project_file.parent / "study"
    assert main(["experiment", "twin", str(project_file), "--out", str(out), *DATA]) == 0
    err = capsys.readouterr().err
    # nothing timed yet: the two runs' planned hour each is the time left
    assert "[1/2] tiny (residual): training; study 0% done, ETA 2:00:00" in err


@pytest.mark.parametrize("kind", [["degradation", "--depths", "6"],
                                  ["variants", "--blocks", "preactblock"],
                                  ["sweep", "--vary", "lr=0.1,0.01"], ["twin"]])
def test_every_kind_of_study_records_the_project_it_came_from(project_file, capsys, kind):
    out = project_file.parent / "study"
    assert main(["experiment", kind[0], str(project_file), *kind[1:], "--plan-only",
                 "--no-estimate", "--out", str(out), *DATA]) == 0, capsys.readouterr().err
    assert json.loads((out / "study.json").read_text())["project"] == str(project_file)


def test_every_kind_of_study_says_what_it_does_and_each_option_its_default():
    import argparse

    from resnet_studio.cli import build_parser

    def subcommands(parser):
        return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))

    kinds = subcommands(subcommands(build_parser()).choices["experiment"])
    listed = {choice.dest: choice.help for choice in kinds._choices_actions}
    assert set(listed) == {"degradation", "variants", "sweep", "twin", "resume", "report"}
    for name, parser in kinds.choices.items():
        assert parser.description == listed[name]  # `experiment NAME --help` opens with it
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.dest)
            if isinstance(action.default, (int, float)) and action.option_strings \
                    and not isinstance(action.default, bool):
                assert f"default {action.default:g}" in action.help, (name, action.dest)


def test_with_parallel_each_run_prints_whole_lines_of_its_own(project_file, capsys):
    out = project_file.parent / "study"
    code = main(["experiment", "twin", str(project_file), "--out", str(out), "--no-estimate",
                 "--parallel", "2", *DATA])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = [line for line in captured.err.splitlines() if line.startswith("[")]
    for tag in ("[1/2] tiny (residual)", "[2/2] tiny plain twin (no skips)"):
        mine = [line[len(tag) + 2:] for line in lines if line.startswith(tag + ": ")]
        assert mine[0].startswith("training; study ")
        assert [m.split(" (")[0] for m in mine if m.startswith("step")] == [
            "step 1/3", "step 2/3", "step 3/3"]
        assert re.fullmatch(r"step 3/3 \(100%, ETA [^)]*\); study \d+%(, ETA .*)?", mine[3])
        assert mine[4].startswith("epoch 1: train loss")
        assert re.fullmatch(r"finished — .*; study \d+%(, ETA .*)?", mine[5])
        assert len(mine) == 6
    # No redrawn progress line (it would mix the runs): every line is whole.
    assert "\r" not in captured.err and len(lines) == 12
    assert (out / "runs" / "plain" / "last.pt").is_file()


def test_the_plan_says_how_long_the_study_takes_with_runs_at_once(project_file, capsys,
                                                                   monkeypatch):
    import torch

    from resnet_studio.study import estimate as estimate_module

    timed_with = []

    def fake_estimate(study):
        timed_with.append(torch.get_num_threads())
        return estimate_module.Estimate({"residual": 100.0, "plain": 60.0}, 0.01, "residual")

    monkeypatch.setattr(estimate_module, "estimate", fake_estimate)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    before = torch.get_num_threads()
    code = main(["experiment", "twin", str(project_file), "--plan-only", "--parallel", "2",
                 "--out", str(project_file.parent / "s"), *DATA])
    out = capsys.readouterr().out
    assert code == 0
    assert "estimated total: 2:40 (10 ms per step of residual; 2 at once: about 1:40)" in out
    assert timed_with == [4] and torch.get_num_threads() == before  # one trial's threads
