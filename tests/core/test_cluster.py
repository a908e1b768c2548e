"""Studies on a local Ray instance of 2 CPUs (``study.cluster.RayTune``): the same weights as
in-process, records on the driver's thread, a worker killed mid-trial, cancel and resume.

The trials' records come back through a channel of 2 items, so a trial is never more than a
few steps ahead of what the driver has seen: a cancel or a kill made while the driver handles
step 3 reaches a run of 12 steps before it ends, whatever the machine's speed.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading

import pytest
from cluster_support import STEPS, Watch, reference, same_weights, step_rows, sweep

from resnet_studio.cli import main
from resnet_studio.study.queue import StudyQueue
from resnet_studio.train import load_checkpoint

ray = pytest.importorskip("ray")
from resnet_studio.study.cluster import RayTune  # noqa: E402  (after the skip: needs Ray)

ALL = list(range(1, STEPS + 1))


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance of 2 CPUs in a temporary directory of its own, shut down at the end."""
    temp = tempfile.mkdtemp(prefix="rs-ray-")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp,
             logging_level=logging.WARNING)
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """Both runs trained in this process, one after another."""
    return reference(sweep(), tmp_path_factory.mktemp("in-process"))


def test_a_study_on_ray_trains_the_same_weights_as_in_process(local_ray, straight, tmp_path):
    watch = Watch()
    outcome = StudyQueue(sweep(), tmp_path, on_progress=watch, executor=RayTune()).run()
    assert outcome.statuses == {"seed-1": "finished", "seed-2": "finished"}
    for name in ("seed-1", "seed-2"):
        assert same_weights(tmp_path / "runs" / name, straight / "runs" / name), name
        assert step_rows(tmp_path / "runs" / name) == ALL
        assert watch.steps(name) == ALL  # every record streamed back …
        assert watch.events(name) == ["start", "end"]
    assert watch.threads == {threading.get_ident()}  # … and handed over on this thread
    state = json.loads((tmp_path / "state.json").read_text())["runs"]
    assert {k: v["status"] for k, v in state.items()} == outcome.statuses


def test_a_worker_killed_mid_trial_restarts_from_its_checkpoint(local_ray, straight, tmp_path):
    folder = tmp_path / "runs" / "seed-1"
    killed = []

    def kill(report):
        if report.event == "step" and report.step == 3 and not killed:
            pid = json.loads((folder / ".lock").read_text())["pid"]  # the run's writer
            assert pid != os.getpid()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    watch = Watch(kill)
    executor = RayTune(buffer=2, max_failures=1)
    outcome = StudyQueue(sweep((1,)), tmp_path, on_progress=watch, executor=executor).run()
    assert killed and outcome.statuses == {"seed-1": "finished"}
    steps = watch.steps("seed-1")
    back = next(i for i in range(1, len(steps)) if steps[i] <= steps[i - 1])
    resumed_from = steps[back] - 1  # the new attempt's first step follows its checkpoint
    assert resumed_from >= 2 and resumed_from % 2 == 0  # a checkpoint every 2 steps, not 0
    assert steps[back:] == list(range(resumed_from + 1, STEPS + 1))
    assert step_rows(folder) == ALL  # the dead attempt's extra rows were dropped
    assert same_weights(folder, straight / "runs" / "seed-1")
    assert watch.events("seed-1") == ["start", "end"]


def test_a_trial_whose_workers_keep_dying_fails_and_the_study_goes_on(local_ray, tmp_path):
    def kill(report):
        if report.event == "step" and report.name == "seed-1" and report.step == 3:
            os.kill(json.loads((tmp_path / "runs" / "seed-1" / ".lock").read_text())["pid"],
                    signal.SIGKILL)

    watch = Watch(kill)
    executor = RayTune(buffer=2, max_failures=0, slots=1)
    outcome = StudyQueue(sweep(), tmp_path, on_progress=watch, executor=executor).run()
    assert outcome.statuses == {"seed-1": "failed", "seed-2": "finished"}
    error = json.loads((tmp_path / "state.json").read_text())["runs"]["seed-1"]["error"]
    assert error.startswith("on the cluster: ") and "died" in error.lower()
    kept = load_checkpoint(tmp_path / "runs" / "seed-1" / "last.pt")["step"]
    assert kept in (2, 4, 6)  # what it had when it died, for a later --retry-failed


def test_cancel_stops_the_trials_and_a_new_queue_resumes_each(local_ray, straight, tmp_path):
    study = sweep()
    queue = StudyQueue(study, tmp_path, executor=RayTune(buffer=2))

    def cancel(report):
        if report.event == "step" and report.name == "seed-1" and report.step == 3:
            queue.cancel()

    queue.on_progress = Watch(cancel)
    outcome = queue.run()
    assert outcome.cancelled and outcome.statuses["seed-1"] == "stopped"
    # seed-2 may not have started yet (then it never starts), or it stopped too
    assert outcome.statuses["seed-2"] in ("stopped", "pending")
    stopped_at = load_checkpoint(tmp_path / "runs" / "seed-1" / "last.pt")["step"]
    assert 3 <= stopped_at < STEPS

    watch = Watch()
    later = StudyQueue(study, tmp_path, on_progress=watch, executor=RayTune()).run()
    assert later.statuses == {"seed-1": "finished", "seed-2": "finished"}
    assert watch.steps("seed-1") == list(range(stopped_at + 1, STEPS + 1))
    assert [r.message for r in watch.reports if r.event == "start" and r.name == "seed-1"] == [
        "resuming"]
    for name in ("seed-1", "seed-2"):
        assert step_rows(tmp_path / "runs" / name) == ALL
        assert same_weights(tmp_path / "runs" / name, straight / "runs" / name), name


def test_without_ray_the_cluster_option_names_the_extra(monkeypatch, tmp_path, capsys):
    project_file = tmp_path / "p.rstudio.json"
    from test_study_support import staged_graph

    from resnet_studio.graph import project
    project.save(staged_graph(), project_file)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if not installed
    monkeypatch.delitem(sys.modules, "resnet_studio.study.cluster")
    code = main(["experiment", "sweep", str(project_file), "--vary", "seed=1,2", "--out",
                 str(tmp_path / "s"), "--no-estimate", "--cluster", "auto"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "resnet-studio: error: --cluster needs Ray: pip install 'resnet-studio[cluster]'")


def test_the_help_and_a_study_without_cluster_load_no_ray():
    import subprocess

    code = ("import sys\nfrom resnet_studio.cli import main\ntry:\n"
            "    main(['experiment', 'sweep', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('ray loaded:', 'ray' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--cluster ADDR" in result.stdout and "--max-failures N" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "ray loaded: False"
