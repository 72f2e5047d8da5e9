"""The exercises' self-checks: right answers (worked out here independently, by Keras or by
hand) say right, wrong ones say not yet with a hint that never holds the answer, the slips get
their own hints, and every check is used by a notebook and every notebook's check exists."""

from __future__ import annotations

import math
import random
import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest

from helpers import models
from helpers.selfcheck import ACCURACY, COUNT, EXERCISES, check, judge

ROOT = Path(__file__).resolve().parents[2]


def _count(input_shape, layers) -> int:
    return keras.Sequential([keras.Input(input_shape), *layers]).count_params()


def _shape(input_shape, layers) -> tuple[int, ...]:
    return tuple(keras.Sequential([keras.Input(input_shape), *layers]).output_shape[1:])


def _model_3_from_conv_block() -> int:
    return _count((32, 32, 3), [
        *models.conv_block(32, convs=2, activation="elu", batch_norm=True, dropout=0.2, l2=1e-4),
        *models.conv_block(64, convs=2, activation="elu", batch_norm=True, dropout=0.3, l2=1e-4),
        *models.conv_block(128, convs=2, activation="elu", batch_norm=True, dropout=0.4,
                           l2=1e-4),
        keras.layers.Flatten(), keras.layers.Dense(10)])


def _projection_block_shape() -> tuple[int, ...]:
    inputs = keras.Input((32, 32, 16))
    y = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(inputs)
    y = keras.layers.Conv2D(32, 3, padding="same", use_bias=False)(y)
    shortcut = keras.layers.Conv2D(32, 1, strides=2, use_bias=False)(inputs)
    return tuple(keras.layers.Add()([y, shortcut]).shape[1:])


# The right answers, computed here without the module: by Keras or by the exercise's formula.
RIGHT = {
    "02.1": lambda: _count((32, 32, 3), [keras.layers.Conv2D(16, 3), keras.layers.MaxPooling2D(2),
                                         keras.layers.Flatten(), keras.layers.Dense(100),
                                         keras.layers.Dense(10)]),
    "03.2a": lambda: _shape((32, 32, 3), [keras.layers.Conv2D(16, 5, strides=2)]),
    "03.2b": lambda: 16 * (5 * 5 * 3) + 16,
    "03.2c": lambda: (math.ceil(32 / 2), math.ceil(32 / 2), 16),
    "04.2": lambda: _shape((32, 32, 3), [keras.layers.Conv2D(96, 11, strides=4),
                                         keras.layers.MaxPooling2D(3, strides=2)]),
    "04.3": lambda: (16 * 16 * (64 + 128 + 32 + 32)) * 10 + 10,
    "05.1": _model_3_from_conv_block,
    "08.5a": _projection_block_shape,
    "08.5b": lambda: 16 * 32 + 4 * 32,
    "12.1": lambda: 300 // 60,
    "12.2": lambda: 512 * 4 + 4,
}

# A slip per check, worked out by hand, and a word its hint must contain.
SLIPS = {
    "02.1": [(16 * 27 + 15 * 15 * 16 * 100 + 100 * 10, "bias"),
             (16 * 9 + 16 + 15 * 15 * 16 * 100 + 100 + 1010, "channels")],
    "03.2a": [((16, 16, 16), "'same'"), ((28, 28, 16), "stride"), ((14, 14, 3), "channel")],
    "03.2b": [(16 * 75, "bias"), (16 * 25 + 16, "channels")],
    "03.2c": [((14, 14, 16), "'valid'"), ((32, 32, 16), "stride")],
    "04.2": [((6, 6, 96), "C1 alone"), ((27, 27, 96), "227")],
    "04.3": [(16 * 16 * 256 * 10, "biases"), (256 * 10 + 10, "global-average-pooling")],
    "05.1": [(309_290, "no bias"), (308_842 - 2 * 2 * (32 + 64 + 128), "4 parameters")],
    "08.5a": [((32, 32, 32), "stride 2"), ((16, 16, 16), "channels")],
    "08.5b": [(16 * 32, "BatchNorm"), (16 * 32 + 32 + 4 * 32, "no bias")],
    "12.1": [(3, "divided"), (0, "inversely")],
    "12.2": [(512 * 4, "bias"), (64 * 4 + 4, "8 × 64")],
}

ANSWER_CHECKS = sorted(name for name, exercise in EXERCISES.items() if exercise.kind != ACCURACY)


def _printed(capsys, exercise: str, answer, **context) -> tuple[bool, str]:
    """What `check` prints (one line) and whether `judge` calls the answer right; the two must
    agree, and `check` returns nothing, so that a cell ending with it shows no value."""
    assert check(exercise, answer, **context) is None
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    right = judge(exercise, answer, **context).right
    assert right == lines[0].startswith("✅")
    return right, lines[0]


def test_every_check_has_an_independent_answer_and_slips_here():
    assert set(RIGHT) == set(SLIPS) == set(ANSWER_CHECKS)


@pytest.mark.parametrize("exercise", ANSWER_CHECKS)
def test_the_right_answer_is_right(capsys, exercise):
    right = RIGHT[exercise]()
    result, line = _printed(capsys, exercise, right)
    assert result is True
    assert line.startswith(f"✅ Exercise {exercise}: right.")
    if EXERCISES[exercise].kind == COUNT:  # a NumPy int, as count_params may give, is fine too
        assert judge(exercise, np.int64(right)).right
    else:
        assert judge(exercise, tuple(np.int64(dim) for dim in right)).right


def _forbidden(exercise: str, right) -> tuple[list[str], set[str]]:
    """The right answer written in the usual ways, and the bare numbers that may not appear
    (a shape's sides, unless the exercise itself states that number)."""
    if isinstance(right, int):
        forms = [str(right), f"{right:,}", f"{right:_}", f"{right:,}".replace(",", " ")]
        return forms, {str(right)}
    joined = [separator.join(map(str, right)) for separator in ("x", "×", " x ", " × ", ", ")]
    sides = [separator.join(map(str, right[:2])) for separator in ("x", "×", " × ")]
    forms = [repr(right), str(list(right)), *joined, *sides]
    numbers = {str(dim) for dim in right if dim not in EXERCISES[exercise].given}
    return forms, numbers


def _wrong_answers(exercise: str, right) -> list:
    slips = list(EXERCISES[exercise].solve()[1])
    if isinstance(right, int):
        return [*slips, right + 1, right - 1, right * 2, right // 2, 0, -right]
    height, width, channels = right
    wrong = [*slips, (height + 1, width + 1, channels), (height - 1, width, channels + 1),
             (None, *right), (height, width), (channels, height, width), (1, 2, 3, 4), ()]
    return [answer for answer in wrong if answer != right]


@pytest.mark.parametrize("exercise", ANSWER_CHECKS)
def test_a_wrong_answer_says_not_yet_and_never_shows_the_answer(capsys, exercise):
    right = RIGHT[exercise]()
    forms, numbers = _forbidden(exercise, right)
    for wrong in _wrong_answers(exercise, right):
        result, line = _printed(capsys, exercise, wrong)
        assert result is False
        assert line.startswith(f"❌ Exercise {exercise}: not yet. Hint: "), line
        text = line.removeprefix(f"❌ Exercise {exercise}: ")
        for form in forms:
            assert form not in text, (wrong, line)
        assert not numbers & set(re.findall(r"\d+", text)), (wrong, line)


@pytest.mark.parametrize("exercise", ANSWER_CHECKS)
def test_no_answer_yet_and_wrong_kinds_are_refused_with_a_message(capsys, exercise):
    right = RIGHT[exercise]()
    forms, numbers = _forbidden(exercise, right)
    result, line = _printed(capsys, exercise, None)
    assert result is False
    assert line.startswith(f"Exercise {exercise}: no answer yet: replace None with ")
    kind = EXERCISES[exercise].kind
    wrong_kinds = (["14", 1216.0, float(right), True, [1, 2, 3], (1216,)] if kind == COUNT
                   else [list(right), "(14, 14, 16)", 14, np.array(right), (14.0, 14.0, 16.0)])
    for answer in wrong_kinds:
        result, line = _printed(capsys, exercise, answer)
        assert result is False, answer
        expected = "a count is a whole number" if kind == COUNT else "a shape is a tuple"
        assert line.startswith(f"Exercise {exercise}: {expected}"), line
        assert re.search(rf"not an? {type(answer).__name__}\b", line), line
        text = line.removeprefix(f"Exercise {exercise}: ")
        assert not any(form in text for form in forms)
        assert not numbers & set(re.findall(r"\d+", text))


@pytest.mark.parametrize("exercise", ANSWER_CHECKS)
def test_each_slip_gets_its_own_hint(capsys, exercise):
    right, slips = EXERCISES[exercise].solve()
    assert slips and right not in slips
    for slip, hint in slips.items():
        assert _printed(capsys, exercise, slip) == (False, f"❌ Exercise {exercise}: not yet. "
                                                           f"Hint: {hint}")
    for slip, word in SLIPS[exercise]:
        assert slip in slips, f"{exercise}: the slip {slip} is not recognised"
        assert word in slips[slip]


def test_a_count_says_too_high_or_too_low(capsys):
    right = RIGHT["03.2b"]()
    assert "too high" in _printed(capsys, "03.2b", right + 7)[1]
    assert "too low" in _printed(capsys, "03.2b", right - 7)[1]


def test_a_shape_with_the_batch_axis_is_told_to_drop_it(capsys):
    _, line = _printed(capsys, "03.2a", (None, *RIGHT["03.2a"]()))
    assert "batch axis" in line


def test_an_unknown_exercise_is_a_programming_error_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"known: 02\.1, .*12\.2"):
        check("02.9", 1)
    with pytest.raises(TypeError):
        check("02.1", 1, data=([], []))


def test_a_check_leaves_the_random_state_as_it_found_it():
    EXERCISES["02.1"].solve.cache_clear()
    random.seed(0)
    np.random.seed(0)
    before = random.getstate(), np.random.get_state()[1].copy()
    check("02.1", 1)
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])


# --- the accuracy check --------------------------------------------------------------------


def _constant_classifier(label: int, *, trained: bool = True) -> keras.Model:
    """A model that answers `label` for every 4x4x3 image; `trained` takes one optimizer step
    (with a learning rate of 0, so the answers stay the same)."""
    bias = np.full(10, -5.0, "float32")
    bias[label] = 5.0
    model = keras.Sequential([
        keras.Input((4, 4, 3)), keras.layers.Flatten(),
        keras.layers.Dense(10, kernel_initializer="zeros",
                           bias_initializer=keras.initializers.Constant(bias))])
    if trained:
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(np.zeros((8, 4, 4, 3), "float32"), np.zeros(8, "int32"), batch_size=8,
                  verbose=0)
    return model


def _images(count: int) -> np.ndarray:
    return np.zeros((count, 4, 4, 3), "float32")


def test_the_accuracy_check_has_a_threshold_and_the_notebook_says_it():
    accuracy_checks = [exercise for exercise in EXERCISES.values() if exercise.kind == ACCURACY]
    assert accuracy_checks
    for exercise in accuracy_checks:
        mark = f"{exercise.threshold:.0%}"
        notebook = next((ROOT / "notebooks").glob(f"{exercise.id[:2]}_*.ipynb"))
        assert mark in notebook.read_text(), f"the exercise text states the {mark} mark"


def test_a_model_above_the_mark_is_right(capsys):
    labels = np.full(300, 3)
    result, line = _printed(capsys, "05.4", _constant_classifier(3), data=(_images(300), labels))
    assert result is True
    assert line.startswith("✅ Exercise 05.4: right. 100.0% of 300 validation images right")
    one_hot = np.eye(10)[labels]
    assert judge("05.4", _constant_classifier(3), data=(_images(300), one_hot)).right


@pytest.mark.parametrize(("model", "count", "advice"), [
    (lambda: _constant_classifier(3, trained=False), 300, "not been trained"),
    (lambda: _constant_classifier(3), 300, "shortened run (300 validation images)"),
    (lambda: _constant_classifier(3), 10_000, "close to chance"),
])
def test_a_model_below_the_mark_gets_advice(capsys, model, count, advice):
    result, line = _printed(capsys, "05.4", model(), data=(_images(count), np.full(count, 7)))
    assert result is False
    assert line.startswith("❌ Exercise 05.4: not yet. Hint: 0.0% of ")
    assert "below the 80% mark" in line and advice in line


def test_a_short_run_and_too_few_steps_are_named(capsys):
    labels = np.array([3] * 70 + [7] * 30)  # 70%: above chance, below the mark
    _, line = _printed(capsys, "05.4", _constant_classifier(3), data=(_images(100), labels))
    assert "70.0% of 100 validation images" in line and "shortened run" in line
    labels = np.array([3] * 7000 + [7] * 3000)
    _, line = _printed(capsys, "05.4", _constant_classifier(3), data=(_images(10_000), labels))
    assert "its optimizer took 1 step," in line


def test_the_accuracy_check_refuses_what_is_not_a_model_or_data(capsys):
    model = _constant_classifier(3)
    result, line = _printed(capsys, "05.4", None, data=(_images(10), np.zeros(10)))
    assert result is False and "no answer yet: replace None with your trained Keras model" in line
    result, line = _printed(capsys, "05.4", "model_3", data=(_images(10), np.zeros(10)))
    assert result is False and "expects your trained Keras model, not a str" in line
    for data in (None, _images(10), (_images(10), np.zeros(9))):
        result, line = _printed(capsys, "05.4", model, data=data)
        assert result is False and "data=(splits.x_val, splits.y_val)" in line
    result, line = _printed(capsys, "05.4", model, data=(np.zeros((10, 8, 8, 1)), np.zeros(10)))
    assert result is False and "could not read these images" in line


# --- the notebooks -------------------------------------------------------------------------

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([^"']+)["']""")


def _checks_in_notebooks() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        content = nbformat.read(path, as_version=4)
        for cell in content.cells:
            if cell.cell_type == "code":
                for exercise in CHECK_CALL.findall(cell.source):
                    found.setdefault(exercise, set()).add(path.name)
    return found


def test_every_check_in_a_notebook_is_registered_and_every_registered_check_is_used():
    found = _checks_in_notebooks()
    assert set(found) == set(EXERCISES), (sorted(set(found) ^ set(EXERCISES)))
    for exercise, notebooks in found.items():
        assert notebooks == {next(iter(notebooks))} and next(iter(notebooks)).startswith(
            exercise[:2]), f"{exercise} is checked in {sorted(notebooks)}"


def test_notebooks_import_the_check_in_their_setup_cell_and_have_a_check_cell():
    found = _checks_in_notebooks()
    for name in sorted({notebook for notebooks in found.values() for notebook in notebooks}):
        content = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        setup = next(cell for cell in content.cells
                     if cell.cell_type == "code" and "%pip install" in cell.source)
        assert "from helpers.selfcheck import check" in setup.source, name
        solutions = next(index for index, cell in enumerate(content.cells)
                         if cell.cell_type == "markdown" and cell.source.startswith("## Solutions"))
        exercises = next(index for index, cell in enumerate(content.cells)
                         if cell.cell_type == "markdown" and "## Exercises" in cell.source)
        between = content.cells[exercises + 1:solutions]
        assert between and all(cell.cell_type == "code" for cell in between), name
        assert between[0].source.startswith("# Check your answers"), name
        assert "Check your answers" in content.cells[exercises].source, "the text says so"
