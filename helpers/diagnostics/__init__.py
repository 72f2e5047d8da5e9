"""Notebook 10, what the network sees: gradients for saliency and Grad-CAM, calibration, and
CIFAR-10-C-style corruptions."""
