"""Seconds of training ResNet-9 needs to reach a target CIFAR-10 test accuracy.

The logic is in course/bench/time_to_accuracy.py;
`python -m course.bench.time_to_accuracy` runs the same:

    .venv/bin/python benchmarks/time_to_accuracy.py --help"""

import sys

from course.bench.time_to_accuracy import main

if __name__ == "__main__":
    sys.exit(main())
