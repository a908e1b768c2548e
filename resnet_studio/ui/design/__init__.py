"""The Design workspace: the canvas (scene, items, interactions, commands), the palette,
the inspector, problems and summary, and model.py."""
