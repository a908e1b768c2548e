"""The Data workspace: the dataset chooser, a grid of real samples with their labels, class
counts, the fitted input the network will see, and the augmentation preview."""
