"""The catalogue of block types: primitives, residual blocks, stages and stems."""

from .base import BlockType, Call, Catalogue, Detections, Functional, Pyramid, Shape, shape_text
from .heads import register_heads
from .primitives import register_primitives
from .residual import register_residual
from .stems import register_stems


def _default_catalogue() -> Catalogue:
    catalogue = Catalogue()
    register_primitives(catalogue)
    register_residual(catalogue)
    register_stems(catalogue)
    register_heads(catalogue)
    return catalogue


CATALOGUE = _default_catalogue()

__all__ = ["CATALOGUE", "BlockType", "Call", "Catalogue", "Detections", "Functional", "Pyramid",
           "Shape", "shape_text"]
