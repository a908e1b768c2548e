"""Comparative experiments: plans of run configurations derived from a project, and the
queue that runs them with the training engine. Qt-free; the app and the CLI render results."""
