"""Engine and data-layer messages in the app's words: a command-line option or a file field
(``--fit network``, ``--download``) becomes the Data workspace's setting that does the same.
Training, the sanity tools and the Data workspace show their errors through ``app_wording``."""

from __future__ import annotations

import re

# Engine messages name CLI flags and file fields; in the app the Data workspace's settings fix
# them.
_APP_WORDS = (
    (re.compile(r"pass --fit network \(training field data\.fit\)"),
     "set Images to “Fit to the network's input” in the Data workspace (Ctrl+2)"),
    (re.compile(r"--image-size (\d+) --channels (\d+) \(data\.image_size, data\.channels\)"),
     r"Image size \1 and Channels \2 in the Data workspace (Ctrl+2)"),
    (re.compile(r"set the project's input classes to (\d+) \(`resnet-studio new PRESET "
                r"--classes \d+`\)"),
     (r"train a network with \1 classes: in the Data workspace (Ctrl+2) set Images to “Use "
      r"as they are” and tick “Fit the network's input to the dataset”")),
    # the data layer's advice to download a missing dataset: in the app it is a checkbox
    (re.compile(re.escape("pass --download (download: true) to fetch it")),
     "tick “Download if missing” in the Data workspace (Ctrl+2) to fetch it"),
    (re.compile(re.escape("fetch them again (--download)")),
     "fetch them again with “Download if missing” ticked in the Data workspace (Ctrl+2)"),
    # the study layer's advice on repeats: in the app it is the set-up's Repeats field
    (re.compile(r"rerun with --seeds (\d+)"), r"run it again with Repeats set to \1"),
    (re.compile(r"repeats \(--seeds\)"), "Repeats"),
    (re.compile(r"--image-size"), "Image size"),
    (re.compile(r"--channels"), "Channels"),
)


def app_wording(message: str) -> str:
    """``message`` with the CLI's options replaced by the app's settings that fix them."""
    for pattern, words in _APP_WORDS:
        message = pattern.sub(words, message)
    return message
