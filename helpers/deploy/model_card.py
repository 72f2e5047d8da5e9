"""A trained model saved as one `.keras` file that also says how to use it: class names, the
images it takes, its preprocessing, where its numbers came from. The deployment notebook reads
it back with `load`.

The card is one extra JSON entry inside the `.keras` archive, which `keras.saving.load_model`
ignores, so the file stays an ordinary Keras model."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import keras

from helpers.modern.augment import RandomPadCrop
from helpers.transfer.pretrained import ImageNetPreprocessing

CARD_ENTRY = "course_model_card.json"
REQUIRED = ("class_names", "image_shape", "outputs")


def _has_card(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return CARD_ENTRY in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def save(model: keras.Model, path: str | os.PathLike, card: dict) -> Path:
    """Write `model` and `card` to `path` (a `.keras` file). Replaces only a file this function
    wrote before; the file appears whole or not at all, even if the run is interrupted."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"a model file must end in .keras, got {path.name!r}")
    missing = [key for key in REQUIRED if key not in card]
    if missing:
        raise ValueError(f"the card needs {', '.join(missing)} (a user cannot use the model "
                         f"without them)")
    if path.exists() and not _has_card(path):
        raise FileExistsError(f"{path} exists and was not written by the course; choose another "
                              f"path or move that file")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        partial = Path(scratch) / path.name
        model.save(partial)
        with zipfile.ZipFile(partial, "a") as archive:
            archive.writestr(CARD_ENTRY, json.dumps(card, indent=2))
        os.replace(partial, path)
    return path


def read_card(path: str | os.PathLike) -> dict:
    """The card of a model file that `save` wrote, without loading the model."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}; run notebook 09 to create one")
    if not _has_card(path):
        raise ValueError(f"{path} is not a model file saved by the course (no model card "
                         f"inside, or not a .keras archive)")
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(CARD_ENTRY))


def check_name(path: str | os.PathLike) -> None:
    """Refuse a course model file whose name does not end in .keras: Keras chooses how to read
    a file by its name's ending, and would read a renamed `.keras` archive as another format
    (an `.h5` name as a legacy HDF5 file) and fail with a message about that format."""
    path = Path(path)
    if path.suffix != ".keras":
        ending = f"ends in {path.suffix!r}" if path.suffix else "has no extension"
        raise ValueError(f"{path} is a model file saved by the course (a .keras archive), but "
                         f"its name {ending}, and Keras reads a file as its name's ending says: "
                         f"rename it to {path.stem}.keras and use that name")


def load(path: str | os.PathLike) -> tuple[keras.Model, dict]:
    """The model and its card; the course's own layers are passed to Keras by name."""
    card = read_card(path)
    check_name(path)
    custom = {layer.__name__: layer for layer in (RandomPadCrop, ImageNetPreprocessing)}
    return keras.saving.load_model(path, custom_objects=custom), card
