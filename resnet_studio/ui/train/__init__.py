"""Training in the desktop application: the engine's thread bridge, the settings panel, live
curves, the gradient heatmap, the confusion matrix, canvas tints, runs and their comparison.

``controller.TrainingController`` puts it all into the main window; the other modules are
views and helpers that know nothing of the window.
"""
