"""Opening an image file within Pillow's limits: the size its header claims is checked before
a single pixel is decoded.

A 68-byte PNG can claim 65535×65535 pixels (12 GiB as RGB). Pillow refuses more than twice
``Image.MAX_IMAGE_PIXELS`` with ``DecompressionBombError`` and only *warns* above it
(``DecompressionBombWarning``); here both, and any size above the limit, are one
``ImageTooLargeError`` naming the file. Every reader of an image file — folder datasets,
Check an Image, ``explain`` — opens it through ``open_image``.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from .config import DataError

DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own default, used where it has been switched off
# warnings.catch_warnings changes process-wide state: one header is read at a time (decoding,
# the slow part, runs outside the lock, so folder loading keeps its threads busy).
_HEADER_LOCK = threading.Lock()


class ImageTooLargeError(DataError):
    """An image whose header claims more pixels than may be decoded; the message names it."""


def max_pixels() -> int:
    return int(Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS)


@contextmanager
def open_image(path: str | Path) -> Iterator[Image.Image]:
    """``Image.open(path)`` whose header has been checked against ``max_pixels()``; raises
    ImageTooLargeError, or what ``Image.open`` raises for a file that is no image."""
    with _HEADER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_large(path, _pixels_in(str(exc))) from None
    with img:
        if img.width * img.height > max_pixels():
            raise _too_large(path, img.size)
        yield img


def _pixels_in(message: str) -> int | None:
    """The pixel count in Pillow's message "Image size (N pixels) exceeds limit …"."""
    found = re.search(r"\((\d+) pixels\)", message)
    return int(found.group(1)) if found else None


def _too_large(path: str | Path, size: tuple[int, int] | int | None) -> ImageTooLargeError:
    if isinstance(size, tuple):
        claim = f"{size[0]:,}×{size[1]:,} pixels"
    else:
        claim = f"{size:,} pixels" if size else "more pixels than Pillow allows"
    return ImageTooLargeError(
        f"{path}: the image claims {claim}, more than the {max_pixels():,} that may be decoded "
        "(a damaged file or a decompression bomb); use a smaller image.")
