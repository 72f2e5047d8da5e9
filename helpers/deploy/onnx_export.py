"""Notebook 12, a model that runs without Keras: the trained model exported to an ONNX file
through Keras's own `model.export(path, format="onnx")`, run with ONNX Runtime, and checked
against Keras on the same images (agreement, file sizes, latency per image).

Keras converts with a different tool on each backend: tf2onnx on TensorFlow, jax2onnx on JAX,
`torch.onnx` on PyTorch (keras/src/export/onnx.py). None of them comes with Keras, so they and
onnxruntime are an optional extra: `pip install "keras-cnn-course[onnx]"` on TensorFlow,
`[onnx-jax]` on JAX, `[onnx-torch]` on PyTorch (onnx and onnxruntime: torch.onnx comes with
PyTorch). `unavailable_reason()` says what is missing, for a notebook to skip its
export cells with a notice instead of failing.

With Keras 3.15, tf2onnx 1.17 and jax2onnx 0.17, two of the course's models give files that
ONNX Runtime cannot run as they come: `export` mends both (see `_captured_constants_as_weights`
and `_max_pool_in_2d`), and `compare` checks the result against Keras."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from helpers import environment

# The converter `model.export(format="onnx")` imports on each backend (keras/src/export/onnx.py).
CONVERTERS = {"tensorflow": "tf2onnx", "jax": "jax2onnx", "torch": "torch"}
# The course's extra for each backend, in pyproject.toml.
EXTRAS = {"tensorflow": "onnx", "jax": "onnx-jax", "torch": "onnx-torch"}
# Metadata written into every file `export` makes: a file with it may be replaced, any other
# file at the path belongs to someone else and is left alone.
MARK = ("exported_by", "keras-cnn-course")
# ONNX element types of the inputs the course's models take.
INPUT_DTYPES = {"tensor(uint8)": np.uint8, "tensor(float)": np.float32}


def _installed(module: str) -> bool:
    """Whether `module` can be imported (without importing it: tf2onnx imports TensorFlow)."""
    return importlib.util.find_spec(module) is not None


def missing_packages(backend: str | None = None) -> list[str]:
    """The pip packages that ONNX export and its check with ONNX Runtime lack on `backend`
    (the active one by default); empty when both can run here."""
    backend = backend or environment.backend()
    if backend not in CONVERTERS:
        raise ValueError(f"Keras exports ONNX on {', '.join(CONVERTERS)}, not {backend!r}")
    needed = ["onnx", "onnxruntime", CONVERTERS[backend]]
    return [name for name in needed if not _installed(name)]


def unavailable_reason(backend: str | None = None) -> str | None:
    """None where the export and its check can run; otherwise one message that says exactly
    what to install, for a notebook to print as it skips its ONNX cells."""
    backend = backend or environment.backend()
    missing = missing_packages(backend)
    if not missing:
        return None
    extra = EXTRAS.get(backend)
    course = (f' (or the course\'s extra: `pip install "keras-cnn-course[{extra}]"`)'
              if extra else "")
    return (f"ONNX export on Keras's {backend} backend needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: run "
            f"`pip install {' '.join(missing)}`{course} and restart the kernel.")


def _is_ours(path: Path) -> bool:
    """Whether the file at `path` is an ONNX file that `export` wrote (it carries MARK)."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception:  # not an ONNX file at all: someone else's
        return False
    return any((entry.key, entry.value) == MARK for entry in proto.metadata_props)


def _all_layers(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """`layer` and every layer inside it, nested models included."""
    return [layer, *(inner for child in getattr(layer, "layers", [])
                     for inner in _all_layers(child))]


def _inference_model(model: keras.Model) -> keras.Model:
    """`model` in float32, called with training=False, as a one-input functional model.

    Keras's ONNX export needs a float32 policy (its docstring says so), so a mixed-precision
    model goes through `environment.float32_copy`. On TensorFlow the export traces
    `model.__call__` without `training`, so layers whose default is training=True (the random
    augmentation layers) would export their random ops, which tf2onnx cannot convert: the
    wrapper fixes training=False, as `predict` does."""
    if len(model.inputs) != 1:
        raise ValueError(f"export takes a model with one image input, this one has "
                         f"{len(model.inputs)}")
    if any(layer.dtype_policy.name.startswith("mixed_") for layer in _all_layers(model)):
        model = environment.float32_copy(model)
    spec = model.inputs[0]
    inputs = keras.Input(spec.shape[1:], dtype=spec.dtype, name="images")
    return keras.Model(inputs, model(inputs, training=False), name=f"{model.name}_inference")


def _max_pool_in_2d(proto) -> None:
    """Rewrite jax2onnx's max-pooling, in place, into a 2-D MaxPool that ONNX Runtime can run.

    jax2onnx 0.17 lowers JAX's `reduce_window_max` over a whole (N, H, W, C) tensor to one
    MaxPool with four spatial axes (window 1x2x2x1), and ONNX Runtime pools over at most three
    ("Unsupported pooling size"). Each such node becomes Squeeze -> Transpose to NCHW ->
    MaxPool over H, W -> Transpose back -> Unsqueeze: the same numbers, the same names."""
    import onnx
    from onnx import helper

    nodes, rewritten = [], 0
    for node in proto.graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        kernel = list(attributes.get("kernel_shape", []))
        strides = list(attributes.get("strides", [1] * len(kernel)))
        pads = list(attributes.get("pads", [0] * 2 * len(kernel)))
        dilations = list(attributes.get("dilations", [1] * len(kernel)))
        if not (node.op_type == "MaxPool" and len(kernel) == 4 and len(node.output) == 1
                and kernel[0] == kernel[3] == strides[0] == strides[3] == 1
                and pads[0] == pads[3] == pads[4] == pads[7] == 0
                and dilations[0] == dilations[3] == 1
                and attributes.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")):
            nodes.append(node)
            continue
        name = node.name or f"max_pool_{rewritten}"
        axes = f"{name}_batch_axes"
        proto.graph.initializer.append(
            onnx.numpy_helper.from_array(np.array([0, 1], np.int64), axes))
        nhwc, nchw, pooled, back = (f"{name}_{part}" for part in ("nhwc", "nchw", "pooled",
                                                                  "back"))
        nodes += [
            helper.make_node("Squeeze", [node.input[0], axes], [nhwc]),
            helper.make_node("Transpose", [nhwc], [nchw], perm=[0, 3, 1, 2]),
            helper.make_node("MaxPool", [nchw], [pooled], kernel_shape=kernel[1:3],
                             strides=strides[1:3], pads=[pads[1], pads[2], pads[5], pads[6]],
                             dilations=dilations[1:3],
                             ceil_mode=attributes.get("ceil_mode", 0)),
            helper.make_node("Transpose", [pooled], [back], perm=[0, 2, 3, 1]),
            helper.make_node("Unsqueeze", [back, axes], list(node.output), name=name),
        ]
        rewritten += 1
    if rewritten:
        del proto.graph.node[:]
        proto.graph.node.extend(nodes)


def _captured_constants_as_weights(proto, inference: keras.Model) -> None:
    """Give the file back the constant tensors that tf2onnx turned into inputs, in place.

    On TensorFlow, Keras hands tf2onnx a traced function, and tf2onnx lists every tensor the
    function captures as an input of the file, constants included: a Normalization layer's
    mean and variance, which Keras keeps as tensors, not weights. ONNX Runtime then asks for
    them at every call. The same trace, repeated here, names each captured tensor and holds
    its value; each such input becomes a weight (an initializer) of the file."""
    extra = [value for value in proto.graph.input if value.name != "images"]
    if not extra:
        return
    import onnx
    import tensorflow as tf

    spec = tf.TensorSpec((None, *inference.input_shape[1:]), inference.inputs[0].dtype,
                         name="images")
    traced = tf.function(lambda images: inference(images)).get_concrete_function(spec)
    values = {inner.name: outer.numpy() for outer, inner in traced.graph.captures
              if outer.dtype != tf.resource}
    unknown = [value.name for value in extra if value.name not in values]
    if unknown:
        raise RuntimeError(f"the ONNX file asks for inputs besides the images ({unknown}) "
                           f"that are not constants of the model; it cannot run on images "
                           f"alone")
    for value in extra:
        dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
        proto.graph.initializer.append(onnx.numpy_helper.from_array(
            values[value.name].astype(dtype), value.name))
    images = [value for value in proto.graph.input if value.name == "images"]
    del proto.graph.input[:]
    proto.graph.input.extend(images)


def export(model: keras.Model, path: str | os.PathLike, *, overwrite: bool = False,
           batch_size: int | None = None, opset: int | None = None) -> Path:
    """Export `model` for inference to the ONNX file `path`, with Keras's own exporter.

    The file takes a batch of images of the model's input shape and dtype (uint8 for the
    course's models, which rescale inside) under the name "images": any number of them, or
    exactly `batch_size` where that is given (jax2onnx needs it for a model that resizes its
    images). A file at `path` that `export` did not write is refused unless `overwrite`; the
    new file is written under a temporary name and renamed, so an interrupted export leaves
    no half-written file."""
    reason = unavailable_reason()
    if reason:
        raise ModuleNotFoundError(reason)
    import onnx

    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"an ONNX file's name ends in .onnx, got {path.name!r}")
    if path.exists() and not overwrite and not _is_ours(path):
        raise FileExistsError(f"{path} exists and was not written by the course; choose "
                              f"another path, move that file, or pass overwrite=True")
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    inference = _inference_model(model)
    spec = keras.InputSpec(shape=(batch_size, *inference.input_shape[1:]),
                           dtype=inference.inputs[0].dtype, name="images")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        partial = Path(scratch) / path.name
        with warnings.catch_warnings():
            # Keras's patch of tf2onnx for NumPy 2 warns about np.object: nothing to act on.
            warnings.filterwarnings("ignore", category=FutureWarning)
            try:
                inference.export(str(partial), format="onnx", verbose=False,
                                 input_signature=[spec], opset_version=opset)
            except Exception as error:
                if type(error).__name__ != "InconclusiveDimensionOperation":
                    raise
                layer = re.search(r"calling (\w+)\.call", str(error))
                raise ValueError(
                    f"jax2onnx cannot export this model for any number of images at once: "
                    f"{layer.group(1) if layer else 'a layer'} needs the batch size as a "
                    f"number. Pass batch_size=1, or the batch size the file will be run "
                    f"with, for a file that takes exactly that many images") from error
        proto = onnx.load(str(partial))
        if environment.backend() == "tensorflow":
            _captured_constants_as_weights(proto, inference)
        _max_pool_in_2d(proto)
        onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props},
                                            MARK[0]: MARK[1]})
        onnx.checker.check_model(proto)
        onnx.save(proto, str(partial))
        os.replace(partial, path)
    return path


def session(path: str | os.PathLike):
    """An ONNX Runtime session on the CPU for the file `path`: what a server without Keras
    would load."""
    import onnxruntime

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ONNX file at {path}; export the model first")
    options = onnxruntime.SessionOptions()
    # Errors only: its warnings are about its own optimisations (an unused constant removed).
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_probabilities(runner, images: np.ndarray) -> np.ndarray:
    """The ONNX model's outputs for a batch of images; `runner` is a session or a file path.
    The images must already have the input's dtype when it is uint8: casting float pixels to
    uint8 would silently wrap or truncate them. A file exported for a fixed batch size gets
    the images that many at a time (the last batch padded with copies, their outputs dropped)."""
    if not hasattr(runner, "run"):
        runner = session(runner)
    first = runner.get_inputs()[0]
    dtype = INPUT_DTYPES.get(first.type)
    images = np.asarray(images)
    if dtype is None:
        raise ValueError(f"the ONNX model takes {first.type}, not uint8 or float images")
    if dtype == np.uint8 and images.dtype != np.uint8:
        raise ValueError(f"the ONNX model takes uint8 pixels (0-255), got {images.dtype}")
    images = images.astype(dtype, copy=False)
    fixed = first.shape[0] if isinstance(first.shape[0], int) else None
    if fixed is None or len(images) == fixed:
        return runner.run(None, {first.name: images})[0]
    outputs = []
    for start in range(0, len(images), fixed):
        batch = images[start:start + fixed]
        padded = np.concatenate([batch, np.repeat(batch[-1:], fixed - len(batch), axis=0)])
        outputs.append(runner.run(None, {first.name: padded})[0][:len(batch)])
    return np.concatenate(outputs)


@dataclass(frozen=True)
class Agreement:
    """How closely the ONNX file reproduces Keras on the same images: the largest absolute
    difference of any output, and the share of images whose top class is the same."""

    images: int
    max_abs_difference: float
    top_class_agreement: float

    def within(self, tolerance: float) -> bool:
        """Whether every output agrees within `tolerance` and every top class matches."""
        return self.max_abs_difference <= tolerance and self.top_class_agreement == 1.0


def compare(model: keras.Model, runner, images: np.ndarray) -> Agreement:
    """Keras's and ONNX Runtime's outputs on the same `images`, compared (`runner`: a session
    or an ONNX file)."""
    keras_out = keras.ops.convert_to_numpy(model.predict_on_batch(images)).astype(np.float64)
    onnx_out = onnx_probabilities(runner, images).astype(np.float64)
    if keras_out.shape != onnx_out.shape:
        raise ValueError(f"Keras gives outputs of shape {keras_out.shape}, the ONNX file "
                         f"{onnx_out.shape}: is it the same model?")
    return Agreement(len(images), float(np.abs(keras_out - onnx_out).max()),
                     float(np.mean(keras_out.argmax(-1) == onnx_out.argmax(-1))))


def _median_seconds(call, repeats: int) -> float:
    call()  # warm-up: the first call traces, compiles or allocates
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def side_by_side(model: keras.Model, keras_path: str | os.PathLike,
                 onnx_path: str | os.PathLike, images: np.ndarray, *,
                 batch_sizes: tuple[int, ...] = (1, 32), repeats: int = 5) -> pd.DataFrame:
    """The `.keras` file and the `.onnx` file compared: size on disk, and milliseconds per
    image (median of `repeats` timed calls after one warm-up) at each batch size, for Keras's
    `predict_on_batch` (on the backend's device, a GPU where there is one) and an ONNX Runtime
    session (on the CPU)."""
    if repeats < 1 or not batch_sizes or min(batch_sizes) < 1:
        raise ValueError("repeats and every batch size must be at least 1")
    if max(batch_sizes) > len(images):
        raise ValueError(f"a batch of {max(batch_sizes)} needs that many images, got "
                         f"{len(images)}")
    runner = session(onnx_path)
    runs = {f"Keras ({environment.backend()})": (keras_path, model.predict_on_batch),
            "ONNX Runtime": (onnx_path, lambda batch: onnx_probabilities(runner, batch))}
    rows = []
    for name, (path, predict) in runs.items():
        row = {"runtime": name, "file": Path(path).name,
               "size (MB)": round(Path(path).stat().st_size / 1e6, 3)}
        for size in batch_sizes:
            seconds = _median_seconds(functools.partial(predict, images[:size]), repeats)
            row[f"ms per image, batch {size}"] = round(1000 * seconds / size, 3)
        rows.append(row)
    return pd.DataFrame(rows).set_index("runtime")
