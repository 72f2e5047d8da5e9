"""What the notebook runs on, quiet logs, and seeds: the set-up every notebook shares."""

from __future__ import annotations

import logging
import os
import platform
import sys
import warnings

import keras
import tensorflow as tf

MIN_KERAS_MAJOR = 3


def check_keras_version(version: str = keras.__version__) -> None:
    """Fail clearly on Keras 2: the course's code is written for Keras 3."""
    major = int(version.split(".")[0])
    if major < MIN_KERAS_MAJOR:
        raise RuntimeError(
            f"this course needs Keras 3 or newer, found Keras {version}. Upgrade with "
            "`pip install -U 'keras>=3.3' 'tensorflow>=2.16'` and restart the kernel.")


def quiet_logs() -> None:
    """Silence TensorFlow's and absl's info chatter and Python warnings students cannot act on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def in_colab() -> bool:
    return "google.colab" in sys.modules


def environment_report() -> dict[str, str]:
    """Versions and hardware, as a dict a notebook can print. Fails on Keras < 3."""
    check_keras_version()
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "keras backend": keras.backend.backend(),
        "gpu": ", ".join(gpu.name for gpu in gpus) if gpus else "none (training runs on the CPU)",
        "colab": "yes" if in_colab() else "no",
    }


def print_environment() -> None:
    """Print the environment report, with advice when no GPU is found."""
    report = environment_report()
    for key, value in report.items():
        print(f"{key:>14}: {value}")
    if report["gpu"].startswith("none"):
        advice = ("Runtime > Change runtime type > GPU" if in_colab()
                  else "use a machine with a GPU, or Google Colab")
        print(f"\nNo GPU: full-length training will be slow. For a GPU, {advice}; "
              "or keep the small TRAIN_SIZE and EPOCHS of the smoke profile.")


def set_seed(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and the backend; optionally force deterministic TensorFlow ops
    (reproducible to the bit, at some cost in speed)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
