"""Studies on a local Ray instance of 2 CPUs (``study.cluster.RayTune``): the same weights as
in-process, records on the driver's thread, a worker killed mid-trial, cancel and resume.

The trials' records come back through a channel of 2 items, so a trial is never more than a
few steps ahead of what the driver has seen: a cancel or a kill made while the driver handles
step 3 reaches a run of 12 steps before it ends, whatever the machine's speed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

import cluster_support
import pytest
from cluster_support import (
    STEPS,
    Watch,
    free_port,
    reference,
    same_weights,
    step_rows,
    sweep,
)

from resnet_studio.cli import main
from resnet_studio.study.queue import StudyQueue
from resnet_studio.train import load_checkpoint

ray = pytest.importorskip("ray")
from resnet_studio.study.cluster import RayTune  # noqa: E402  (after the skip: needs Ray)

ALL = list(range(1, STEPS + 1))
local_ray = cluster_support.local_ray  # a Ray instance of 2 CPUs for this module


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


def test_killed_workers_restart_from_the_checkpoint_or_fail_the_trial(local_ray, straight,
                                                                        tmp_path):
    """seed-1's worker is killed at its first step on every attempt, twice: its trial fails
    and the study goes on. seed-2's is killed once, at step 3: its trial starts again from
    its last checkpoint and ends with the weights it would have had."""
    killed = []

    def kill(report):
        if report.event != "step":
            return
        pid = json.loads((tmp_path / "runs" / report.name / ".lock").read_text())["pid"]
        if pid not in killed and (report.name == "seed-1" or
                                  (report.step == 3 and report.name == "seed-2" and
                                   not any(name == "seed-2" for name, _ in kills))):
            assert pid != os.getpid()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            kills.append((report.name, report.step))

    kills = []
    watch = Watch(kill)
    executor = RayTune(buffer=2, max_failures=1)
    outcome = StudyQueue(sweep(), tmp_path, on_progress=watch, executor=executor).run()
    assert sorted(name for name, _ in kills) == ["seed-1", "seed-1", "seed-2"]
    assert outcome.statuses == {"seed-1": "failed", "seed-2": "finished"}
    error = json.loads((tmp_path / "state.json").read_text())["runs"]["seed-1"]["error"]
    assert error.startswith("on the cluster: ") and "died" in error.lower()
    assert watch.events("seed-1") == ["start", "end"]

    folder = tmp_path / "runs" / "seed-2"
    steps = watch.steps("seed-2")
    back = next((i for i in range(1, len(steps)) if steps[i] <= steps[i - 1]), None)
    if back is None:  # its checkpoint came after the last step the driver had taken in (a
        assert steps == ALL  # loaded machine): the new attempt went on right after it
    else:
        resumed_from = steps[back] - 1  # the new attempt's first step follows its checkpoint
        assert resumed_from >= 2 and resumed_from % 2 == 0  # a checkpoint every 2 steps
        assert steps[back:] == list(range(resumed_from + 1, STEPS + 1))
    assert step_rows(folder) == ALL  # the dead attempt's extra rows were dropped
    assert same_weights(folder, straight / "runs" / "seed-2")
    assert watch.events("seed-2") == ["start", "end"]


def test_cancel_stops_the_trials_and_a_new_queue_resumes_each(local_ray, straight, tmp_path):
    """The cancel comes at the first step 3 of either run: neither can be near its end."""
    study = sweep()
    queue = StudyQueue(study, tmp_path, executor=RayTune(buffer=2))
    first = []

    def cancel(report):
        if report.event == "step" and report.step == 3 and not first:
            first.append(report.name)
            queue.cancel()

    queue.on_progress = Watch(cancel)
    outcome = queue.run()
    ahead, other = first[0], ({"seed-1", "seed-2"} - set(first)).pop()
    assert outcome.cancelled and outcome.statuses[ahead] == "stopped"
    # the other run stopped too, or had not started yet (then it never starts)
    assert outcome.statuses[other] in ("stopped", "pending")
    stopped_at = load_checkpoint(tmp_path / "runs" / ahead / "last.pt")["step"]
    assert 3 <= stopped_at < STEPS

    watch = Watch()
    later = StudyQueue(study, tmp_path, on_progress=watch, executor=RayTune()).run()
    assert later.statuses == {"seed-1": "finished", "seed-2": "finished"}
    assert watch.steps(ahead) == list(range(stopped_at + 1, STEPS + 1))
    assert [r.message for r in watch.reports if r.event == "start" and r.name == ahead] == [
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


@pytest.mark.parametrize("address, why", [
    ("127.0.0.1:{port}", "no Ray head answers there"),
    ("ray://127.0.0.1:{port}", "no Ray head answers there"),
    ("headnode", "write auto, local, HOST:PORT or ray://HOST:PORT")])
def test_a_cluster_address_where_no_head_answers_is_refused_in_one_line(address, why,
                                                                       tmp_path, capsys):
    from test_study_support import staged_graph

    from resnet_studio.graph import project
    project_file = tmp_path / "p.rstudio.json"
    project.save(staged_graph(), project_file)
    address = address.format(port=free_port())  # nothing listens on it
    code = main(["experiment", "sweep", str(project_file), "--vary", "seed=1,2", "--out",
                 str(tmp_path / "s"), "--no-estimate", "--cluster", address])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith(f"resnet-studio: error: --cluster {address}: {why}")
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "s" / "runs").exists()


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


def test_a_trial_goes_to_the_workers_with_absolute_paths(tmp_path, monkeypatch):
    """A worker's current directory is not the driver's: the run directory and the data
    folder go as absolute paths, the rest of the trial unchanged."""
    from resnet_studio.study.cluster import portable
    from resnet_studio.study.trial import Trial

    monkeypatch.chdir(tmp_path)
    config = {"epochs": 2, "data": {"dataset": "cifar10", "root": "data"}}
    trial = Trial(3, "seed-1", "seed=1", {"nodes": []}, config, "studies/s/runs/seed-1", True)
    sent = portable(trial)
    assert sent.folder == str(tmp_path / "studies" / "s" / "runs" / "seed-1")
    assert sent.config == {"epochs": 2, "data": {"dataset": "cifar10",
                                                 "root": str(tmp_path / "data")}}
    assert (sent.index, sent.name, sent.graph, sent.resume) == (3, "seed-1", {"nodes": []}, True)
    assert trial.config["data"]["root"] == "data"  # the driver's own trial is left as it was


@pytest.mark.parametrize("flags, slots, gpus", [
    ([], 0, 0.0), (["--parallel", "3"], 3, 0.0), (["--gpus-per-trial", "0.25"], 0, 0.25)])
def test_parallel_and_gpu_flags_size_the_cluster_trials(flags, slots, gpus, tmp_path):
    from resnet_studio.cli import build_parser
    from resnet_studio.study.command import cluster_executor

    args = build_parser().parse_args(["experiment", "sweep", "p.json", "--vary", "seed=1,2",
                                   "--cluster", "auto", *flags])
    executor = cluster_executor(args, tmp_path)
    assert (executor.slots, executor.gpus) == (slots, gpus)


def test_a_bad_parallel_value_with_cluster_names_the_flag(tmp_path, capsys):
    from test_study_support import staged_graph

    from resnet_studio.graph import project
    project.save(staged_graph(), tmp_path / "p.rstudio.json")
    code = main(["experiment", "sweep", str(tmp_path / "p.rstudio.json"), "--vary", "seed=1,2",
                 "--out", str(tmp_path / "s"), "--no-estimate", "--cluster", "auto",
                 "--parallel", "two"])
    assert code == 2
    assert "--parallel ‘two’ is not a whole number" in capsys.readouterr().err
