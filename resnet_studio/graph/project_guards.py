"""The reader's guards against hostile files: what may be read at all (regular files of a
bounded size), and what parsed JSON may hold (bounded nesting, no lone surrogates, no NaN)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from .errors import ProjectFileError
from .text import surrogate_at, visible

MAX_FILE_BYTES = 64 * 2 ** 20  # far above any real project (ResNet-152 written out: ~1 MiB)
MAX_DEPTH = 32  # JSON nesting; a project needs 6 levels, its free-form ``training`` a few more


def read_regular(path: Path, name: str, kind: str = "a project file",
                 limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``: refused when it is no regular file or holds more than ``limit``
    bytes (``kind`` names what the file should be, for the message)."""
    if path.exists() and not path.is_dir() and not stat.S_ISREG(path.stat().st_mode):
        raise ProjectFileError(name, f"is not a regular file (a pipe, device or socket); {kind} "
                               "is a file on disk.")
    with path.open("rb") as stream:
        raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise ProjectFileError(name, f"is larger than {limit // 2 ** 20} MiB, too large "
                               f"to be {kind}.")
    return raw


def parse_guarded(raw: bytes, name: str, kind: str = "a JSON file") -> Any:
    """JSON from ``raw`` through the same guards as a project file — UTF-8, no nesting that
    exhausts the stack, none deeper than MAX_DEPTH, no lone surrogates — with a
    ProjectFileError naming ``name`` for each. NaN and infinities are read: run files record
    diverged losses."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProjectFileError(name, f"is not UTF-8 text, so it is not {kind}.") from None
    except RecursionError:
        raise ProjectFileError(name, f"is nested too deeply to be {kind}.") from None
    except ValueError as exc:
        raise ProjectFileError(name, f"cannot be read as JSON ({exc}); the file may be "
                               "truncated or damaged.") from None
    check_tree(data, name)
    return data


class JSONConstant(Exception):
    """NaN, Infinity or -Infinity: Python's json reads them, JSON does not allow them."""


def no_constant(word: str) -> Any:
    raise JSONConstant(word)


def check_tree(data: Any, name: str) -> None:
    """Refuse, naming the field, JSON nested deeper than MAX_DEPTH (free-form fields such as
    ``training`` would otherwise exhaust the stack when copied or saved) and strings holding
    a lone surrogate (no UTF-8 file can hold one, so saving or printing would fail)."""
    walked = (dict, list, str) if _may_hold_surrogates(data) else (dict, list)
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ProjectFileError(name, f"{_field(where)}: nested more than {MAX_DEPTH} levels "
                                   "deep, deeper than any project file needs.")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_string(key, f"{where}.{key}", name)
                if isinstance(item, walked):
                    stack.append((item, f"{where}.{key}", depth + 1))
        elif isinstance(value, list):  # scalars are skipped cheaply: a list may be huge
            stack.extend((item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value)
                         if isinstance(item, walked))
        elif isinstance(value, str):
            _check_string(value, where, name)


def _may_hold_surrogates(data: Any) -> bool:
    """False when no string in ``data`` can hold a surrogate, which spares checking each."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):  # too deep to write: the walk will say where
        return True
    return False


def _check_string(text: str, where: str, name: str) -> None:
    index = surrogate_at(text)
    if index is not None:
        raise ProjectFileError(name, f"{_field(where)}: the text holds a lone surrogate "
                               f"(\\u{ord(text[index]):04x}), which is not a character; "
                               "the file is damaged.")


def _field(where: str) -> str:
    """A JSON path for messages, cut short when a deep one would swamp the line."""
    where = visible(where.lstrip(".")) or "top level"
    return where if len(where) <= 60 else where[:57] + "…"
