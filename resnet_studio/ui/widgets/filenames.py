"""File and folder names made from what a user typed (a project name can be anything)."""

from __future__ import annotations

# Most file systems allow 255 bytes per name; leave room for "-YYYYmmdd-HHMMSS-NN" and such.
MAX_STEM_BYTES = 200


def safe_stem(name: str, max_bytes: int = MAX_STEM_BYTES) -> str:
    """``name`` with everything but letters, digits, ``-_.`` replaced by ``_``, cut to at most
    ``max_bytes`` of UTF-8 on a character boundary (a 300-byte project name must not make a
    run fail with "File name too long")."""
    stem = "".join(c if (c.isalnum() and c.isprintable()) or c in "-_." else "_" for c in name)
    encoded = stem.encode("utf-8", errors="replace")[:max_bytes]
    return encoded.decode("utf-8", errors="ignore").strip(".") or "network"
