"""Every study kind's report draws without a warning (matplotlib's UserWarnings once reached
the terminal) before any run finished, and with a failed run beside a finished one."""

from __future__ import annotations

import warnings

import pytest
from study_runs import write_run
from test_study_support import budget, staged_graph

from resnet_studio.study.figures import write_report
from resnet_studio.study.kinds import plan_degradation, plan_sweep, plan_twin, plan_variants
from resnet_studio.study.results import collect

PLANS = {
    "degradation": lambda: plan_degradation(staged_graph(), budget(), depths=(6, 10)),
    "variants": lambda: plan_variants(staged_graph(), budget(), ("basicblock", "fusionblock")),
    "sweep": lambda: plan_sweep(staged_graph(), budget(),
                                {"lr": [0.1, 0.01], "weight_decay": [1e-4, 1e-3]}),
    "twin": lambda: plan_twin(staged_graph(), budget()),
}


@pytest.mark.parametrize("kind", PLANS)
@pytest.mark.parametrize("finished", [0, 1])
def test_a_report_draws_without_warnings(tmp_path, kind, finished):
    study = PLANS[kind]()
    for i, spec in enumerate(study.runs[:finished + 1]):
        status = "finished" if i < finished else "failed"
        write_run(tmp_path / "runs" / spec.name, [0.5, 0.8], [0.4, 0.7], status=status)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # whatever the pytest configuration says
        written = write_report(collect(study, tmp_path), tmp_path / "out")
    assert any(path.suffix == ".png" for path in written)
