"""ResNet-9, its on-device augmentation, the training recipe and the speed measurements
(helpers.modern.augment, resnet, recipe, speed, distributed's neighbours), on tiny data."""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import pytest

from helpers import training
from helpers.modern import augment, fast, peaks, recipe, resnet, speed

# PyTorch has no XLA: the recipes' compile turns jit_compile=True off there, with a notice.
XLA = keras.backend.backend() != "torch"


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)


def windows_of(padded: np.ndarray, shifted: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Every (row, column) offset at which `shifted` is a window of `padded`."""
    span = padded.shape[0] - size + 1
    return [(i, j) for i in range(span) for j in range(span)
            if np.array_equal(padded[i:i + size, j:j + size], shifted)]


def test_pad_crop_shifts_each_image_by_its_own_offset(images):
    layer = augment.RandomPadCrop(4, seed=3)
    shifted = keras.ops.convert_to_numpy(layer(images.astype("float32"), training=True))
    padded = np.pad(images, [(0, 0), (4, 4), (4, 4), (0, 0)], mode="reflect")
    offsets = [windows_of(padded[k], shifted[k], 32) for k in range(len(images))]
    assert all(offsets), "every output is a 32x32 window of its mirrored-padded image"
    assert len({tuple(found) for found in offsets}) > 10, "offsets differ from image to image"


def test_pad_crop_is_the_identity_outside_training(images):
    layer = augment.RandomPadCrop(4)
    assert np.array_equal(keras.ops.convert_to_numpy(layer(images.astype("float32"))), images)


@pytest.mark.parametrize("padding", [0, -1, 2.5, True])
def test_pad_crop_refuses_a_bad_padding(padding):
    with pytest.raises(ValueError, match="padding must be a positive int"):
        augment.RandomPadCrop(padding)


def test_cutout_masks_one_whole_square_per_image_at_its_own_place():
    ones = np.ones((64, 32, 32, 3), "float32")
    cut = keras.ops.convert_to_numpy(augment.RandomCutout(8, seed=1)(ones, training=True))
    corners = set()
    for image in cut:
        rows, cols = np.nonzero(image[..., 0] == 0)
        assert len(rows) == 64, "exactly 8 x 8 pixels masked, the square wholly inside"
        top, left = rows.min(), cols.min()
        assert rows.max() - top == 7 and cols.max() - left == 7
        assert (image[top:top + 8, left:left + 8] == 0).all()
        corners.add((top, left))
    assert len(corners) > 20, "each image has its own square"
    assert np.array_equal(keras.ops.convert_to_numpy(augment.RandomCutout(8)(ones)), ones)


@pytest.mark.parametrize("size", [0, -2, 3.5, False])
def test_cutout_refuses_a_bad_size(size):
    with pytest.raises(ValueError, match="size must be a positive int"):
        augment.RandomCutout(size)


def test_cutout_larger_than_the_image_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        augment.RandomCutout(40)(np.ones((2, 32, 32, 3), "float32"), training=True)


def test_resnet9_with_cutout_trains_compiled_and_saves(images, tmp_path):
    model = resnet.resnet9(*resnet.channel_statistics(images), width=4, cutout=8, seed=0)
    assert isinstance(model.get_layer("cutout"), augment.RandomCutout)
    recipe.PAGE_24.compile(model, steps_per_epoch=2, jit_compile=True)
    history = model.fit(images, recipe.one_hot(np.arange(64) % 10, 10), batch_size=32,
                        epochs=1, verbose=0)
    assert model.jit_compile is XLA and np.isfinite(history.history["loss"][0])
    model.save(tmp_path / "page.keras")
    again = keras.models.load_model(tmp_path / "page.keras")
    assert isinstance(again.optimizer, recipe.SGDWithL2) and again.optimizer.l2 == 5e-4
    assert again.get_layer("cutout").size == 8


def test_resnet9_keeps_xla_where_keras_translation_switches_it_off(images):
    model = resnet.resnet9(*resnet.channel_statistics(images), width=4, seed=0)
    recipe.Recipe().compile(model, steps_per_epoch=4, jit_compile=True)
    assert model.jit_compile is XLA
    translated = keras.Sequential([keras.Input((32, 32, 3)),
                                   keras.layers.RandomTranslation(0.1, 0.1),
                                   keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.warns(UserWarning, match="jit_compile"):
        translated.compile("sgd", "mse", jit_compile=True)
    assert translated.jit_compile is False


def test_resnet9_shape_parameters_and_saving(images, tmp_path):
    mean, variance = resnet.channel_statistics(images)
    model = resnet.resnet9(mean, variance, seed=0)
    # Page's ResNet-9 at width 64: 6,568,640 convolution and dense weights and 4,480 BatchNorm
    # scales and shifts are trained; BatchNorm's 4,480 moving statistics are counted too.
    assert sum(keras.ops.size(w) for w in model.trainable_weights) == 6_568_640 + 4_480
    assert model.count_params() == 6_568_640 + 2 * 4_480
    small = resnet.resnet9(mean, variance, width=4, seed=0)
    logits = keras.ops.convert_to_numpy(small.predict(images[:5], verbose=0))
    assert logits.shape == (5, 10) and logits.dtype == np.float32
    small.save(tmp_path / "resnet9.keras")
    again = keras.models.load_model(tmp_path / "resnet9.keras")
    np.testing.assert_allclose(again.predict(images[:5], verbose=0), logits, atol=1e-5)


def test_resnet9_refuses_a_bad_width(images):
    with pytest.raises(ValueError, match="width must be a positive int"):
        resnet.resnet9(*resnet.channel_statistics(images), width=0)


def test_channel_statistics_per_channel(images):
    mean, variance = resnet.channel_statistics(images)
    np.testing.assert_allclose(mean, images.reshape(-1, 3).mean(axis=0))
    np.testing.assert_allclose(variance, images.reshape(-1, 3).var(axis=0))
    with pytest.raises(ValueError, match="non-empty batch"):
        resnet.channel_statistics(images[:0])


def test_schedule_warms_up_then_decays_to_zero():
    plan = recipe.Recipe(epochs=10, warmup_fraction=0.2, peak_learning_rate=0.4)
    schedule = plan.learning_rate(steps_per_epoch=100)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 100, 200, 600,
                                                                              1000)]
    assert rates[0] == 0.0
    assert math.isclose(rates[1], 0.2, rel_tol=1e-5)  # halfway up the linear warm-up
    assert math.isclose(rates[2], 0.4, rel_tol=1e-5)  # the peak
    assert math.isclose(rates[3], 0.2, rel_tol=1e-5)  # halfway down the cosine
    assert rates[4] == pytest.approx(0.0, abs=1e-7)
    assert recipe.Recipe(schedule="constant", peak_learning_rate=1e-3).learning_rate(5) == 1e-3


def test_page_24_is_his_recipe():
    page = recipe.PAGE_24
    assert (page.epochs, page.batch_size, page.optimizer, page.decay) == (24, 512, "sgd", "l2")
    assert (page.weight_decay, page.label_smoothing, page.cutout) == (5e-4, 0.0, 8)
    schedule = page.learning_rate(steps_per_epoch=10)
    assert isinstance(schedule, recipe.PiecewiseLinear)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 25, 50, 145, 240)]
    assert rates == pytest.approx([0.0, 0.2, 0.4, 0.2, 0.0], abs=1e-6)  # linear up and down
    assert isinstance(page.make_optimizer(10), recipe.SGDWithL2)
    short = dataclasses.replace(page, epochs=1).learning_rate(steps_per_epoch=2)  # no warm-up
    assert [float(keras.ops.convert_to_numpy(short(step))) for step in (0, 1, 2)] == (
        pytest.approx([0.4, 0.2, 0.0]))


def one_step_of(optimizer) -> float:
    """A weight of 1 after one step of `optimizer` on a loss whose own gradient is 0."""
    model = keras.Sequential([keras.Input((1,)),
                              keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.zeros((4, 1), "float32"), np.zeros((4, 1), "float32"), batch_size=4, verbose=0)
    return float(keras.ops.convert_to_numpy(model.weights[0])[0, 0])


def test_l2_goes_through_the_momentum_and_decoupled_decay_does_not():
    # L2: the gradient becomes 0.1 * w, and Nesterov's step is lr * (1 + momentum) times it.
    coupled = recipe.SGDWithL2(1.0, momentum=0.9, nesterov=True, l2=0.1)
    assert one_step_of(coupled) == pytest.approx(1 - 0.1 * 1.9)
    # Decoupled: the weight shrinks by lr * 0.1 once; the momentum never sees it.
    decoupled = keras.optimizers.SGD(1.0, momentum=0.9, nesterov=True, weight_decay=0.1)
    assert one_step_of(decoupled) == pytest.approx(0.9)


def test_weight_decay_spares_batchnorm(images):
    model = resnet.resnet9(*resnet.channel_statistics(images), width=4, seed=0)
    plan = recipe.Recipe(epochs=1, batch_size=32, peak_learning_rate=0.0001, label_smoothing=0)
    plan.compile(model, steps_per_epoch=2)
    before = {v.path: keras.ops.convert_to_numpy(v) for v in model.trainable_weights}
    model.fit(images, recipe.one_hot(np.arange(64) % 10, 10), batch_size=32, verbose=0)
    optimizer = model.optimizer
    decayed = [v.path for v in model.trainable_weights if optimizer._use_weight_decay(v)]
    assert decayed and all("gamma" not in path and "beta" not in path for path in decayed)
    assert any(not np.array_equal(before[v.path], keras.ops.convert_to_numpy(v))
               for v in model.trainable_weights)


def test_piecewise_linear_holds_its_last_rate_and_refuses_bad_points():
    schedule = recipe.PiecewiseLinear([0, 10, 30], [0.2, 1.0, 0.1])
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 5, 10, 20, 30, 99)]
    assert rates == pytest.approx([0.2, 0.6, 1.0, 0.55, 0.1, 0.1])
    with pytest.raises(ValueError, match="start at 0 and increase"):
        recipe.PiecewiseLinear([0, 5, 5], [0, 1, 0])
    with pytest.raises(ValueError, match="as many rates as steps"):
        recipe.PiecewiseLinear([0, 5], [0.0])


@pytest.mark.parametrize("change", [{"optimizer": "lamb"}, {"schedule": "step"},
                                    {"epochs": 0}, {"batch_size": 2.0},
                                    {"label_smoothing": 1.0}, {"peak_learning_rate": 0},
                                    {"warmup_fraction": 1.0}, {"decay": "coupled"},
                                    {"optimizer": "adam", "decay": "l2"}, {"cutout": -1},
                                    {"cutout": 2.0}])
def test_recipe_refuses_bad_ingredients(change):
    with pytest.raises(ValueError):
        dataclasses.replace(recipe.Recipe(), **change)


def test_label_smoothing_needs_one_hot_rows():
    rows = recipe.one_hot(np.array([2, 0]), 3)
    assert rows.dtype == np.float32 and rows.tolist() == [[0, 0, 1], [1, 0, 0]]


def test_flip_averaging_is_the_mean_of_both_views(images):
    model = resnet.resnet9(*resnet.channel_statistics(images), width=4, seed=0)
    plain = recipe.predict_with_flips(model, images[:6], flips=False)
    mirrored = recipe.predict_with_flips(model, images[:6, :, ::-1].copy(), flips=False)
    both = recipe.predict_with_flips(model, images[:6])
    np.testing.assert_allclose(plain.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(both, (plain + mirrored) / 2, rtol=1e-4, atol=1e-6)


def test_epoch_clock_and_images_per_second(images):
    model = resnet.resnet9(*resnet.channel_statistics(images), width=4, seed=0)
    recipe.Recipe(batch_size=16).compile(model, steps_per_epoch=2)
    labels = recipe.one_hot(np.arange(64) % 10, 10)
    first, rate = speed.images_per_second(model, images, labels, batch_size=16, steps=2)
    assert first > 0 and rate > 0
    flip = keras.layers.RandomFlip("horizontal", seed=0)
    _, piped = speed.images_per_second(model, images, labels, batch_size=16, steps=2,
                                       host_augment=flip)
    assert piped > 0
    clock = training.EpochClock()
    model.fit(images, labels, batch_size=16, epochs=3, validation_data=(images, labels),
              callbacks=[clock], verbose=0)
    assert len(clock.seconds) == 3 and all(s > 0 for s in clock.seconds)
    assert clock.training_seconds == pytest.approx(sum(clock.seconds))
    assert clock.compile_seconds >= 0
    with pytest.raises(ValueError, match="need 320 images"):
        speed.images_per_second(model, images, labels, batch_size=16, steps=20)


@pytest.mark.parametrize(("device", "policy", "peak"), [
    ("Tesla T4", "mixed_float16", 65.0), ("Tesla T4", "float32", 8.1),
    ("NVIDIA L4", "mixed_bfloat16", 121.0), ("NVIDIA L40S", "mixed_bfloat16", None),
    ("NVIDIA A100-SXM4-40GB", "float32", 156.0), ("NVIDIA H100 80GB HBM3", "mixed_bfloat16", 989.4),
    ("NVIDIA H100 PCIe", "mixed_bfloat16", 756.0), ("NVIDIA H200", "float32", 494.7),
    ("TPU v5 lite", "mixed_bfloat16", 197.0), ("TPU v5 lite", "float32", None),
    ("TPU v6 lite", "mixed_bfloat16", 918.0),
    ("cpu", "float32", None),
])
def test_the_peak_table_knows_common_accelerators_and_no_others(device, policy, peak):
    assert peaks.peak_tflops(device, policy) == peak


def colour_coded(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """32x32 noisy images whose class sets their colour: a task a tiny ResNet-9 can learn in a
    few epochs whatever the flips, shifts and cut-out squares."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count)
    colours = np.stack([labels * 25, (9 - labels) * 25, (labels % 2) * 200], axis=1)
    noise = rng.normal(0, 40, (count, 32, 32, 3))
    return np.clip(colours[:, None, None, :] + noise, 0, 255).astype(np.uint8), labels


@pytest.mark.parametrize("name", ["page24", "notebook"])
def test_each_recipe_learns_a_toy_task(name):
    plan = dataclasses.replace({"page24": recipe.PAGE_24, "notebook": recipe.Recipe()}[name],
                               epochs=8, batch_size=50)
    x_train, y_train = colour_coded(600, seed=0)
    x_test, y_test = colour_coded(200, seed=1)
    keras.utils.set_random_seed(0)
    model = resnet.resnet9(*resnet.channel_statistics(x_train), width=4, cutout=plan.cutout,
                           seed=0)
    plan.compile(model, steps_per_epoch=12)
    model.fit(x_train, recipe.one_hot(y_train, 10), batch_size=plan.batch_size,
              epochs=plan.epochs, verbose=0)
    accuracy = np.mean(recipe.predict_with_flips(model, x_test, flips=False).argmax(1) == y_test)
    assert accuracy > 0.8, f"{name}: {accuracy:.2f} on a task where chance is 0.10"


def test_the_recipe_builds_the_plain_keras_optimiser_notebook_08_writes_out():
    steps = 24 * 80
    warmup = round(5 / 24 * steps)
    schedule = keras.optimizers.schedules.CosineDecay(0.0, decay_steps=steps - warmup,
                                                      warmup_target=0.4, warmup_steps=warmup)
    plain = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True, weight_decay=5e-3)
    wrapped = recipe.Recipe().make_optimizer(steps_per_epoch=80)

    def settings(optimizer):
        return {key: value for key, value in optimizer.get_config().items() if key != "name"}

    assert type(wrapped) is type(plain) and settings(wrapped) == settings(plain)


def test_the_fast_recipe_learns_a_toy_task():
    plan = dataclasses.replace(fast.FastRecipe(), epochs=8, batch_size=50, whitening_images=600)
    x_train, y_train = colour_coded(600, seed=0)
    x_test, y_test = colour_coded(200, seed=1)
    keras.utils.set_random_seed(0)
    model = plan.build(x_train, width_scale=1 / 8, seed=0)
    plan.compile(model, steps_per_epoch=plan.steps_per_epoch(len(x_train)))
    plan.fit(model, x_train, recipe.one_hot(y_train, 10))
    accuracy = np.mean(fast.predict_with_flips_and_shifts(model, x_test).argmax(1) == y_test)
    assert accuracy > 0.8, f"{accuracy:.2f} on a task where chance is 0.10"


def test_whitening_kernel_whitens_the_patches():
    images = np.random.default_rng(0).normal(size=(200, 8, 8, 3)).astype(np.float32)
    images[..., 1] += images[..., 0]  # correlated channels, which whitening undoes
    kernel = fast.whitening_kernel(images, size=2, eps=0.0)
    assert kernel.shape == (2, 2, 3, 24)
    np.testing.assert_allclose(kernel[..., 12:], -kernel[..., :12])  # both signs
    patches = np.lib.stride_tricks.sliding_window_view(images, (2, 2), axis=(1, 2))
    patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 12)
    whitened = patches @ kernel[..., :12].reshape(12, 12)
    np.testing.assert_allclose(np.cov(whitened, rowvar=False, bias=True), np.eye(12), atol=0.02)


def test_identity_start_passes_its_channels_through():
    kernel = keras.ops.convert_to_numpy(fast.IdentityStart()((3, 3, 4, 6)))
    for channel in range(4):
        expected = np.zeros((3, 3, 4))
        expected[1, 1, channel] = 1
        np.testing.assert_array_equal(kernel[..., channel], expected)
    assert np.abs(kernel[..., 4:]).max() <= 1 / np.sqrt(36) + 1e-6 and kernel[..., 4:].std() > 0


def test_shift_scale_multiplies_only_batchnorm_shifts():
    def after_one_step(shift_scale: float) -> tuple[np.ndarray, np.ndarray]:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, use_bias=False),
                                  keras.layers.BatchNormalization(scale=False)])
        before = keras.ops.convert_to_numpy(model.layers[0].kernel)
        model.compile(optimizer=recipe.SGDWithL2(0.1, shift_scale=shift_scale), loss="mse")
        x = np.random.default_rng(0).normal(size=(8, 2)).astype("float32")
        model.fit(x, np.ones((8, 2), "float32"), batch_size=8, epochs=1, verbose=0)
        return (keras.ops.convert_to_numpy(model.layers[1].beta),
                keras.ops.convert_to_numpy(model.layers[0].kernel) - before)

    beta, kernel_step = after_one_step(1.0)
    scaled_beta, scaled_kernel_step = after_one_step(64.0)
    np.testing.assert_allclose(scaled_beta, 64 * beta, rtol=1e-4)  # BatchNorm's shift: x 64
    np.testing.assert_allclose(scaled_kernel_step, kernel_step, rtol=1e-4)  # the rest: as is
    assert np.abs(beta).min() > 0


def test_alternating_flips_show_each_image_both_ways_over_two_epochs():
    images = np.random.default_rng(0).integers(0, 256, (40, 4, 4, 3), dtype=np.uint8)
    layer = fast.AlternatingFlip()
    seen = []
    for epoch in (0, 1, 2):
        layer(images[:1])  # built
        layer.epoch.assign(epoch)
        out = keras.ops.convert_to_numpy(layer(images, training=True))
        flipped = [not np.array_equal(o, i) for o, i in zip(out, images, strict=True)]
        assert all(np.array_equal(o, i[:, ::-1]) for o, i, f in
                   zip(out, images, flipped, strict=True) if f)
        seen.append(flipped)
    assert all(a != b for a, b in zip(seen[0], seen[1], strict=True)), "both ways in 2 epochs"
    assert seen[0] == seen[2] and 8 < sum(seen[0]) < 32, "a fixed half flipped first"
    assert np.array_equal(keras.ops.convert_to_numpy(layer(images)), images)  # not in inference


def test_the_epoch_reaches_the_flips_and_lookahead_its_weights_on_every_backend():
    model = fast.fast_net(np.full(3, 127.0), np.full(3, 5000.0), widths=(4, 4, 4), seed=0)
    model.compile("sgd", keras.losses.CategoricalCrossentropy(from_logits=True))
    images = np.random.default_rng(0).integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    labels = recipe.one_hot(np.arange(32) % 10, 10)
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]

    class NoLookingAhead(fast.Lookahead):  # the average never moves: weights stay as they were
        def decay(self, step):
            return 1.0

    model.fit(images, labels, batch_size=16, epochs=3, verbose=0,
              callbacks=[NoLookingAhead(total_steps=6, every=1), fast.EpochToFlips()])
    assert int(keras.ops.convert_to_numpy(model.get_layer("alternating_flip").epoch)) == 2
    for old, new in zip(before, model.trainable_weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(new), old, atol=1e-6)
