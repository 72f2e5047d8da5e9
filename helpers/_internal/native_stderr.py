"""Redirecting what C++ libraries print, which Python's own `sys.stderr` cannot catch."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def native_stderr_to(path: str | Path) -> Iterator[None]:
    """Send file descriptor 2 of this process, and of the processes it starts, to `path`:
    TensorFlow's C++ logs, a Jupyter kernel's stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "w") as target:
        os.dup2(target.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
