"""Comparative experiments in the app: the Experiments menu, a dialog per study kind, the
worker thread that runs a ``study.queue.StudyQueue`` and the results view. The studies
themselves (plans, queue, results, figures) live in ``resnet_studio.study``, Qt-free."""
