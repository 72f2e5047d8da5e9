"""pytest set-up shared by the unit tests and nbval's notebook runs."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from helpers.data.paths import make_env_paths_absolute  # noqa: E402

# nbval's kernels start in the notebook's folder: give them absolute data and cache folders.
make_env_paths_absolute()


def pytest_collectstart(collector):
    """nbval compares kept outputs only; TensorFlow's stderr and rich displays vary by machine."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "text/html", "image/png")


# The legs of `make test`: each backend's leg runs the tests marked `backend` (the notebooks,
# every test of the `helpers` library, and the course tests that load a model); the default
# (TensorFlow) leg runs everything. tests/course modules say which they are (a repository rule).
BACKEND_FOLDERS = ("tests/helpers/",)


def pytest_collection_modifyitems(config, items):
    """Marks the notebooks and every test under tests/helpers as `backend`."""
    root = Path(str(config.rootpath))
    for item in items:
        path = Path(str(item.path))
        relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else ""
        if path.suffix == ".ipynb" or relative.startswith(BACKEND_FOLDERS):
            item.add_marker("backend")
