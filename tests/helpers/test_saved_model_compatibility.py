"""A `.keras` file saved before the course's code moved into subpackages still loads.

The fixture was saved by the flat `helpers/` layout (commit d2a3997, JAX backend): a tiny
untrained model with the course's custom layers, whose config names them by their registered
names (`helpers>RandomPadCrop`) and their old modules (`helpers.augment`). Students hold such
files from notebook 09; the registration names must never change."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from helpers.deploy import model_card

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAVED = FIXTURES / "saved_before_layout_change.keras"


def test_the_fixture_names_the_old_modules():
    """Guards the test itself: the file really is one the old layout wrote."""
    with zipfile.ZipFile(SAVED) as archive:
        config = archive.read("config.json").decode()
    assert '"module": "helpers.augment"' in config
    assert '"registered_name": "helpers>RandomPadCrop"' in config
    assert '"module": "helpers.pretrained"' in config


def test_a_model_saved_by_the_old_layout_loads_and_predicts_as_it_did():
    model, card = model_card.load(SAVED)
    assert card["class_names"][0] == "airplane" and card["image_shape"] == [32, 32, 3]
    probe = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3)).astype("float32")
    expected = np.load(FIXTURES / "saved_before_layout_change_outputs.npy")
    np.testing.assert_allclose(model.predict(probe, verbose=0), expected, atol=1e-5)
    layers = {type(layer).__name__ for layer in model.layers}
    assert {"RandomPadCrop", "ImageNetPreprocessing"} <= layers


def test_the_card_survives_untouched():
    card = model_card.read_card(SAVED)
    with zipfile.ZipFile(SAVED) as archive:
        assert card == json.loads(archive.read(model_card.CARD_ENTRY))
