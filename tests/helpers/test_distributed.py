"""Data parallelism on two logical CPU devices, under whichever backend this environment runs:
the same model code trains on two replicas, and both replicas hold the weights. On PyTorch,
where Keras's `fit` has no data parallelism, the same code trains on one device and says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from helpers.environment import backend

# Run in a child process: the devices must be split before the backend starts, and this test
# session's backend has long started.
SCRIPT = r"""
import json, os
import numpy as np
if os.environ["KERAS_BACKEND"] == "tensorflow":
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from helpers.modern import distributed, recipe, resnet

rng = np.random.default_rng(0)
images = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
labels = recipe.one_hot(rng.integers(0, 10, 64), 10)
plan = recipe.Recipe(epochs=2, batch_size=16)
with distributed.data_parallel() as replicas:
    model = resnet.resnet9(*resnet.channel_statistics(images), width=4, seed=0)
    plan.compile(model, steps_per_epoch=4)
    history = model.fit(images, labels, batch_size=16, epochs=2, verbose=0)
kernel = model.weights[0].value
if os.environ["KERAS_BACKEND"] == "jax":
    holders = len(kernel.sharding.device_set)
elif os.environ["KERAS_BACKEND"] == "tensorflow":
    holders = len(kernel.values)
else:  # torch: one tensor on one device
    holders = 1 if kernel.device.type in ("cpu", "cuda") else 0
print(json.dumps({"replicas": replicas, "holders": holders, "loss": history.history["loss"],
                  "steps": int(model.optimizer.iterations.numpy())}))
"""


def test_two_replicas_train_one_model():
    env = {**os.environ, "KERAS_BACKEND": backend(),
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    replicas = 1 if backend() == "torch" else 2
    if backend() == "torch":
        assert "no data parallelism on PyTorch" in done.stdout
    assert result["replicas"] == replicas
    assert result["holders"] == replicas
    assert result["steps"] == 8  # 2 epochs of 64 images in batches of 16 (each split in two)
    assert all(0 < loss < 10 for loss in result["loss"])
