"""How much arithmetic one training step or one prediction costs, counted by the backend's own
compiler, so that a run can say how much work it did and how fast it did it (FLOP/s).

Under JAX the count is XLA's cost analysis of the lowered step; under TensorFlow it is
TensorFlow's own per-operation FLOP registry, summed over the operations the step runs. The two
conventions differ slightly: XLA leaves out the multiplications by a convolution's zero padding,
TensorFlow counts them. A multiply-add counts as two FLOPs in both.

Under PyTorch, which Keras runs eagerly with no compiler to ask, the count is PyTorch's own
`torch.utils.flop_counter.FlopCounterMode` over one step run on zeros: it counts matrix
products and convolutions (forward and backward) and nothing else, so a bias, an activation or
the optimizer's update adds nothing. For a CNN these are a small part; the count is a little
lower than the other two backends' for the same model."""

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
        f"helpers.flops cannot count FLOPs on the {keras.backend.backend()} backend: count "
        "them under JAX, TensorFlow or PyTorch (KERAS_BACKEND=jax, tensorflow or torch); "
        "training itself is unaffected")


def _zeros(structure):
    """Arrays of zeros shaped like `structure`'s, on the backend (for a counted run)."""
    return _shapes(structure, lambda shape, dtype: keras.ops.zeros(shape, dtype))


def _torch_flops(run: Callable[[], object], model: keras.Model) -> float:
    """PyTorch's count of the matrix products and convolutions that `run()` executes. The
    model's variables (batch-normalisation statistics, random generators' states) are put back
    afterwards, so that counting changes nothing."""
    from torch.utils.flop_counter import FlopCounterMode

    saved = [keras.ops.convert_to_numpy(variable.value) for variable in model.variables]
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            run()
    finally:
        for variable, value in zip(model.variables, saved, strict=True):
            variable.assign(value)
    return float(counter.get_total_flops())


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
    if backend == "torch":
        import torch

        images, targets = _zeros((x, y))

        def step() -> None:  # the forward pass and the weights' gradients; no update
            loss = model.compute_loss(x=images, y=targets,
                                      y_pred=model(images, training=True), training=True)
            torch.autograd.grad(loss, [variable.value for variable in model.trainable_variables])

        return _torch_flops(step, model)
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
    if backend == "torch":
        import torch

        images = _zeros(x)

        def predict() -> None:
            with torch.no_grad():
                model(images, training=False)

        return _torch_flops(predict, model)
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
