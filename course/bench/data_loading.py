"""How much the decoded-array cache saves: first load (checksum + decode) vs cached loads.

    COURSE_DATA_DIR=../shared/datasets .venv/bin/python -m course.bench.data_loading

Uses a temporary cache folder, so the project's own cache is left alone. Prints times and
their ratio measured in one run (machines here are shared: compare ratios, not seconds)."""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from helpers import data


def timed(function, *args, **kwargs) -> float:
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["COURSE_CACHE_DIR"] = cache
        first = timed(data.load_raw, "cifar10")
        cached = min(timed(data.load_raw, "cifar10") for _ in range(3))
        splits = min(timed(data.load_dataset, "cifar10") for _ in range(3))
        uint8 = min(timed(data.load_dataset, "cifar10", scale=False) for _ in range(3))
    print(f"first load (verify, decode, cache): {first:7.2f} s")
    print(f"cached raw arrays:                  {cached:7.3f} s  ({first / cached:.0f}x faster)")
    print(f"cached, split, uint8:               {uint8:7.3f} s")
    print(f"cached, split, scaled to float32:   {splits:7.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
