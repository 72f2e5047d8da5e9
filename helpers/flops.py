"""How much arithmetic one training step or one prediction costs, counted by the backend's own
compiler, so that a run can say how much work it did and how fast it did it (FLOP/s).

Under JAX the count is XLA's cost analysis of the lowered step; under TensorFlow it is
TensorFlow's own per-operation FLOP registry, summed over the operations the step runs. The two
conventions differ slightly: XLA leaves out the multiplications by a convolution's zero padding,
TensorFlow counts them. A multiply-add counts as two FLOPs in both."""

from __future__ import annotations

from collections.abc import Callable

import keras


class FlopCountUnavailable(RuntimeError):
    """The Keras backend in use has no cost analysis that this module reads."""


def _shapes(structure, make: Callable):
    """`make(shape, dtype)` for every array of `structure`: only shapes and types are needed."""
    return keras.tree.map_structure(
        lambda array: make(tuple(array.shape), keras.backend.standardize_dtype(array.dtype)),
        structure)


def _unavailable() -> FlopCountUnavailable:
    return FlopCountUnavailable(
        f"the {keras.backend.backend()} backend has no compiler cost analysis that "
        "helpers.flops can read: count FLOPs under JAX or TensorFlow (KERAS_BACKEND=jax or "
        "tensorflow); training itself is unaffected")


def train_step_flops(model: keras.Model, x, y) -> float:
    """FLOPs of one training step of the compiled `model` (forward pass, gradients, optimizer
    update, metrics) on a batch shaped like `x`, `y`. Nothing is trained."""
    if getattr(model, "optimizer", None) is None:
        raise ValueError("train_step_flops needs a compiled model: call model.compile(...) first")
    # The optimizer's and metrics' variables, which fit would create on its first batch.
    model._symbolic_build(data_batch=(x, y))
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        state = model._get_jax_state(trainable_variables=True, non_trainable_variables=True,
                                     optimizer_variables=True, metrics_variables=True)
        data = _shapes((x, y), jax.ShapeDtypeStruct)
        return _xla_flops(jax.jit(model.train_step).lower(state, data))
    if backend == "tensorflow":
        import tensorflow as tf

        step = tf.function(model.train_step)
        return _tensorflow_flops(step.get_concrete_function(_shapes((x, y), tf.TensorSpec)))
    raise _unavailable()


def inference_flops(model: keras.Model, x) -> float:
    """FLOPs of one prediction of `model` (inference mode) on a batch shaped like `x`."""
    if not model.built:
        raise ValueError("inference_flops needs a built model: call it on a batch first")
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        def predict(trainable, non_trainable, images):
            return model.stateless_call(trainable, non_trainable, images, training=False)[0]

        trainable = [variable.value for variable in model.trainable_variables]
        non_trainable = [variable.value for variable in model.non_trainable_variables]
        return _xla_flops(jax.jit(predict).lower(trainable, non_trainable,
                                                 _shapes(x, jax.ShapeDtypeStruct)))
    if backend == "tensorflow":
        import tensorflow as tf

        predict = tf.function(lambda images: model(images, training=False))
        return _tensorflow_flops(predict.get_concrete_function(_shapes(x, tf.TensorSpec)))
    raise _unavailable()


def training_flops(model: keras.Model, batch: tuple, steps: int) -> float | None:
    """FLOPs of `steps` training steps on batches shaped like `batch` = (x, y), or None where
    the backend cannot count them. A smaller last batch is counted as a full one."""
    try:
        return train_step_flops(model, *batch) * steps
    except FlopCountUnavailable:
        return None


def prediction_flops(model: keras.Model, x, count: int) -> float | None:
    """FLOPs of predicting `count` images with batches shaped like `x`, or None where the
    backend cannot count them."""
    try:
        return inference_flops(model, x) / len(x) * count
    except FlopCountUnavailable:
        return None


def _xla_flops(lowered) -> float:
    """The `flops` of XLA's cost analysis of a lowered (not yet compiled) computation."""
    cost = lowered.cost_analysis()
    if isinstance(cost, list | tuple):  # older JAX: one dict per device program
        cost = cost[0]
    if not cost or "flops" not in cost:
        raise _unavailable()
    return float(cost["flops"])


def _tensorflow_flops(function) -> float:
    """TensorFlow's registered FLOPs of every operation that a traced function's results or
    side effects (variable updates) depend on. The pruning matters: a gradient graph holds
    operations nobody uses (the gradient of the input images, say), which TensorFlow never runs."""
    from tensorflow.python.framework import ops  # TensorFlow's per-operation statistics

    graph = function.graph
    nodes = {node.name: node for node in graph.as_graph_def().node}
    wanted = [tensor.op.name for tensor in function.outputs]
    wanted += [op.name for op in graph.get_operations() if op.op_def.is_stateful]
    needed: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name not in needed:
            needed.add(name)
            wanted += [source.lstrip("^").split(":")[0] for source in nodes[name].input]
    total = 0
    for name in needed:
        try:
            total += ops.get_stats_for_node_def(graph, nodes[name], "flops").value or 0
        except ValueError:  # an operation whose shapes are unknown until it runs
            continue
    return float(total)
