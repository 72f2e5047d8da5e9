"""pytest set-up shared by the unit tests and nbval's notebook runs."""

import matplotlib

matplotlib.use("Agg")

from helpers.paths import make_env_paths_absolute  # noqa: E402

# nbval's kernels start in the notebook's folder: give them absolute data and cache folders.
make_env_paths_absolute()


def pytest_collectstart(collector):
    """nbval compares kept outputs only; TensorFlow's stderr and rich displays vary by machine."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "text/html", "image/png")
