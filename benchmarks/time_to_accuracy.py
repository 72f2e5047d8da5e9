"""Seconds of training to a target CIFAR-10 test accuracy: see helpers/time_to_accuracy.py,
which notebooks (and Colab, where only the package is installed) run as
`python -m helpers.time_to_accuracy`. Same options:

    .venv/bin/python benchmarks/time_to_accuracy.py --help"""

import sys

from helpers.time_to_accuracy import main

if __name__ == "__main__":
    sys.exit(main())
