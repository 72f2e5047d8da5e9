"""What the notebook runs on, quiet logs, and seeds: the set-up every notebook shares.

Everything here goes through Keras or its active backend (TensorFlow, JAX or PyTorch), so the
course runs where TensorFlow is not installed at all."""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
import sys
import warnings
from types import ModuleType

import keras

from helpers._internal.native_stderr import native_stderr_to
from helpers.data import check_seed

MIN_KERAS_MAJOR = 3


def check_keras_version(version: str = keras.__version__) -> None:
    """Fail clearly on Keras 2: the course's code is written for Keras 3."""
    major = int(version.split(".")[0])
    if major < MIN_KERAS_MAJOR:
        raise RuntimeError(
            f"this course needs Keras 3 or newer, found Keras {version}. Upgrade with "
            "`pip install -U 'keras>=3.3'` and restart the kernel.")


def backend() -> str:
    """The active Keras backend: "tensorflow", "jax" or "torch" (set by $KERAS_BACKEND)."""
    return keras.backend.backend()


def tensorflow_installed() -> bool:
    """Whether TensorFlow can be imported, whatever the Keras backend."""
    return importlib.util.find_spec("tensorflow") is not None


def import_tensorflow() -> ModuleType | None:
    """TensorFlow for a lesson about TensorFlow itself (`tf.data`), or None with a one-line
    notice where it is not installed, so the notebook skips those cells and goes on."""
    if not tensorflow_installed():
        print("TensorFlow is not installed here: the cells about tf.data are skipped "
              f"(the rest of the notebook runs on Keras's {backend()} backend).")
        return None
    import tensorflow as tf

    return tf


def accelerators() -> list[str]:
    """The GPUs (or TPUs) the active backend will train on; empty on a CPU-only machine.

    Asked of the backend itself, with its start-up errors hidden: a missing GPU is an answer,
    not a failure. (TensorFlow prints "failed call to cuInit" on a machine without a GPU.)"""
    name = backend()
    with native_stderr_to(os.devnull):
        if name == "tensorflow":
            import tensorflow as tf

            devices = tf.config.list_physical_devices("GPU") + tf.config.list_physical_devices(
                "TPU")
            return [device.name for device in devices]
        if name == "jax":
            import jax

            return [f"{device.device_kind} ({device})" for device in jax.devices()
                    if device.platform != "cpu"]
        if name == "torch":
            import torch

            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def accelerator_model() -> str | None:
    """The model name of the first accelerator ("Tesla T4", "NVIDIA H100 80GB HBM3"), as its
    driver reports it, or None on a CPU-only machine."""
    name = backend()
    with native_stderr_to(os.devnull):
        if name == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                return tf.config.experimental.get_device_details(gpus[0]).get("device_name")
            return "TPU" if tf.config.list_logical_devices("TPU") else None
        if name == "jax":
            import jax

            kinds = [device.device_kind for device in jax.devices() if device.platform != "cpu"]
            return kinds[0] if kinds else None
        if name == "torch":
            import torch

            return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return None


def mixed_precision_policy() -> str:
    """The Keras dtype policy that trains fastest here: "mixed_bfloat16" where the hardware
    computes in bfloat16 natively (TPUs, NVIDIA GPUs from Ampere on: compute capability 8.0),
    "mixed_float16" on older NVIDIA GPUs (their tensor cores take float16, and Keras scales the
    loss so small gradients survive), "float32" on a CPU, where half precision is no faster."""
    name = backend()
    with native_stderr_to(os.devnull):
        if name == "tensorflow":
            import tensorflow as tf

            if tf.config.list_logical_devices("TPU"):
                return "mixed_bfloat16"
            gpus = tf.config.list_physical_devices("GPU")
            capabilities = [tf.config.experimental.get_device_details(gpu).get(
                "compute_capability", (0, 0)) for gpu in gpus]
        elif name == "jax":
            import jax

            if jax.default_backend() == "tpu":
                return "mixed_bfloat16"
            capabilities = [tuple(int(part) for part in str(device.compute_capability).split("."))
                            for device in jax.devices() if device.platform == "gpu"]
        elif name == "torch":
            import torch

            capabilities = [torch.cuda.get_device_capability(index)
                            for index in range(torch.cuda.device_count())]
        else:
            capabilities = []
    if not capabilities:
        return "float32"
    return "mixed_bfloat16" if min(capabilities) >= (8, 0) else "mixed_float16"


def compile_options(steps_per_execution: int = 1, jit_compile: bool | str = "auto"
                    ) -> dict[str, int | bool | str]:
    """`model.compile`'s `steps_per_execution` and `jit_compile` as the active backend can take
    them, with a one-line notice for each setting that does not apply here.

    On PyTorch, Keras runs one step per call (its torch trainer refuses `steps_per_execution`
    above 1) and has no XLA: its `jit_compile=True` means `torch.compile`, a different compiler
    the course does not use, so it is turned off there; `"auto"` already means eager execution
    (keras/src/backend/torch/trainer.py, keras/src/trainers/trainer.py)."""
    if backend() != "torch":
        return {"steps_per_execution": steps_per_execution, "jit_compile": jit_compile}
    if steps_per_execution > 1:
        print(f"steps_per_execution={steps_per_execution} does not apply on PyTorch (Keras runs "
              "one step per call there): training with 1.")
    if jit_compile is True:
        print("jit_compile=True does not apply on PyTorch: there is no XLA there (Keras would "
              "call torch.compile instead); training without compilation.")
    return {"steps_per_execution": 1, "jit_compile": False if jit_compile is True else jit_compile}


def float32_copy(model: keras.Model) -> keras.Model:
    """The same model, every layer computing in float32, with the same weights: a model
    trained under a mixed policy keeps its weights in float32 but computes in 16 bits, which a
    CPU does slowly or not at all, so the copy is what gets saved and served. Built from the
    model's own configuration with each mixed policy replaced (nested models included)."""
    def in_float32(config: object) -> object:
        if isinstance(config, dict):
            if config.get("class_name") == "DTypePolicy":
                name = config["config"]["name"]
                return {**config, "config": {**config["config"], "name": (
                    "float32" if name.startswith("mixed_") else name)}}
            return {key: in_float32(value) for key, value in config.items()}
        if isinstance(config, list):
            return [in_float32(value) for value in config]
        return config

    copy = keras.saving.deserialize_keras_object(
        in_float32(keras.saving.serialize_keras_object(model)))
    copy.set_weights(model.get_weights())
    return copy


def quiet_logs() -> None:
    """Silence the backend's info chatter and Python warnings students cannot act on.
    (TensorFlow's C++ log level is set earlier, when the package is imported.)"""
    if "tensorflow" in sys.modules:
        sys.modules["tensorflow"].get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning, module="keras")
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def in_colab() -> bool:
    return "google.colab" in sys.modules


def _backend_version(name: str) -> str:
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(name)
    if module is None:
        return "unknown"
    return getattr(__import__(module), "__version__", "unknown")


def environment_report() -> dict[str, str]:
    """Versions and hardware, as a dict a notebook can print. Fails on Keras < 3."""
    check_keras_version()
    name = backend()
    devices = accelerators()
    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "keras backend": f"{name} {_backend_version(name)}",
        "gpu": ", ".join(devices) if devices else "none (training runs on the CPU)",
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
              "or set a small TRAIN_SIZE and EPOCHS in the parameters cell for a quick pass.")


def set_seed(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and the backend; optionally make the backend's operations
    deterministic (reproducible to the bit, at some cost in speed)."""
    check_seed(seed)
    keras.utils.set_random_seed(seed)
    if not deterministic:
        return
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif name == "jax":
        # XLA reads this when it first compiles for a GPU; on a CPU JAX is deterministic.
        flags = os.environ.get("XLA_FLAGS", "")
        if "--xla_gpu_deterministic_ops" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} --xla_gpu_deterministic_ops=true".strip()
    elif name == "torch":
        import torch

        torch.use_deterministic_algorithms(True)
