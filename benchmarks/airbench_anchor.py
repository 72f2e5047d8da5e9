"""airbench (PyTorch) on the course's CIFAR-10 arrays: the anchor for the speed runs.

The logic is in course/bench/airbench_anchor.py;
`python -m course.bench.airbench_anchor` runs the same:

    .venv/bin/python benchmarks/airbench_anchor.py --help"""

import sys

from course.bench.airbench_anchor import main

if __name__ == "__main__":
    sys.exit(main())
