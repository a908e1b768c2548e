"""Trials in child processes (``study.parallel``): the same weights as one after another,
a killed child's trial finished from its checkpoint, cancel and resume, the settings."""

from __future__ import annotations

import functools
import json
import os

import pytest
import torch
from parallel_faults import always_die, hold_at, kill_at
from test_study_support import budget, staged_graph

from resnet_studio.study.kinds import plan_sweep
from resnet_studio.study.parallel import Parallel, ParallelError, check_settings, shares
from resnet_studio.study.plan import Study
from resnet_studio.study.queue import StudyQueue
from resnet_studio.train import load_checkpoint


def _sweep(seeds=(1, 2, 3, 4), **changes) -> Study:
    return plan_sweep(staged_graph(), budget(checkpoint_every=2, **changes),
                      {"seed": list(seeds)})


def _weights(folder) -> dict[str, torch.Tensor]:
    return load_checkpoint(folder / "last.pt")["model"]


def _steps(folder) -> list[int]:
    lines = (folder / "steps.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines]


def _parallel(**kwargs) -> Parallel:
    return Parallel(2, threads_per_trial=1, **kwargs)


def test_two_at_once_give_the_same_weights_as_one_after_another(tmp_path):
    study = _sweep()
    alone = StudyQueue(study, tmp_path / "alone").run()
    events = []
    executor = _parallel()
    beside = StudyQueue(study, tmp_path / "beside", on_progress=events.append,
                        executor=executor).run()
    assert alone.statuses == beside.statuses == {f"seed-{s}": "finished" for s in (1, 2, 3, 4)}
    order = [(e.event, e.name) for e in events if e.event in ("start", "end")]
    assert order.index(("start", "seed-2")) < order.index(("end", "seed-1"))  # at once
    for spec in study.runs:
        a = _weights(tmp_path / "alone" / "runs" / spec.name)
        b = _weights(tmp_path / "beside" / "runs" / spec.name)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), spec.name
    # Different seeds did train different weights (the comparison can fail).
    one, two = (_weights(tmp_path / "beside" / "runs" / n) for n in ("seed-1", "seed-2"))
    assert not torch.equal(one["fc.weight"], two["fc.weight"])
    assert [c["threads"] for c in executor.children] == [1, 1]
    assert not any(c["torch_early"] for c in executor.children)


def test_a_child_killed_mid_trial_is_replaced_and_its_trial_goes_on_from_last_pt(tmp_path):
    study = _sweep()
    marker = tmp_path / "killed"
    executor = _parallel(train=functools.partial(kill_at, name="seed-2", step=5,
                                                 marker=str(marker)))
    events = []
    outcome = StudyQueue(study, tmp_path / "s", on_progress=events.append,
                         executor=executor).run()
    assert marker.exists()
    assert outcome.statuses == {f"seed-{s}": "finished" for s in (1, 2, 3, 4)}
    assert executor.deaths == {1: [-9]}
    for spec in study.runs:
        assert _steps(tmp_path / "s" / "runs" / spec.name) == [1, 2, 3, 4, 5, 6], spec.name
    # It went on from last.pt (step 4), not from the start: steps 5 and 6 came twice.
    seen = [e.step for e in events if e.event == "step" and e.name == "seed-2"]
    assert seen == [1, 2, 3, 4, 5, 5, 6]
    first, replacement = [c["pid"] for c in executor.children[:2]], executor.children[2]["pid"]
    assert int(marker.read_text()) in first and replacement not in first


def test_a_trial_whose_child_keeps_dying_fails_saying_so_and_the_others_finish(tmp_path):
    study = _sweep((1, 2, 3))
    executor = _parallel(restarts=1, train=functools.partial(always_die, name="seed-1", step=3))
    events = []
    outcome = StudyQueue(study, tmp_path, on_progress=events.append, executor=executor).run()
    assert outcome.statuses == {"seed-1": "failed", "seed-2": "finished", "seed-3": "finished"}
    end = next(e for e in events if e.event == "end" and e.name == "seed-1")
    assert "died 2 times (killed by SIGKILL, killed by SIGKILL)" in end.message
    assert "after 1 restart from its last checkpoint" in end.message


def test_cancel_stops_every_child_and_a_parallel_resume_finishes_every_run(tmp_path):
    study = _sweep()
    executor = _parallel(train=functools.partial(hold_at, name="seed-2", step=3))
    queue = StudyQueue(study, tmp_path, executor=executor)

    def cancel_at_step_3(p):
        if p.event == "step" and p.name == "seed-2" and p.step == 3:
            queue.cancel()
    queue.on_progress = cancel_at_step_3
    outcome = queue.run()
    assert outcome.cancelled
    assert outcome.statuses["seed-2"] == "stopped"
    assert set(outcome.statuses.values()) <= {"finished", "stopped", "pending"}
    assert load_checkpoint(tmp_path / "runs" / "seed-2" / "last.pt")["step"] == 3
    for child in executor.children:  # every child is gone (and reaped)
        with pytest.raises(ProcessLookupError):
            os.kill(child["pid"], 0)

    events = []
    later = StudyQueue(study, tmp_path, on_progress=events.append, executor=_parallel()).run()
    assert later.statuses == {f"seed-{s}": "finished" for s in (1, 2, 3, 4)}
    assert ("start", "seed-2", "resuming") in [(e.event, e.name, e.message) for e in events]
    assert [e.step for e in events if e.event == "step" and e.name == "seed-2"] == [4, 5, 6]
    for spec in study.runs:
        assert _steps(tmp_path / "runs" / spec.name) == [1, 2, 3, 4, 5, 6], spec.name


def test_a_run_streaming_an_image_folder_decodes_in_processes_of_its_own(tmp_path):
    from test_analysis_support import image_folder, tiny_net

    from resnet_studio.data import DataConfig

    images = image_folder(tmp_path / "images", 3, 8, (6, 6, 6))
    data = DataConfig(dataset=f"folder:{images}", image_size=8, val_fraction=0.34,
                      in_memory=False, workers=1)
    study = plan_sweep(tiny_net(3, 8), budget(epochs=1, batch_size=4, data=data),
                       {"seed": [1]})
    events = []
    outcome = StudyQueue(study, tmp_path / "s", on_progress=events.append,
                         executor=Parallel(1, threads_per_trial=1)).run()
    end = next(e for e in events if e.event == "end")
    assert outcome.statuses == {"seed-1": "finished"}, end.message
    assert _steps(tmp_path / "s" / "runs" / "seed-1") == [1, 2, 3]


@pytest.mark.parametrize(("slots", "fraction", "gpus", "wanted"), [
    (0, None, 0, "--parallel must be at least 1 (got 0)."),
    (2, 0.0, 1, "--gpus-per-trial must be a fraction in (0, 1] or a whole number (got 0)."),
    (2, 1.5, 4, "--gpus-per-trial must be a fraction in (0, 1] or a whole number (got 1.5)."),
    (4, 0.5, 1, "--gpus-per-trial 0.5 with --parallel 4 needs 2 GPUs; this machine has 1."),
    (2, 2, 3, "--gpus-per-trial 2 with --parallel 2 needs 4 GPUs; this machine has 3."),
])
def test_settings_that_cannot_run_are_refused_naming_the_flag(slots, fraction, gpus, wanted):
    with pytest.raises(ParallelError) as caught:
        check_settings(slots, fraction, gpus)
    assert str(caught.value) == wanted


def test_devices_and_threads_are_shared_out_by_slot():
    assert [s.cuda for s in shares(8, 0.25)] == ["0"] * 4 + ["1"] * 4
    assert [s.cuda for s in shares(3, 0.3)] == ["0", "0", "0"]
    assert [s.cuda for s in shares(2, 2)] == ["0,1", "2,3"]
    assert [s.cuda for s in shares(2, 1)] == ["0", "1"]
    assert [s.cuda for s in shares(2)] == [None, None]
    assert [s.threads for s in shares(3, cpus=8)] == [2, 2, 2]
    assert [s.threads for s in shares(4, cpus=2)] == [1] * 4
    assert [s.threads for s in shares(2, threads_per_trial=3, cpus=2)] == [3, 3]
    check_settings(4, 0.25, gpus=1)  # four trials on one GPU fit
