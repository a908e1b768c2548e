"""Atomic file writing, shared by project files, checkpoints, run directories and exports.

Standard library only, so the document layer can use it too.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

TEMP_SUFFIX = ".tmp"
# The names of write_atomic's temporary files: ".<name>.<writer's pid>.<8 random characters>.tmp"
# (mkstemp's random part); older versions wrote ".<name>.<8 random characters>.tmp".
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
_WITH_PID = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]{1,10})\.[a-z0-9_]{8}"
                       + re.escape(TEMP_SUFFIX))


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, flush it to disk, then rename it
    over ``path``: readers see the old file or the new one, never a mixture, and a crash or
    a full disk at any point leaves the old file intact. The file keeps the permissions of
    the one it replaces. A symbolic link at ``path`` is written through (its target is
    replaced, as ``open(path, "w")`` would do); a destination that exists but is not a
    regular file (a device, a FIFO, a socket, a folder) raises ``NotRegularFileError``."""
    path = destination(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    # The writer's pid in the name: the next writer removes it only once this process is gone.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TEMP_SUFFIX,
                               dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def remove_temporaries(folder: str | os.PathLike, name: str | None = None) -> list[str]:
    """Delete the temporary files ``write_atomic`` left in ``folder`` when its process was
    killed mid-write (a checkpoint's can be as large as the checkpoint); return their names.
    A file whose writer is still alive is kept (its pid is in the name); one of an older
    version, without a pid, is removed, so call this while holding the folder's lock
    (``locks.hold``). ``name`` keeps to the temporaries of that one file."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if _stale(entry.name, name) and entry.is_file(follow_symlinks=False):
            try:
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(entry.name)
    return sorted(removed)


def _stale(filename: str, name: str | None) -> bool:
    """Is ``filename`` a temporary of ``write_atomic`` (of the file ``name``, if given) whose
    writer is gone?"""
    match = _WITH_PID.fullmatch(filename)
    if match is not None and (name is None or match["name"] == name):
        return not pid_alive(int(match["pid"]))
    match = _TEMPORARY.fullmatch(filename)
    return match is not None and (name is None or match["name"] == name)


def pid_alive(pid: int) -> bool:
    """Does a process with this id exist (on this machine)? (A pid reused by an unrelated
    process reads as alive: its temporary file then waits for a later writer.)"""
    if pid <= 0 or pid > 2**31 - 1:
        return False
    if pid == os.getpid() or os.name == "nt":  # Windows: os.kill(pid, 0) is no probe there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, run by another user
        return True
    return True


class NotRegularFileError(OSError):
    """The destination of a write exists and is not a regular file: replacing it would, for
    instance, swap ``/dev/null`` for a file, so nothing is written."""


def destination(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` replaces: ``path`` with every symbolic link resolved
    (a dangling link names the file it will create). Refuses what is not a regular file."""
    real = Path(os.path.realpath(path))
    try:
        mode = real.stat().st_mode
    except FileNotFoundError:
        return real
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(errno.EINVAL, f"it is {_kind(mode)}, not a regular file",
                                  str(path))
    return real


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


# errno values of a write that failed for lack of space: the device, or the user's quota
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def os_error_of(exc: BaseException) -> OSError | None:
    """The ``OSError`` behind ``exc``: ``exc`` itself or one in its chain of causes. torch's
    zip writer, for one, reports a failed ``write`` of our file handle as a ``RuntimeError``
    from ``inline_container.cc`` raised while the ``OSError`` is being handled."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def out_of_space(exc: BaseException, folder: str | os.PathLike) -> bool:
    """Did writing into ``folder`` fail with ``exc`` because the disk (or quota) is full?
    Decided by the errno in its chain, or, where a library dropped that, by the free space."""
    cause = os_error_of(exc)
    if cause is not None:
        return cause.errno in NO_SPACE
    try:
        return os.statvfs(folder).f_bavail == 0
    except (OSError, AttributeError):  # AttributeError: no statvfs on Windows
        return False


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """``write_atomic`` for UTF-8 text; an encoding error comes before anything is touched."""
    data = text.encode("utf-8")
    write_atomic(path, lambda handle: handle.write(data))


def _mode_for(path: Path) -> int:
    """The existing file's permission bits, or those a new file gets (mkstemp's are 0600)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # os.umask can only be read by setting it, which races with other threads; Linux
    # reports it in /proc instead.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_guarded_json(path: Path, kind: str, limit: int, error: type[Exception],
                      doing: str) -> Any:
    """JSON through the project reader's guards (a regular file of at most ``limit`` bytes,
    bounded nesting); ``error`` naming the file (``kind``: "a run file") and the problem, or
    the system's error worded for a person (``doing``: "reading the run") otherwise. Run
    files, study plans and dataset annotations are all read this way."""
    from .errors_text import describe_os_error
    from .graph.errors import ProjectFileError
    from .graph.project_guards import parse_guarded, read_regular

    try:
        return parse_guarded(read_regular(path, str(path), kind, limit), str(path), kind)
    except ProjectFileError as exc:
        raise error(str(exc)) from None
    except OSError as exc:
        raise error(describe_os_error(exc, doing)) from None
