"""Smarter sweeps on a Ray cluster: early stopping with ASHA and a TPE search, both over the
runs the study planned (``study.cluster.RayTune`` uses them; this module imports Ray).

A study's plan fixes its runs up front (their names, folders and the results table come from
it), so neither invents new runs:

- ``--early-stop asha``: Tune's ASHA scheduler reads each run's validation accuracy at the end
  of every epoch (rungs at 1, 2, 4, … epochs, keeping the best half at each). A run it
  would stop is told so through the study's channel: it stops after its current step keeping
  its ``last.pt`` and ends "stopped early" (not resumed later). The study's planned time is
  then an upper bound.
- ``--search tpe --samples N``: Optuna's TPE sampler, through Tune's ``OptunaSearch``, picks
  the values of the swept settings for each of N trials among the sweep's own values; each
  pick trains the planned run with those values (the next of its seeds not yet taken). A
  pick whose runs are all taken is told the result they gave and TPE picks again. The runs
  that no trial took end "not searched".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ray import tune
from ray.tune.schedulers import ASHAScheduler, TrialScheduler
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

METRIC, EPOCH = "val_accuracy", "epoch"
REDUCTION = 2  # ASHA keeps the best half of the runs at each rung
ASKS = 50  # picks of runs already taken, told their result, before a suggestion waits


class GentleASHA(ASHAScheduler):
    """ASHA whose decision to stop a run reaches the run itself (``stop_run(index)``), so
    that it ends as our engine ends a run, with its files and checkpoint whole, instead of
    its worker being ended by Tune."""

    def __init__(self, stop_run: Callable[[int], None], max_t: int):
        super().__init__(time_attr=EPOCH, metric=METRIC, mode="max", max_t=max(1, max_t),
                         grace_period=1, reduction_factor=REDUCTION, stop_last_trials=False)
        self._stop_run, self.stopped = stop_run, set()

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        decision = super().on_trial_result(tune_controller, trial, result)
        index = trial.config["index"]
        if (decision == TrialScheduler.STOP and result.get(EPOCH, 0) < self._max_t
                and index not in self.stopped):
            self.stopped.add(index)
            self._stop_run(index)
        return TrialScheduler.CONTINUE


class AmongPlanned(OptunaSearch):
    """TPE over the swept settings' values, each suggestion mapped to a planned run:
    ``runs`` gives each run's index its swept values (plan order)."""

    def __init__(self, runs: dict[int, dict[str, Any]], seed: int | None = None):
        super().__init__(metric=METRIC, mode="max", seed=seed)  # its sampler: TPE
        self._free = dict(runs)
        self._picked: dict[str, str] = {}  # trial id -> its values (``_key``)
        self._scores: dict[str, float] = {}  # values -> best result of their runs so far

    def suggest(self, trial_id: str) -> dict | None:
        for _ in range(ASKS):
            if not self._free:
                return Searcher.FINISHED
            config = super().suggest(trial_id)
            if not isinstance(config, dict):
                return config
            index = self._claim(config)
            if index is not None:
                self._picked[trial_id] = _key(config)
                return {**config, "index": index}
            self._tell_known(trial_id, config)
        return None  # every pick's runs are training: Tune asks again later

    def _claim(self, values: dict[str, Any]) -> int | None:
        for index, planned in sorted(self._free.items()):
            if _key(planned) == _key(values):
                del self._free[index]
                return index
        return None

    def _tell_known(self, trial_id: str, values: dict[str, Any]) -> None:
        """The pick of a taken run: TPE learns the result its runs gave (none yet: a
        failed pick, which it ignores) and asks anew under the same trial id."""
        from optuna.trial import TrialState

        ot_trial = self._ot_trials.pop(trial_id)
        known = self._scores.get(_key(values))
        if known is None:
            self._ot_study.tell(ot_trial, state=TrialState.FAIL)
        else:
            self._ot_study.tell(ot_trial, known)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        key = self._picked.pop(trial_id, None)
        if result and result.get(METRIC) is not None and key is not None:
            self._scores[key] = max(self._scores.get(key, 0.0), float(result[METRIC]))
        super().on_trial_complete(trial_id, result, error)


def _key(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def search_space(runs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Each swept setting as a choice among its values (in plan order)."""
    space: dict[str, list[Any]] = {}
    for values in runs.values():
        for name, value in values.items():
            if value not in space.setdefault(name, []):
                space[name].append(value)
    return {name: tune.choice(values) for name, values in space.items()}
