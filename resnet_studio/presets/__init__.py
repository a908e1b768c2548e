"""Ready-made networks: torchvision's ImageNet ResNets, the CIFAR ResNets of He et al. and
their plain twins, a wide and a pre-activation ResNet, an MNIST pair and a small starter.

    from resnet_studio.presets import PRESETS, create
    graph = create("resnet20")                      # laid out, ready to edit or build
    graph = create("resnet50", InputSpec(3, 64, 64, classes=7))
"""

from .base import Preset, UnknownPresetError
from .catalogue import DEFAULT_PRESET, PRESETS, create
from .twin import plain_twin

__all__ = ["DEFAULT_PRESET", "PRESETS", "Preset", "UnknownPresetError", "create", "plain_twin"]
