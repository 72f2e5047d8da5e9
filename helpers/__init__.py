"""Shared plumbing for the CNN image-classification course.

Importing the package sets TensorFlow's C++ log level (unless the user already chose one), so
that students do not see pages of start-up noise. It must therefore be imported before
TensorFlow or Keras.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
