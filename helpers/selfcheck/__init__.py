"""Exercises a student can check alone: `check("03.2a", answer)` prints one line, right or not
yet with a hint, and never the answer.

Every right answer is computed when the check runs, from Keras layers built as the exercise
describes (or from the helpers the notebook uses), so it cannot drift from the notebooks. A
wrong answer that matches a known slip (a forgotten bias, the 'same' size where 'valid' was
asked) gets a hint about that slip; the slips are computed the same way.

One entry point for every notebook: `check(exercise, answer, **context)`, where
`exercise` is "NN.k" (notebook NN, exercise k of its "## Exercises" list; "NN.ka", "NN.kb" for
the parts of one exercise). An accuracy check takes the student's trained model and the
validation data: `check("05.4", model_3, data=(splits.x_val, splits.y_val))`."""

from helpers.selfcheck import exercises as _exercises  # noqa: F401  (registers every check)
from helpers.selfcheck.engine import ACCURACY, COUNT, EXERCISES, SHAPE, Verdict, check, judge

__all__ = ["ACCURACY", "COUNT", "EXERCISES", "SHAPE", "Verdict", "check", "judge"]
