"""Transfer learning's helpers: class splits, few-label subsets, frozen and fine-tuned backbones,
ImageNet preprocessing, failed weight downloads, and the saved model with its card."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import transfer
from helpers.data import Splits
from helpers.deploy import model_card
from helpers.modern import resnet
from helpers.transfer import pretrained

CLASSES = ("a", "b", "c", "d")


def tiny_splits(per_class: int = 6) -> Splits:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    images = rng.integers(0, 256, (len(labels), 8, 8, 3), dtype=np.uint8)
    return Splits(images, labels, images[:8], labels[:8], images[-8:], labels[-8:], CLASSES,
                  "synthetic")


def small_transfer_model(base: keras.Model, **options) -> keras.Model:
    model = transfer.transfer_model(base, keras.layers.Rescaling(1 / 255), num_classes=2,
                                    image_shape=(8, 8, 3), augment=False, seed=0, **options)
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    return model


def test_split_by_class_renumbers_disjoint_tasks() -> None:
    splits = tiny_splits()
    source, target = transfer.split_by_class(splits, ["a", "c"])
    assert source.class_names == ("a", "c") and target.class_names == ("b", "d")
    assert sorted(set(source.y_train)) == [0, 1] and sorted(set(target.y_train)) == [0, 1]
    # Every source image is one of class a or c in the original labels, in the same order.
    original = np.isin(splits.y_train, [0, 2])
    np.testing.assert_array_equal(source.x_train, splits.x_train[original])
    np.testing.assert_array_equal(source.y_train, (splits.y_train[original] == 2).astype(int))
    assert len(source.y_train) + len(target.y_train) == len(splits.y_train)
    assert "classes a, c" in source.source


@pytest.mark.parametrize("names", [["a", "zebra"], [], list(CLASSES)])
def test_split_by_class_refuses_unknown_none_or_all(names: list[str]) -> None:
    with pytest.raises(ValueError, match="unknown classes|some of the classes"):
        transfer.split_by_class(tiny_splits(), names)


def test_per_class_subset_counts_and_seed() -> None:
    splits = tiny_splits()
    x, y = transfer.per_class_subset(splits.x_train, splits.y_train, 2, seed=3)
    assert np.bincount(y).tolist() == [2, 2, 2, 2]
    x_again, _ = transfer.per_class_subset(splits.x_train, splits.y_train, 2, seed=3)
    np.testing.assert_array_equal(x, x_again)
    everything = transfer.per_class_subset(splits.x_train, splits.y_train, None, seed=3)
    assert len(everything[1]) == len(splits.y_train)
    with pytest.raises(ValueError, match="exceeds the 6 images"):
        transfer.per_class_subset(splits.x_train, splits.y_train, 7, seed=3)
    with pytest.raises(ValueError, match="positive int"):
        transfer.per_class_subset(splits.x_train, splits.y_train, 0, seed=3)


def test_frozen_base_does_not_change_while_the_head_trains() -> None:
    keras.utils.set_random_seed(0)
    base = resnet.resnet9_features(2)
    base.trainable = False
    model = small_transfer_model(base)
    before = [keras.ops.convert_to_numpy(w) for w in base.weights]
    head = model.get_layer("logits").kernel
    head_before = keras.ops.convert_to_numpy(head)
    splits = tiny_splits()
    model.fit(splits.x_train, splits.y_train % 2, epochs=2, batch_size=8, verbose=0)
    after = [keras.ops.convert_to_numpy(w) for w in base.weights]
    assert all(np.array_equal(b, a) for b, a in zip(before, after, strict=True))
    assert not np.allclose(head_before, keras.ops.convert_to_numpy(head))


def test_a_head_trained_on_features_computed_once_is_the_models_own_head() -> None:
    keras.utils.set_random_seed(0)
    base = resnet.resnet9_features(2)
    base.trainable = False
    model = transfer.transfer_model(base, keras.layers.Rescaling(1 / 255), num_classes=2,
                                    image_shape=(8, 8, 3), augment=False, seed=0)
    features, head = transfer.split_at_head(model)
    splits = tiny_splits()
    pooled = features.predict(splits.x_train, verbose=0)
    assert pooled.shape == (len(splits.x_train), base.output.shape[-1])
    head.compile(optimizer=keras.optimizers.Adam(0.1), loss=keras.losses.
                 SparseCategoricalCrossentropy(from_logits=True))
    kernel_before = keras.ops.convert_to_numpy(model.get_layer("logits").kernel)
    head.fit(pooled, splits.y_train % 2, epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(kernel_before, keras.ops.convert_to_numpy(
        model.get_layer("logits").kernel)), "training the head trains the model's head"
    np.testing.assert_allclose(model.predict(splits.x_test, verbose=0),
                               head.predict(features.predict(splits.x_test, verbose=0),
                                            verbose=0), rtol=1e-5, atol=1e-5)


def test_unfreeze_top_trains_the_last_layers_and_keeps_batchnorm_frozen() -> None:
    base = resnet.resnet9_features(2)
    count = transfer.unfreeze_top(base, 4)
    unfrozen = [layer for layer in base.layers if layer.trainable and layer.weights]
    assert unfrozen and all(layer in base.layers[-4:] for layer in unfrozen)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in unfrozen)
    assert count == sum(int(np.prod(w.shape)) for w in base.trainable_weights) > 0
    assert transfer.unfreeze_top(base, 0) == 0
    with pytest.raises(ValueError, match="count must be"):
        transfer.unfreeze_top(base, len(base.layers) + 1)


@pytest.mark.parametrize("frozen_batchnorm", [True, False])
def test_fine_tuning_keeps_batchnorm_statistics_only_while_its_layers_are_frozen(
        frozen_batchnorm: bool) -> None:
    """Freezing alone must hold BatchNorm in inference mode: the backbone is called with
    training=None here, so `fit`'s training=True reaches it."""
    keras.utils.set_random_seed(0)
    base = resnet.resnet9_features(2)
    if frozen_batchnorm:
        transfer.unfreeze_top(base, len(base.layers))
    else:
        base.trainable = True  # the naive way: everything trains, BatchNorm included
    model = small_transfer_model(base, base_training=None)
    norm = next(layer for layer in base.layers
                if isinstance(layer, keras.layers.BatchNormalization))
    before = keras.ops.convert_to_numpy(norm.moving_mean)
    splits = tiny_splits()
    model.fit(splits.x_train, splits.y_train % 2, epochs=1, batch_size=8, verbose=0)
    moved = not np.allclose(before, keras.ops.convert_to_numpy(norm.moving_mean))
    assert moved != frozen_batchnorm


def test_transfer_model_resizes_inside_the_model() -> None:
    base = resnet.resnet9_features(2)
    model = transfer.transfer_model(base, keras.layers.Rescaling(1 / 255), num_classes=3,
                                    input_size=16, image_shape=(8, 8, 3))
    assert model.get_layer("resize_to_16").output.shape[1:3] == (16, 16)
    assert model.predict(tiny_splits().x_test, verbose=0).shape == (8, 3)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_imagenet_preprocessing_layer_matches_keras_applications(mode: str) -> None:
    images = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype("float32")
    expected = keras.applications.imagenet_utils.preprocess_input(images.copy(), mode=mode)
    got = keras.ops.convert_to_numpy(pretrained.ImageNetPreprocessing(mode)(images))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_imagenet_preprocessing_none_and_bad_mode() -> None:
    images = np.full((1, 2, 2, 3), 7, np.uint8)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(pretrained.ImageNetPreprocessing("none")(images)), 7.0)
    with pytest.raises(ValueError, match="mode must be one of"):
        pretrained.ImageNetPreprocessing("bgr")


def test_backbones_build_without_weights_and_names_are_checked() -> None:
    base = pretrained.load_backbone("vgg16", weights=None)
    assert base.count_params() == 14_714_688  # VGG16's convolutions, as Keras documents
    with pytest.raises(ValueError, match="unknown backbone 'vgg61'; choose from vgg16"):
        pretrained.load_backbone("vgg61", weights=None)
    with pytest.raises(ValueError, match="weights must be"):
        pretrained.load_backbone("vgg16", weights="imagenet21k")
    with pytest.raises(ValueError, match="WEIGHTS must be one of"):
        pretrained.choose_weights("yes", "vgg16")
    assert pretrained.choose_weights("offline", "vgg16")[0] == "offline"


# Run in a fresh interpreter: Keras reads KERAS_HOME once, at import.
DOWNLOAD_SCRIPT = textwrap.dedent("""
    import json, sys, urllib.error
    from keras.src.utils import file_utils
    from helpers.transfer import pretrained

    def unreachable(url, target, progress=None):
        raise urllib.error.URLError("no route to host")

    def truncated(url, target, progress=None):
        with open(target, "wb") as file:
            file.write(b"half a weights file")

    file_utils.urlretrieve = unreachable if sys.argv[1] == "offline" else truncated
    outcome = {}
    try:
        pretrained.load_backbone("vgg16")
    except pretrained.WeightsUnavailableError as error:
        outcome["error"] = str(error)
    outcome["auto"] = pretrained.choose_weights("auto", "vgg16")
    print(json.dumps(outcome))
""")


@pytest.mark.parametrize("failure", ["offline", "corrupt"])
def test_failed_download_is_loud_and_leaves_no_broken_file(tmp_path: Path, failure: str) -> None:
    keras_home = tmp_path / "keras-home"
    (keras_home / "models").mkdir(parents=True)
    someone_elses = keras_home / "models" / "mine.h5"
    someone_elses.write_bytes(b"not the course's")
    environment = {**os.environ, "KERAS_HOME": str(keras_home)}
    result = subprocess.run([sys.executable, "-c", DOWNLOAD_SCRIPT, failure], env=environment,
                            capture_output=True, text=True, timeout=300, check=True)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert "could not load ImageNet weights for VGG16" in outcome["error"]
    assert "WEIGHTS = 'offline'" in outcome["error"]
    mode, reason = outcome["auto"]
    assert mode == "offline" and ("no route" in reason or "corrupted" in reason)
    assert sorted(p.name for p in (keras_home / "models").iterdir()) == ["mine.h5"]
    assert someone_elses.read_bytes() == b"not the course's"


def card_for(classes: tuple[str, ...]) -> dict:
    return {"class_names": list(classes), "image_shape": [8, 8, 3], "outputs": "probabilities"}


def test_model_card_round_trip(tmp_path: Path) -> None:
    base = resnet.resnet9_features(2)
    model = transfer.transfer_model(base, pretrained.ImageNetPreprocessing("caffe"),
                                    num_classes=2, image_shape=(8, 8, 3), input_size=16)
    path = model_card.save(model, tmp_path / "out" / "model.keras", card_for(("x", "y")))
    loaded, card = model_card.load(path)
    images = tiny_splits().x_test
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0),
                               rtol=1e-5, atol=1e-5)
    assert card["class_names"] == ["x", "y"] and model_card.read_card(path) == card
    # A second save replaces the course's own file, and leaves nothing else behind.
    model_card.save(model, path, card_for(("p", "q")))
    assert model_card.read_card(path)["class_names"] == ["p", "q"]
    assert [p.name for p in path.parent.iterdir()] == ["model.keras"]


def test_model_card_refuses_bad_input_and_foreign_files(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    foreign = tmp_path / "model.keras"
    foreign.write_bytes(b"a student's own file")
    with pytest.raises(FileExistsError, match="not written by the course"):
        model_card.save(model, foreign, card_for(CLASSES))
    assert foreign.read_bytes() == b"a student's own file"
    with pytest.raises(ValueError, match="needs class_names"):
        model_card.save(model, tmp_path / "other.keras", {"image_shape": [2], "outputs": "x"})
    with pytest.raises(ValueError, match="must end in .keras"):
        model_card.save(model, tmp_path / "model.h5", card_for(CLASSES))
    with pytest.raises(FileNotFoundError, match="run notebook 09"):
        model_card.read_card(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match="not a model file saved by the course"):
        model_card.read_card(foreign)
    plain = tmp_path / "plain.keras"
    model.save(plain)
    assert zipfile.is_zipfile(plain)
    with pytest.raises(ValueError, match="no model card"):
        model_card.read_card(plain)


@pytest.mark.parametrize("name", list(pretrained.BACKBONES))
def test_every_backbone_takes_cifar_images_through_its_own_preprocessing(name: str) -> None:
    """The ImageNet path of notebook 09 with random weights (the download needs a network)."""
    spec = pretrained.backbone(name)
    base = pretrained.load_backbone(name, weights=None)
    base.trainable = False
    model = transfer.transfer_model(base, pretrained.ImageNetPreprocessing(spec.preprocessing),
                                    num_classes=3, input_size=32, image_shape=(8, 8, 3))
    probabilities = keras.ops.softmax(model.predict(tiny_splits().x_test, verbose=0))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(probabilities).sum(axis=1), 1.0,
                               rtol=1e-5)
    assert model.count_params() - base.count_params() == base.output.shape[-1] * 3 + 3
