"""A saved model and its card, ready to classify one uploaded image at a time: the top classes
with their probabilities, and a warning when the model is unsure (often: an image unlike any of
the classes it was trained on). The web app and notebook 11 use it."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from PIL import Image

from helpers.deploy import model_card, uploads


@dataclass(frozen=True)
class Prediction:
    """The top classes, best first, as [{"class": name, "probability": p}], and whether the
    best is below the classifier's threshold (then `warning` says what that may mean)."""

    top: list[dict]
    low_confidence: bool
    warning: str | None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"predictions": self.top, "low_confidence": self.low_confidence,
                "warning": self.warning, "notes": self.notes}


def check_card(card: dict, path: str | os.PathLike = "the model file") -> None:
    """Refuse a card this classifier cannot honour, saying how to make a model that fits."""
    if card.get("outputs") != "probabilities":
        raise ValueError(f"{path}: its card says the model outputs {card.get('outputs')!r}, "
                         "not 'probabilities'. Save the model with a Softmax layer at its end "
                         "and outputs='probabilities' in the card (see notebook 09's last "
                         "section)")
    shape = card.get("image_shape")
    if not (isinstance(shape, list | tuple) and len(shape) == 3 and shape[2] == 3
            and all(isinstance(n, int) and n > 0 for n in shape)):
        raise ValueError(f"{path}: its card gives image_shape {shape!r}; this classifier takes "
                         "RGB images, [height, width, 3]")
    names = card.get("class_names")
    if not (isinstance(names, list) and len(names) >= 2
            and all(isinstance(name, str) for name in names)):
        raise ValueError(f"{path}: its card needs class_names, a list of at least two names")


class Classifier:
    """One loaded model answering requests one at a time: Keras does not promise that a model
    may be called from several threads at once, so calls take turns behind a lock (a server
    handles the other parts of each request, decoding the image, in parallel)."""

    def __init__(self, model: keras.Model, card: dict, *, min_confidence: float = 0.5,
                 top_k: int = 3, max_bytes: int = uploads.DEFAULT_MAX_BYTES,
                 max_pixels: int = uploads.DEFAULT_MAX_PIXELS, source: str = "") -> None:
        check_card(card, source or "the model")
        if not 0 <= min_confidence <= 1:
            raise ValueError(f"min_confidence must lie in [0, 1], got {min_confidence}")
        outputs = model.output_shape[-1]
        if outputs != len(card["class_names"]):
            raise ValueError(f"{source or 'the model'}: the model has {outputs} outputs but its "
                             f"card names {len(card['class_names'])} classes")
        self.model, self.card = model, card
        self.min_confidence, self.top_k = min_confidence, min(top_k, outputs)
        self.max_bytes, self.max_pixels = max_bytes, max_pixels
        self.source = source
        self._lock = threading.Lock()
        # The first call traces and compiles the prediction function (seconds): do it now, so
        # the first user does not wait for it.
        self.probabilities(np.zeros((1, *self.image_shape), np.uint8))

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, min_confidence: float = 0.5,
                  **options) -> Classifier:
        """Load a model file written by `model_card.save` (card checked before the model is
        loaded; Keras's safe mode refuses code hidden in the file)."""
        check_card(model_card.read_card(path), path)
        model, card = model_card.load(path)
        return cls(model, card, min_confidence=min_confidence, source=str(path), **options)

    @property
    def class_names(self) -> list[str]:
        return list(self.card["class_names"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.card["image_shape"])

    @property
    def name(self) -> str:
        return self.card.get("model") or Path(self.source).name or "model"

    def probabilities(self, batch: np.ndarray, *, batch_size: int = 256) -> np.ndarray:
        """Class probabilities for a uint8 batch (N, H, W, 3) of the card's image shape.
        `predict_on_batch` reuses one compiled function; `model.predict` would build a new
        dataset and progress machinery on every request, which costs more than the model."""
        batch = np.asarray(batch)
        if batch.dtype != np.uint8 or batch.shape[1:] != self.image_shape:
            raise ValueError(f"expected uint8 images of shape (N, *{self.image_shape}), got "
                             f"{batch.dtype} {batch.shape}")
        parts = []
        with self._lock:
            for start in range(0, len(batch), batch_size):
                result = self.model.predict_on_batch(batch[start:start + batch_size])
                parts.append(keras.ops.convert_to_numpy(result))
        return np.concatenate(parts).astype(np.float64)

    def prepare(self, image: bytes | np.ndarray | Image.Image) -> tuple[np.ndarray, list[str]]:
        """The model's input for one image (file bytes, an array or a Pillow image), with the
        notes on what was done to it."""
        if isinstance(image, bytes | bytearray | memoryview):
            return uploads.to_model_input(bytes(image), self.image_shape,
                                         max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        if isinstance(image, np.ndarray):
            if image.dtype == np.uint8 and image.shape == self.image_shape:
                return image, []
            if image.ndim not in (2, 3):
                raise ValueError(f"expected one image (H, W) or (H, W, C), got shape "
                                 f"{image.shape}")
            image = Image.fromarray(image)
        return uploads.to_array(image, self.image_shape)

    def top(self, probabilities: np.ndarray) -> Prediction:
        """The top classes of one row of probabilities, and the low-confidence warning."""
        order = np.argsort(probabilities)[::-1][:self.top_k]
        top = [{"class": self.class_names[i], "probability": round(float(probabilities[i]), 6)}
               for i in order]
        best = top[0]["probability"]
        low = best < self.min_confidence
        warning = (f"The model is unsure: its best guess has {best:.0%}, under the threshold "
                   f"of {self.min_confidence:.0%}. The image may be unlike the "
                   f"{len(self.class_names)} classes it knows ({', '.join(self.class_names)}), "
                   f"or show none of them clearly." if low else None)
        return Prediction(top, low, warning)

    def predict(self, image: bytes | np.ndarray | Image.Image) -> Prediction:
        """Top classes of one image: file bytes (any format `images` reads), or an array."""
        array, notes = self.prepare(image)
        prediction = self.top(self.probabilities(array[None])[0])
        return Prediction(prediction.top, prediction.low_confidence, prediction.warning, notes)
