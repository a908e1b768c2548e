"""System errors in words a person can act on: what failed, where, and what to do.

``OSError`` text such as "[Errno 30] Read-only file system: 'out/x.csv'" names neither the
action nor a way out. Every one-line reporter (the CLI's, ``train``'s, the analyses') and the
app's message boxes turn an OSError into a sentence through ``describe_os_error``.
Standard library only.
"""

from __future__ import annotations

import errno

# errno → (what is wrong with the place, what to do); {where} is the file or folder.
_WORDS: dict[int, tuple[str, str]] = {
    errno.EROFS: ("the folder is read-only", "choose another --out folder"),
    errno.EACCES: ("permission denied", "choose a folder you can write"),
    errno.EPERM: ("the system does not permit this here", "choose a folder you can write"),
    errno.ENOSPC: ("the disk is full", "free some space or choose a folder on another disk"),
    errno.EDQUOT: ("your disk quota is used up", "free some space or choose another disk"),
    errno.EEXIST: ("something that is not a folder is already there", "choose a new name"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "choose a folder path"),
    errno.EISDIR: ("it is a folder, where a file was expected", "give a file's path"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.ENAMETOOLONG: ("the name is too long for the file system", "choose a shorter path"),
    errno.EMFILE: ("too many files are open", "close some programs and try again"),
    errno.ENOMEM: ("the system is out of memory", "close some programs and try again"),
    errno.EIO: ("the disk reported an input/output error", "check the disk"),
}


def describe_os_error(exc: OSError, action: str = "") -> str:
    """One line for ``exc``: "ACTION: PATH: what is wrong; what to do". ``action`` says what
    was being done (e.g. "writing the results"); the path comes from the error itself."""
    where = _where(exc)
    words = _WORDS.get(exc.errno or 0)
    if words is None:
        reason = exc.strerror or str(exc) or type(exc).__name__
        detail = f"{where}: {reason[0].lower()}{reason[1:]}" if where else reason
        return f"{action}: {detail}" if action else detail
    what, todo = words
    head = f"{action}: " if action else ""
    return f"{head}{where}: {what}; {todo}." if where else f"{head}{what}; {todo}."


def _where(exc: OSError) -> str:
    names = [str(n) for n in (exc.filename, exc.filename2) if n not in (None, "")]
    return " → ".join(names)
