"""Analyses that explain why skip connections work: functions of a project or a run that
return numbers (and figures for the command line). Qt-free; the app renders the results."""
