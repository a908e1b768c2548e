"""ResNet Studio: design, train and understand residual convolutional networks."""

__version__ = "0.1.0"
