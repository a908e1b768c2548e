"""Comparative experiments: plans of run configurations derived from a project, and the
queue that runs them with the training engine. Qt-free; the app and the CLI render results.

- ``plan``: ``RunSpec`` and ``Study`` (saved as ``study.json`` in a study directory);
- ``derive``: the project at another depth, with other residual blocks, wider, plain;
- ``kinds``: the ready-made studies (degradation, variants, sweep, twin) as planners;
- ``estimate``: the study's duration before it starts, from a short timing;
- ``queue``: ``StudyQueue`` runs the plan, resumable, with progress callbacks and cancel;
- ``results``: run directories read into curves and a table, the Pareto front;
- ``figures``: the curves, degradation, Pareto and sweep charts (matplotlib, Agg);
- ``command``: ``resnet-studio experiment``.

Nothing is imported here, so that ``import resnet_studio.study`` stays light.
"""
