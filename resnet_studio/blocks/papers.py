"""The papers behind the catalogue's block types, for the app's block help (F1).

The modules a block builds cite their papers in their docstrings (``residual_modules.py``,
``layers.py``, torch's own classes); this table gives each block type those papers as data —
title, authors, year and link — so that help can show them without importing torch.
``tests/core/test_block_papers.py`` checks that every paper a block's module cites is listed
here, so the table cannot silently fall behind the code. Blocks without an entry (Conv2d,
Flatten, the element-wise merges, the project's own blocks) have no single paper to show.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    title: str
    authors: str
    year: int
    url: str

    def citation(self) -> str:
        """``Authors (year), “Title”``."""
        return f"{self.authors} ({self.year}), “{self.title}”"


def _arxiv(title: str, authors: str, year: int, number: str) -> Paper:
    return Paper(title, authors, year, f"https://arxiv.org/abs/{number}")


RESNET = _arxiv("Deep Residual Learning for Image Recognition",
                "He, Zhang, Ren and Sun", 2015, "1512.03385")
PREACT = _arxiv("Identity Mappings in Deep Residual Networks",
                "He, Zhang, Ren and Sun", 2016, "1603.05027")
WIDE = _arxiv("Wide Residual Networks", "Zagoruyko and Komodakis", 2016, "1605.07146")
RESNEXT = _arxiv("Aggregated Residual Transformations for Deep Neural Networks",
                 "Xie, Girshick, Dollár, Tu and He", 2017, "1611.05431")
SE = _arxiv("Squeeze-and-Excitation Networks", "Hu, Shen and Sun", 2018, "1709.01507")
RES2NET = _arxiv("Res2Net: A New Multi-scale Backbone Architecture",
                 "Gao, Cheng, Zhao, Zhang, Yang and Torr", 2019, "1904.01169")
CONVNEXT = _arxiv("A ConvNet for the 2020s",
                  "Liu, Mao, Wu, Feichtenhofer, Darrell and Xie", 2022, "2201.03545")
STOCHASTIC_DEPTH = _arxiv("Deep Networks with Stochastic Depth",
                          "Huang, Sun, Liu, Sedra and Weinberger", 2016, "1603.09382")
BATCHNORM = _arxiv("Batch Normalization: Accelerating Deep Network Training by Reducing "
                   "Internal Covariate Shift", "Ioffe and Szegedy", 2015, "1502.03167")
GROUPNORM = _arxiv("Group Normalization", "Wu and He", 2018, "1803.08494")
LAYERNORM = _arxiv("Layer Normalization", "Ba, Kiros and Hinton", 2016, "1607.06450")
RELU = Paper("Rectified Linear Units Improve Restricted Boltzmann Machines",
             "Nair and Hinton", 2010, "https://www.cs.toronto.edu/~hinton/absps/reluICML.pdf")
GELU = _arxiv("Gaussian Error Linear Units (GELUs)", "Hendrycks and Gimpel", 2016,
              "1606.08415")
SILU = _arxiv("Sigmoid-Weighted Linear Units for Neural Network Function Approximation in "
              "Reinforcement Learning", "Elfwing, Uchibe and Doya", 2017, "1702.03118")
SWISH = _arxiv("Searching for Activation Functions", "Ramachandran, Zoph and Le", 2017,
               "1710.05941")
DROPOUT = _arxiv("Improving Neural Networks by Preventing Co-adaptation of Feature Detectors",
                 "Hinton, Srivastava, Krizhevsky, Sutskever and Salakhutdinov", 2012,
                 "1207.0580")
SPATIAL_DROPOUT = _arxiv("Efficient Object Localization Using Convolutional Networks",
                         "Tompson, Goroshin, Jain, LeCun and Bregler", 2015, "1411.4280")
LAYERSCALE = _arxiv("Going Deeper with Image Transformers",
                    "Touvron, Cord, Sablayrolles, Synnaeve and Jégou", 2021, "2103.17239")
BAG_OF_TRICKS = _arxiv("Bag of Tricks for Image Classification with Convolutional Neural "
                       "Networks", "He, Zhang, Zhang, Zhang, Xie and Li", 2019, "1812.01187")
RESNET_RS = _arxiv("Revisiting ResNets: Improved Training and Scaling Strategies",
                   "Bello, Fedus, Du, Cubuk, Srinivas, Lin, Shlens and Zoph", 2021, "2103.07579")
NIN = _arxiv("Network In Network", "Lin, Chen and Yan", 2013, "1312.4400")
FPN = _arxiv("Feature Pyramid Networks for Object Detection",
             "Lin, Dollár, Girshick, He, Hariharan and Belongie", 2017, "1612.03144")
FASTER_RCNN = _arxiv("Faster R-CNN: Towards Real-Time Object Detection with Region Proposal "
                     "Networks", "Ren, He, Girshick and Sun", 2015, "1506.01497")
FOCAL_LOSS = _arxiv("Focal Loss for Dense Object Detection",
                    "Lin, Goyal, Girshick, He and Dollár", 2017, "1708.02002")
FCN = _arxiv("Fully Convolutional Networks for Semantic Segmentation",
             "Long, Shelhamer and Darrell", 2015, "1411.4038")
DEEPLABV3 = _arxiv("Rethinking Atrous Convolution for Semantic Image Segmentation",
                   "Chen, Papandreou, Schroff and Adam", 2017, "1706.05587")

# The first paper of each entry is the block's own; the others are cited by its module for a
# part of it (ResNeXt's groups in the bottleneck, Wide ResNets' dropout in PreActBlock).
PAPERS: dict[str, tuple[Paper, ...]] = {
    "batchnorm2d": (BATCHNORM,),
    "groupnorm": (GROUPNORM,),
    "layernorm2d": (LAYERNORM, CONVNEXT),
    "relu": (RELU,),
    "gelu": (GELU,),
    "silu": (SILU, SWISH, GELU),
    "adaptiveavgpool2d": (NIN,),
    "dropout": (DROPOUT,),
    "dropout2d": (SPATIAL_DROPOUT,),
    "droppath": (STOCHASTIC_DEPTH,),
    "add": (RESNET,),
    "layerscale": (LAYERSCALE,),
    "zeropadshortcut": (RESNET,),
    "squeezeexcite": (SE,),
    "slicechannels": (RES2NET,),
    "basicblock": (RESNET, BAG_OF_TRICKS),
    "bottleneck": (RESNET, RESNEXT),
    "sebottleneck": (SE, RESNEXT),
    "res2net": (RES2NET,),
    "preactblock": (PREACT, WIDE),
    "sebasicblock": (SE, RESNET),
    "convnextblock": (CONVNEXT, LAYERSCALE, STOCHASTIC_DEPTH),
    "cnblock": (CONVNEXT, STOCHASTIC_DEPTH),
    "stage": (RESNET,),
    "deepstem": (BAG_OF_TRICKS,),
    "convbnrelu": (RESNET_RS,),
    "fpn": (FPN,),
    "faster_rcnn": (FASTER_RCNN, FPN),
    "retinanet": (FOCAL_LOSS, FPN),
    "fcn_head": (FCN,),
    "deeplabv3_head": (DEEPLABV3,),
}


def papers(type_id: str) -> tuple[Paper, ...]:
    """The papers behind a block type, its own first; () when it has none."""
    return PAPERS.get(type_id, ())
