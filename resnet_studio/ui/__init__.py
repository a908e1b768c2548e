"""The desktop application: every Qt and pyqtgraph line of ResNet Studio lives under here.

``app.main`` opens the main window; the editor follows the orange-canvas-core pattern: the
``Graph`` document is the single source of truth, the scene mirrors it through graph events,
and every user edit is one small ``QUndoCommand`` that calls graph methods.
"""
