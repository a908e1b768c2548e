"""Widgets that several workspaces share: spin boxes, parameter widgets, dialogs, number
formats, file names."""
