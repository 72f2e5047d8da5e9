"""What the course's notebooks import to learn with.

The top level is what every lesson uses (data, pipeline, models, training, plots, evaluation,
the results log, notices, the ladder, the environment, the parameters cell's check,
self-checks); later lessons have a subpackage each (`modern` for 08, `transfer` for 09,
`diagnostics` for 10, `deploy` for 09 and 11). The course's own tooling is the separate
`course` package, which this one never imports.

Importing the package sets TensorFlow's C++ log level (unless the user already chose one), so
that students do not see pages of start-up noise: the one place the course sets it, besides
each notebook's first line, which runs before Keras loads.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
