"""Data parallelism: one model, copied to every device, each copy training on its share of
every batch, the gradients averaged across copies after each step. The same model code runs on
one GPU, several GPUs, or a TPU; only the block it is built in changes with the backend."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras

from helpers.environment import accelerators, backend

TORCH_NOTICE = ("Keras's fit has no data parallelism on PyTorch: the model trains on one "
                "device (for several GPUs, a loop around torch's DistributedDataParallel)")


@contextlib.contextmanager
def data_parallel() -> Iterator[int]:
    """Build, compile and fit a model inside this block to train it on all the machine's
    accelerators (or, with none, all its logical CPU devices); yields how many there are.

    TensorFlow: a `tf.distribute.MirroredStrategy` scope, which makes every variable a mirror
    kept in step on each device. JAX: `keras.distribution.DataParallel`, which replicates the
    variables and splits each batch across devices (the batch size must divide evenly).
    PyTorch: Keras offers no data parallelism for `fit` there (`keras.distribution` has no
    PyTorch implementation: keras/src/backend/__init__.py), so the block trains on one
    device, the first GPU or the CPU, yields 1 and says so. Several GPUs under PyTorch take
    a training loop of one's own around `torch.nn.parallel.DistributedDataParallel`, one
    process per GPU (keras-team/keras, examples/demo_torch_multi_gpu.py)."""
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([device.name for device in devices])
        with strategy.scope():
            yield strategy.num_replicas_in_sync
    elif name == "jax":
        devices = keras.distribution.list_devices()
        previous = keras.distribution.distribution()
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        try:
            yield len(devices)
        finally:
            keras.distribution.set_distribution(previous)
    elif name == "torch":
        print(f"{TORCH_NOTICE}. GPUs here: {len(accelerators())}.")
        yield 1
    else:
        raise NotImplementedError(f"data_parallel() knows the tensorflow, jax and torch "
                                  f"backends, not {name!r}: set KERAS_BACKEND to one of them")
