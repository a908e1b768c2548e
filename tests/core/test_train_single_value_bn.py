"""A batch norm that trains on one value per channel (batch size 1 after global pooling) ends
the run with a line that says why and what to change, not an internal error."""

from __future__ import annotations

from heads_graphs import segmenter
from torch import nn

from resnet_studio.data import DataConfig
from resnet_studio.train import Engine, TrainConfig


def test_deeplabv3_with_one_image_a_batch_says_to_use_two():
    graph = segmenter("deeplabv3_head")
    spec = graph.input_spec
    data = DataConfig(dataset="shapes-segmentation", train_size=4, val_size=2,
                      image_size=spec.height, channels=spec.channels, classes=spec.classes)
    end = Engine(graph, TrainConfig(epochs=1, batch_size=1, device="cpu", data=data)).run()
    assert end.status == "failed"
    assert end.message.startswith("step 1: a batch normalisation layer saw one value per "
                                  "channel (a 1×1 map of a batch of 1 image per process")
    assert "DeepLabV3" in end.message and end.message.endswith("use a batch size of 2 or more.")
    assert "internal error" not in end.message


def test_a_plain_module_normalising_after_pooling_fails_the_same_way_and_two_images_train():
    def network():
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(4),
                             nn.Flatten(), nn.Linear(4, 3))

    data = DataConfig(dataset="synthetic", train_size=6, val_size=3, image_size=8, classes=3)
    one = Engine(network(), TrainConfig(epochs=1, batch_size=1, device="cpu", data=data)).run()
    assert one.status == "failed" and "use a batch size of 2 or more" in one.message
    two = Engine(network(), TrainConfig(epochs=1, batch_size=2, device="cpu", data=data)).run()
    assert two.status == "finished", two.message
