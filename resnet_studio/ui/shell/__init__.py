"""The window's shell: the application, the main window that assembles the workspaces, the
mode bar, prompts, theme, icons and recovery."""
