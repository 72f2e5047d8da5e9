"""The checking engine: a registry of exercises, and the verdict on an answer (right, or not yet
with a hint about the likely slip), which never contains the answer itself. The exercises and
how their right answers are worked out are in `exercises`."""

from __future__ import annotations

import functools
import math
import operator
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

COUNT, SHAPE, ACCURACY = "count", "shape", "accuracy"

# What each kind of answer is, said to a student whose answer is missing or of the wrong kind.
_EXPECTED = {
    COUNT: "a whole number (an int)",
    SHAPE: "a shape tuple (height, width, channels)",
    ACCURACY: "your trained Keras model",
}


@dataclass(frozen=True)
class Exercise:
    """One registered check. `solve` returns the right answer and the known slips
    ({wrong answer: hint}) for COUNT and SHAPE checks; for an ACCURACY check it returns the
    advice for a model below `threshold` (see `_model_3_reaches_80`)."""

    id: str
    kind: str
    solve: Callable[..., Any]
    hint: str  # the hint for a wrong answer that matches no known slip
    why: str = ""  # one sentence after "right."
    given: frozenset[int] = field(default_factory=frozenset)  # numbers the exercise states
    threshold: float | None = None  # ACCURACY: the share of validation images to reach


EXERCISES: dict[str, Exercise] = {}


def register(exercise_id: str, kind: str, *, hint: str, why: str = "",
              given: tuple[int, ...] = (), threshold: float | None = None):
    """Registers the decorated function as the check of `exercise_id`."""
    def register(solve: Callable[..., Any]) -> Callable[..., Any]:
        if exercise_id in EXERCISES:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        solved = solve if kind == ACCURACY else functools.cache(_keeping_random_state(solve))
        EXERCISES[exercise_id] = Exercise(exercise_id, kind, solved, hint, why,
                                          frozenset(given), threshold)
        return solve
    return register


def _keeping_random_state(solve: Callable[[], Any]) -> Callable[[], Any]:
    """Building layers draws their initial weights' seeds from Python's `random`: put its
    state back, so that a check does not change what a seeded cell after it trains."""
    @functools.wraps(solve)
    def solved() -> Any:
        python_state, numpy_state = random.getstate(), np.random.get_state()
        try:
            return solve()
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
    return solved


@dataclass(frozen=True)
class Verdict:
    """What a check concluded: whether the answer is right, and the line said to the student."""

    right: bool
    message: str


def check(exercise: str, answer: Any, **context: Any) -> None:
    """Prints one line saying whether `answer` to `exercise` ("NN.k") is right, with a hint
    when it is not, and never the answer. It returns nothing, so a notebook cell that ends
    with it shows that line alone. An accuracy exercise takes the trained model as `answer`
    and `data=(images, labels)`."""
    print(judge(exercise, answer, **context).message)


def judge(exercise: str, answer: Any, **context: Any) -> Verdict:
    """The verdict `check` prints, for code (and tests) that need it as a value."""
    if exercise not in EXERCISES:
        raise ValueError(f"no check for exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    registered = EXERCISES[exercise]
    label = f"Exercise {exercise}"
    if registered.kind == ACCURACY:
        return _judge_accuracy(registered, label, answer, **context)
    if context:
        raise TypeError(f"check({exercise!r}, answer) takes no other arguments, got "
                        f"{', '.join(sorted(context))}")
    if answer is None:
        return _no_answer_yet(label, registered.kind)
    given = _as_count(answer) if registered.kind == COUNT else _as_shape(answer)
    if given is None:
        return Verdict(False, f"{label}: {_wrong_kind(registered.kind, answer)}")
    right, slips = registered.solve()
    if given == right:
        why = f" {registered.why}" if registered.why else ""
        return Verdict(True, f"✅ {label}: right.{why}")
    hint = slips.get(given) or _general_hint(registered, given, right)
    return Verdict(False, f"❌ {label}: not yet. Hint: {hint}")


def _no_answer_yet(label: str, kind: str) -> Verdict:
    """The exercise cell still holds its placeholder."""
    return Verdict(False, f"{label}: no answer yet: replace None with {_EXPECTED[kind]}.")


def _as_count(answer: Any) -> int | None:
    """An int (Python's or NumPy's), or None for any other kind of value."""
    if isinstance(answer, bool | float | str) or isinstance(answer, np.floating):
        return None
    try:
        return operator.index(answer)
    except TypeError:
        return None


def _as_shape(answer: Any) -> tuple[int | None, ...] | None:
    """A tuple of ints (None allowed, as Keras writes the batch axis), or None for any other
    kind of value."""
    if not isinstance(answer, tuple):
        return None
    dims = []
    for dim in answer:
        if dim is None:
            dims.append(None)
            continue
        count = _as_count(dim)
        if count is None:
            return None
        dims.append(count)
    return tuple(dims)


def _a(value: Any) -> str:
    """'a str', 'an int': the kind of `value`, with its article."""
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _wrong_kind(kind: str, answer: Any) -> str:
    name = _a(answer)
    if kind == COUNT:
        return (f"a count is a whole number (an int), not {name}: write the digits alone, "
                "without quotes or a decimal point.")
    return (f"a shape is a tuple of whole numbers, (height, width, channels), not {name}: "
            "write it in round brackets.")


def _general_hint(exercise: Exercise, given: Any, right: Any) -> str:
    """Too high or too low for a count; what differs for a shape (never by how much)."""
    if exercise.kind == COUNT:
        return f"{'too high' if given > right else 'too low'}. {exercise.hint}"
    if len(given) == len(right) + 1 and given[0] is None:
        return "leave out the batch axis: give (height, width, channels) for one image."
    if len(given) != len(right) or None in given:
        return f"give three whole numbers, (height, width, channels). {exercise.hint}"
    parts = []
    if given[:2] != right[:2]:
        too_big = given[0] > right[0] or given[1] > right[1]
        parts.append(f"the height and width are {'too large' if too_big else 'too small'}")
    if given[2] != right[2]:
        parts.append("the channels are not right: a convolution's output has one channel per "
                     "filter, a pooling keeps its input's")
    return f"{'; '.join(parts)}. {exercise.hint}"


def _judge_accuracy(exercise: Exercise, label: str, answer: Any, *,
                    data: Any = None, **context: Any) -> Verdict:
    if context:
        raise TypeError(f"check({exercise.id!r}, model, data=(images, labels)) takes no other "
                        f"arguments, got {', '.join(sorted(context))}")
    if answer is None:
        return _no_answer_yet(label, ACCURACY)
    if not isinstance(answer, keras.Model):
        return Verdict(False, f"{label}: expects {_EXPECTED[ACCURACY]}, not {_a(answer)}.")
    if (not isinstance(data, tuple | list) or len(data) != 2
            or len(data[0]) != len(data[1]) or len(data[0]) == 0):
        return Verdict(False, f"{label}: pass the validation images and labels as "
                              "data=(splits.x_val, splits.y_val).")
    images, labels = data
    try:
        outputs = np.asarray(keras.ops.convert_to_numpy(
            answer.predict(images, batch_size=256, verbose=0)))
    except Exception as error:  # a student's model or data: say so, without a traceback
        return Verdict(False, f"{label}: the model could not read these images "
                              f"({type(error).__name__}): pass the validation split it "
                              "was trained for.")
    labels = np.asarray(labels)
    labels = labels.argmax(axis=-1) if labels.ndim == 2 else labels.reshape(-1)
    if outputs.ndim != 2 or len(outputs) != len(labels):
        return Verdict(False, f"{label}: expects a classifier, one score per class for each "
                              "image.")
    accuracy = float(np.mean(outputs.argmax(axis=-1) == labels))
    measured = (f"{math.floor(accuracy * 1000) / 10:.1f}% of {len(labels):,} validation images "
                f"right")
    mark = f"{exercise.threshold:.0%}"
    if accuracy >= exercise.threshold:
        return Verdict(True, f"✅ {label}: right. {measured}, at or above the {mark} mark.")
    advice = exercise.solve(answer, accuracy, len(labels))
    return Verdict(False, f"❌ {label}: not yet. Hint: {measured}, below the {mark} mark: "
                          f"{advice}")
