"""Notebook 08, modern CNNs and fast training: augmentation on the accelerator, ResNet-9, the
training recipe, speed measurements and data parallelism."""
