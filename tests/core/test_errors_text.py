"""System errors reach the user as what failed, where, and what to do — not "[Errno 30]"."""

from __future__ import annotations

import argparse
import errno
from pathlib import Path

import pytest

from resnet_studio.analysis import command as analysis_command
from resnet_studio.errors_text import describe_os_error
from resnet_studio.train import command as train_command

CASES = [
    (errno.EROFS, "the folder is read-only; choose another --out folder."),
    (errno.EACCES, "permission denied; choose a folder you can write."),
    (errno.ENOSPC, "the disk is full; free some space or choose a folder on another disk."),
    (errno.EEXIST, "something that is not a folder is already there; choose a new name."),
    (errno.ENOTDIR, "a part of the path is a file, not a folder; choose a folder path."),
    (errno.EISDIR, "it is a folder, where a file was expected; give a file's path."),
    (errno.ENOENT, "no such file or folder; check the path."),
]


@pytest.mark.parametrize(("code", "words"), CASES)
def test_each_errno_says_what_where_and_what_to_do(code, words):
    exc = OSError(code, "raw system text", "/runs/out/signal.csv")
    text = describe_os_error(exc, "writing the results")
    assert text == f"writing the results: /runs/out/signal.csv: {words}"
    assert "Errno" not in text and "raw system text" not in text


def test_an_unlisted_errno_keeps_the_system_s_reason_and_the_path():
    exc = OSError(errno.ELOOP, "Too many levels of symbolic links", "/a/b")
    assert describe_os_error(exc) == "/a/b: too many levels of symbolic links"


def test_a_rename_names_both_paths():
    exc = OSError(errno.EXDEV, "Invalid cross-device link", "/a", None, "/b")
    assert describe_os_error(exc) == "/a → /b: invalid cross-device link"


def real_errors(tmp_path: Path) -> list[tuple[OSError, str]]:
    """OSErrors raised by the file system itself, with the words each must become."""
    made = []
    for action, words in ((lambda: Path("/dev/null").mkdir(), "something that is not a folder"),
                          (lambda: (Path("/dev/null") / "x").mkdir(parents=True),
                           "a part of the path is a file"),
                          (lambda: open(tmp_path, "w"), "it is a folder")):  # noqa: SIM115
        with pytest.raises(OSError) as caught:
            action()
        made.append((caught.value, words))
    return made


@pytest.mark.parametrize("reporter", [analysis_command.reported, train_command.reported])
def test_the_one_line_reporters_word_real_system_errors(reporter, tmp_path, capsys):
    for exc, words in real_errors(tmp_path):
        def fail(args: argparse.Namespace, exc=exc) -> int:
            raise exc

        assert reporter(fail)(argparse.Namespace()) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("resnet-studio: error: ") and words in err, err
        assert "Errno" not in err and str(exc.filename) in err


def test_the_cli_words_a_system_error(monkeypatch, capsys):
    from resnet_studio import cli

    def read_only(argv):
        raise OSError(errno.EROFS, "Read-only file system", "/mnt/ro/run/config.json")

    monkeypatch.setattr(cli, "_dispatch", read_only)
    assert cli.main(["train", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("resnet-studio: error: /mnt/ro/run/config.json: the folder is read-only; "
                   "choose another --out folder.")
