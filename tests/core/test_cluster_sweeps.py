"""Smarter sweeps on a local Ray instance of 2 CPUs (``study.search``): ASHA stops a run
after an epoch and the run ends "stopped early" with its files whole, in the state, the
table and the figures, and is not trained again on resume; a TPE search of 2 samples trains
2 of the 4 planned runs, each once, and marks the others "not searched"."""

from __future__ import annotations

import json
from types import SimpleNamespace

import cluster_support
import pytest
from cluster_support import step_rows, sweep
from test_study_support import budget, staged_graph

from resnet_studio.study.figures import draw_curves
from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.queue import StudyQueue
from resnet_studio.study.report import terminal_text
from resnet_studio.study.results import collect

ray = pytest.importorskip("ray")
pytest.importorskip("optuna")
from ray.tune.schedulers import ASHAScheduler, TrialScheduler  # noqa: E402

from resnet_studio.study import search  # noqa: E402  (after the skips: needs Ray, Optuna)
from resnet_studio.study.cluster import RayTune  # noqa: E402

local_ray = cluster_support.local_ray  # a Ray instance of 2 CPUs for this module
EPOCH_STEPS = 6  # 48 images in batches of 8 (cluster_support.sweep): 2 epochs of 6 steps


def _trial(index: int) -> SimpleNamespace:
    return SimpleNamespace(trial_id=f"t{index}", config={"index": index})


def test_asha_stops_the_worse_run_at_a_rung_through_the_channel_not_tune():
    told = []
    asha = search.GentleASHA(told.append, max_t=4)
    first, second, third = _trial(0), _trial(1), _trial(2)
    for trial in (first, second, third):
        asha.on_trial_add(None, trial)
    result = {search.EPOCH: 1, search.METRIC: 0.8}
    assert asha.on_trial_result(None, first, result) == TrialScheduler.CONTINUE
    worse = {search.EPOCH: 1, search.METRIC: 0.3}
    assert asha.on_trial_result(None, second, worse) == TrialScheduler.CONTINUE  # not Tune's
    assert told == [1]
    better = {search.EPOCH: 1, search.METRIC: 0.9}
    assert asha.on_trial_result(None, third, better) == TrialScheduler.CONTINUE
    assert told == [1]
    last = {search.EPOCH: 4, search.METRIC: 0.1}  # at the last epoch the run ends anyway
    assert asha.on_trial_result(None, first, last) == TrialScheduler.CONTINUE
    assert told == [1]


def test_tpe_picks_each_planned_run_once_then_finishes():
    # two seeds of lr 0.1 (runs 0 and 2): the second pick of 0.1 takes run 2
    runs = {0: {"lr": 0.1}, 1: {"lr": 0.01}, 2: {"lr": 0.1}, 3: {"lr": 0.05}}
    tpe = search.AmongPlanned(runs, seed=3)
    tpe.set_search_properties(None, None, search.search_space(runs))
    picked = []
    for n in range(4):
        config = tpe.suggest(f"t{n}")
        assert config["lr"] == runs[config["index"]]["lr"]
        picked.append(config["index"])
        tpe.on_trial_complete(f"t{n}", {search.METRIC: 0.5 + n / 10, **config})
    assert sorted(picked) == [0, 1, 2, 3]
    assert picked.index(0) < picked.index(2)  # plan order among one value's runs
    assert tpe.suggest("t9") == search.Searcher.FINISHED


def _stop_the_second_at_epoch_one(monkeypatch):
    """ASHA's own decision, made certain: run 1 is below the rung's cutoff at epoch 1 (its
    real score depends on what a tiny network learns)."""
    def decide(self, controller, trial, result):
        stop = trial.config["index"] == 1 and result[search.EPOCH] == 1
        return TrialScheduler.STOP if stop else TrialScheduler.CONTINUE
    monkeypatch.setattr(ASHAScheduler, "on_trial_result", decide)


def test_a_run_asha_stops_ends_stopped_early_everywhere(local_ray, monkeypatch, tmp_path):
    _stop_the_second_at_epoch_one(monkeypatch)
    study = sweep()
    executor = RayTune(slots=1, buffer=2, early_stop="asha")
    outcome = StudyQueue(study, tmp_path, executor=executor).run()
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "stopped early"}
    early = tmp_path / "runs" / "seed-2"
    rows = step_rows(early)
    assert rows == list(range(1, len(rows) + 1))
    assert EPOCH_STEPS <= len(rows) < 2 * EPOCH_STEPS and (early / "last.pt").exists()
    state = json.loads((tmp_path / "state.json").read_text())["runs"]
    assert state["seed-2"]["status"] == "stopped early"
    results = collect(study, tmp_path)
    assert [row["status"] for row in results.rows] == ["finished", "stopped early"]
    lines = terminal_text(results).splitlines()
    assert "1 stopped early" in next(line for line in lines if "seed=2" in line)
    assert "stopped" not in next(line for line in lines if "seed=1" in line)
    legend = draw_curves(results).legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["seed=1",
                                                          "seed=2 (stopped early)"]
    again = StudyQueue(study, tmp_path).run()  # resumed: nothing left to train
    assert again.statuses == outcome.statuses and step_rows(early) == rows


def test_a_tpe_search_trains_its_samples_and_marks_the_rest(local_ray, tmp_path):
    study = plan_sweep(staged_graph(), budget(epochs=1), {"lr": [0.01, 0.02, 0.05, 0.1]})
    executor = RayTune(slots=1, search="tpe", samples=2, seed=5)
    outcome = StudyQueue(study, tmp_path, executor=executor).run()
    statuses = sorted(outcome.statuses.values())
    assert statuses == ["finished", "finished", "not searched", "not searched"]
    for spec in study.runs:
        trained = (tmp_path / "runs" / spec.name / "last.pt").exists()
        assert trained == (outcome.statuses[spec.name] == "finished"), spec.name
    rows = collect(study, tmp_path).rows
    assert sorted(row["status"] for row in rows) == statuses


def _sweep_args(*flags: str, kind: str = "sweep") -> list[str]:
    vary = ["--vary", "lr=0.01,0.02,0.05"] if kind == "sweep" else ["--depths", "6,10"]
    return ["experiment", kind, "p.json", *vary, *flags]


@pytest.mark.parametrize("flags, samples", [
    (["--search", "tpe"], 2), (["--search", "tpe", "--samples", "1"], 1),
    (["--early-stop", "asha"], 0)])
def test_the_sweep_flags_reach_the_cluster_executor_and_the_plan(flags, samples, tmp_path):
    from resnet_studio.cli import build_parser
    from resnet_studio.study.cluster_options import cluster_executor, plan_notes

    study = plan_sweep(staged_graph(), budget(), {"lr": [0.01, 0.02, 0.05]})
    args = build_parser().parse_args(_sweep_args("--cluster", "auto", *flags))
    executor = cluster_executor(args, tmp_path, study)
    search_, early = ("tpe" if "tpe" in flags else None), ("asha" if "asha" in flags else None)
    assert (executor.search, executor.early_stop, executor.samples) == (search_, early,
                                                                         samples)
    notes = " ".join(plan_notes(executor, study))
    assert ("upper bound" in notes) == (early is not None)
    assert (f"{samples} of the 3 planned runs train" in notes) == (search_ is not None)


@pytest.mark.parametrize("flags, message", [
    (["--search", "tpe"], "--search and --early-stop run on a Ray cluster: add --cluster "
                          "local (this machine) or the cluster's address."),
    (["--cluster", "auto", "--samples", "2"], "--samples needs --search and is 1 or more."),
    (["--cluster", "auto", "--search", "tpe", "--samples", "0"],
     "--samples needs --search and is 1 or more."),
    (["--cluster", "auto", "--early-stop", "asha", "degradation"],
     "--search and --early-stop work on a sweep's runs, not a degradation study's.")])
def test_sweep_flags_that_cannot_work_are_refused_in_one_line(flags, message, tmp_path,
                                                              capsys):
    from resnet_studio.cli import main
    from resnet_studio.graph import project

    project.save(staged_graph(), tmp_path / "p.rstudio.json")
    kind = "degradation" if "degradation" in flags else "sweep"
    flags = [flag for flag in flags if flag != "degradation"]
    argv = _sweep_args("--out", str(tmp_path / "s"), "--no-estimate", *flags, kind=kind)
    argv[2] = str(tmp_path / "p.rstudio.json")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"resnet-studio: error: {message}"]
    assert not (tmp_path / "s" / "runs").exists()


def test_the_estimate_of_a_cluster_study_is_timed_with_one_trials_cpus(tmp_path):
    """(The timing once asked a cluster executor for a local trial's thread share.)"""
    import torch

    from resnet_studio.cli import build_parser
    from resnet_studio.study import console
    from resnet_studio.study.cluster_options import cluster_executor

    args = build_parser().parse_args(_sweep_args("--cluster", "auto", "--cpus-per-trial", "3"))
    before = torch.get_num_threads()
    with console.timing_threads(cluster_executor(args, tmp_path)):
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before
