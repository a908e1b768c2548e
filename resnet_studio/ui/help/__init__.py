"""Help: the first-start tour, the keyboard shortcuts, the README's guides offline, block help
(F1) with its papers, and About. ``feature.HelpFeature`` adds them to the window."""
