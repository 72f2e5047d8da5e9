"""The values of a notebook's parameters cell, checked before anything uses them.

A hand-edited `EPOCHS = "1"` or `BATCH_SIZE = 0` would otherwise fail minutes later, deep inside
Keras, as a TypeError or a ZeroDivisionError that names neither. `course run --set` holds the
values it injects to the same rules. No import here loads Keras: the runner uses these tables."""

from __future__ import annotations

from collections.abc import Mapping

# Counts: a whole number of at least 1 (epochs, images, trials, widths, steps).
POSITIVE_COUNTS = ("EPOCHS", "BATCH_SIZE", "TRAIN_SIZE", "EVAL_SIZE", "TRIALS", "TUNER_TRIALS",
                   "RESNET9_WIDTH", "DEPTH_EPOCHS", "ABLATION_EPOCHS", "SPEED_STEPS",
                   "SOURCE_EPOCHS", "FINE_TUNE_EPOCHS", "BACKBONE_WIDTH", "TSNE_SIZE",
                   "FALLBACK_EPOCHS", "SHALLOW_DEPTH", "DEEP_DEPTH", "DECISION_SEEDS",
                   "IMAGE_SIZE")
# Counts where None means "all of them".
ALL_WHEN_NONE = ("TRAIN_SIZE", "EVAL_SIZE")
# Folders: a path in quotes, or None for the course's default.
FOLDERS = ("DATA_DIR", "CHECKPOINT_DIR", "OUTPUT_DIR")
SEED_LIMIT = 2**32  # NumPy's and scikit-learn's seeds lie in 0 <= seed < 2**32


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # True is no count


def problem(name: str, value: object) -> str | None:
    """What `value` must be instead, in words, when the parameter `name` cannot use it; None
    when it can (or when the course has no rule for `name`)."""
    if name in POSITIVE_COUNTS:
        if value is None and name in ALL_WHEN_NONE:
            return None
        if not _is_int(value) or value < 1:
            return ("a whole number of at least 1" + (", or None for all of them"
                                                      if name in ALL_WHEN_NONE else ""))
    elif name == "SEED":
        if not _is_int(value) or not 0 <= value < SEED_LIMIT:
            return "a whole number from 0 to 2**32 - 1"
    elif name == "VERBOSE":
        if value not in (0, 1, 2) or isinstance(value, bool):
            return "0 (silent), 1 (a progress bar) or 2 (a line per epoch)"
    elif name == "RUN_SOLUTIONS":
        if not isinstance(value, bool):
            return "True or False"
    elif name in FOLDERS:
        if value is not None and not isinstance(value, str):
            return "a folder's path in quotes, or None"
    return None


def check(namespace: Mapping[str, object]) -> None:
    """Refuse, naming it, the first parameter whose value the notebook cannot use. A notebook
    calls `check(globals())` after its parameters cell; names without a rule are left alone."""
    for name, value in namespace.items():
        expected = problem(name, value)
        if expected is not None:
            raise ValueError(f"the parameters cell sets {name} = {value!r}, but {name} must be "
                             f"{expected}: correct it there and run the notebook again from the "
                             "top")
