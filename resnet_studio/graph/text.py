"""Text from a file made safe to show: control characters, escapes and invisible characters
written out visibly, so that a name in a project file cannot move the cursor, colour a
terminal or hide part of a message."""

from __future__ import annotations

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def visible(text: str, keep_newlines: bool = False) -> str:
    """``text`` with every non-printable character (C0/C1 controls such as NUL and the ESC of
    ANSI sequences, format characters, lone surrogates) written as a Python escape
    (``\\x1b``, ``\\u200b``); newlines are kept when ``keep_newlines`` is set."""
    if text.isprintable():
        return text
    return "".join(_show(c, keep_newlines) for c in text)


def _show(char: str, keep_newlines: bool) -> str:
    if char.isprintable() or char == " " or (keep_newlines and char == "\n"):
        return char
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def surrogate_at(text: str) -> int | None:
    """The index of the first lone surrogate in ``text`` (which no UTF-8 file can hold), or
    None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def shown(value: object, limit: int = 40) -> str:
    """``repr(value)`` for a message, visible and cut to about ``limit`` characters (a value
    from a file may be a number of thousands of digits or a list of millions)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int too long to write, a structure too deep
        text = f"a {type(value).__name__}"
    return visible(text) if len(text) <= limit else visible(text[:limit - 1]) + "…"
