"""One writer at a time for a run directory, a study directory or a project file.

    with hold("runs/first", hint="wait for it or choose another --out"):
        ...   # write the run directory

The lock is the operating system's: ``fcntl.flock`` on a lock file (``DIR/.lock`` for a
directory, ``.NAME.lock`` beside a file), so the kernel releases it when its process ends,
however it ends (a release removes the file; a killed holder leaves it). The file also
records who holds it (pid, host, command, since when, as JSON) for the message a second
writer gets at once: ``LockBusy`` — an ``OSError`` — whose text names
the holder. A record left by a process that died is only stale text: the next writer takes the
lock and overwrites it. Taking a lock also removes the temporary files that writers killed
mid-write left behind (``files.remove_temporaries``).

Within one process a lock is re-entrant on the thread that took it (the ``train`` command
holds its run directory and the engine it starts takes the same lock again); another thread
is refused like another process. Where ``fcntl`` is missing (Windows) ``msvcrt.locking`` locks
one byte of the lock file instead. Standard library only, so the document layer can use it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .files import remove_temporaries

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

LOCK_NAME = ".lock"
_WINDOWS_BYTE = 1 << 30  # the byte msvcrt locks: far past the record, which stays readable
_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, errno.EDEADLK)


class LockBusy(OSError):
    """Another process (or thread) is writing the target; the message names it."""

    def __init__(self, message: str, holder: dict[str, Any] | None = None):
        super().__init__(message)
        self.holder = holder or {}

    def __str__(self) -> str:
        return str(self.args[0])


def lock_path(target: str | os.PathLike, directory: bool = True) -> Path:
    """The lock file of ``target``: ``target/.lock`` for a directory, ``.NAME.lock`` beside
    a file."""
    target = Path(os.path.realpath(target))  # a link: the file or folder it names
    return target / LOCK_NAME if directory else target.parent / f".{target.name}.lock"


def program() -> str:
    """What this process is, for a holder record: ``resnet-studio train``,
    ``resnet-studio experiment resume``, ``ResNet Studio`` (the app) or the script's name."""
    argv = sys.argv or [""]
    if "resnet_studio" not in argv[0] and Path(argv[0]).name != "resnet-studio":
        return Path(argv[0]).name or "python"
    words = [w for w in argv[1:3] if w.replace("-", "").isalpha()][:2]
    if words and words[0] != "experiment":
        words = words[:1]
    return " ".join(["resnet-studio", *words]) if words else "ResNet Studio"


@dataclass
class _Held:
    fd: int
    thread: int
    count: int = 1


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


class Lock:
    """A lock taken by ``hold``: a context manager; ``release()`` ends it early."""

    def __init__(self, file: Path, key: str):
        self.file, self._key = file, key
        self._released = False

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        with _GUARD:
            held = _HELD.get(self._key)
            if held is None:
                return
            held.count -= 1
            if held.count == 0:
                del _HELD[self._key]
                # Removed while still locked: a writer that opened it meanwhile finds its
                # file unlinked once it gets the lock, and opens a new one (see ``_take``).
                with contextlib.suppress(OSError):
                    os.unlink(self.file)
                _unlock(held.fd)
                os.close(held.fd)


def hold(target: str | os.PathLike, what: str | None = None, *, hint: str = "",
         directory: bool = True) -> Lock:
    """Take the lock of ``target`` (a directory, made if missing; or with ``directory=False``
    a file) for ``what`` (default: this program) or raise ``LockBusy`` at once, naming the
    holder and ending with ``hint`` (what the refused writer can do)."""
    file = lock_path(target, directory)
    file.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(file)
    with _GUARD:
        held = _HELD.get(key)
        if held is not None and held.thread == threading.get_ident():
            held.count += 1
            return Lock(file, key)
        fd = _take(file)
        if fd is not None:
            _HELD[key] = _Held(fd, threading.get_ident())
    if fd is None:
        record = _read_record(file)
        text = f"{target} is being written by {describe(record)}"
        raise LockBusy(f"{text}; {hint}" if hint else text, record)
    _write_record(fd, what or program())
    if directory:
        remove_temporaries(file.parent)
    else:
        remove_temporaries(file.parent, file.name[1:-len(".lock")])
    return Lock(file, key)


def holder(target: str | os.PathLike, directory: bool = True) -> dict[str, Any] | None:
    """The record of the process holding ``target``'s lock now, or None when nobody does
    (a record left by a dead process is not a holder)."""
    file = lock_path(target, directory)
    try:
        fd = os.open(file, os.O_RDWR)
    except OSError:
        return None
    try:
        if _try_lock(fd):
            _unlock(fd)
            return None
        return _read_record(file)
    finally:
        os.close(fd)


def describe(record: dict[str, Any] | None) -> str:
    """``resnet-studio train (pid 4242 on host x, since 12:03:04)``, for messages."""
    if not record:
        return "another process"
    since = record.get("since")
    when = ""
    if isinstance(since, (int, float)):
        moment = datetime.fromtimestamp(since)
        same_day = moment.date() == datetime.now().date()
        when = f", since {moment:%H:%M:%S}" if same_day else f", since {moment:%Y-%m-%d %H:%M}"
    return (f"{record.get('command') or 'another process'} (pid {record.get('pid', '?')} on "
            f"host {record.get('host', '?')}{when})")


def _take(file: Path) -> int | None:
    """The lock file's descriptor, locked; None when another holds the lock. The lock counts
    only if the file locked is still the one at ``file`` (a holder releasing removes it)."""
    while True:
        fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o666)
        if not _try_lock(fd):
            os.close(fd)
            return None
        try:
            if os.path.samestat(os.fstat(fd), os.stat(file)):
                return fd
        except OSError:
            pass
        _unlock(fd)
        os.close(fd)


def _try_lock(fd: int) -> bool:
    """True when the lock was taken, False when another holds it. A file system that has no
    locks at all (ENOLCK, ENOTSUP) lets the writer go on unlocked, as before locks existed."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WINDOWS_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        return exc.errno not in _BUSY
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        else:
            os.lseek(fd, _WINDOWS_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _write_record(fd: int, what: str) -> None:
    """Overwrite the record in place, then cut the rest: a reader sees the old record, or
    the new one followed by leftovers that ``raw_decode`` ignores — never an empty file
    once a record was written."""
    record = {"pid": os.getpid(), "host": socket.gethostname(), "command": what,
              "since": round(time.time(), 3)}
    data = (json.dumps(record) + "\n").encode("utf-8")
    with contextlib.suppress(OSError):
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, data)
        os.ftruncate(fd, len(data))


def _read_record(file: Path) -> dict[str, Any] | None:
    """The holder's record; a lock taken a moment ago may not have one yet, so an empty or
    unreadable record is read again for up to half a second."""
    deadline = time.monotonic() + 0.5
    while True:
        try:
            text = file.read_text(encoding="utf-8", errors="replace").lstrip()
            record, _ = json.JSONDecoder().raw_decode(text)
            if isinstance(record, dict):
                return record
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


def _close_in_child() -> None:
    """A forked child (a data-loader worker) closes its copies of the lock files, so a lock
    ends with the process that took it, not with the last of its children."""
    for held in _HELD.values():
        with contextlib.suppress(OSError):
            os.close(held.fd)
    _HELD.clear()
    _GUARD.release()


if hasattr(os, "register_at_fork"):  # the guard is held across a fork: never copied locked
    os.register_at_fork(before=_GUARD.acquire, after_in_parent=_GUARD.release,
                        after_in_child=_close_in_child)
