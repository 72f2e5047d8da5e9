"""Where should augmentation run? Images per second of one ResNet-9, fed four ways.

The logic is in course/bench/input_pipeline.py;
`python -m course.bench.input_pipeline` runs the same:

    .venv/bin/python benchmarks/input_pipeline.py --help"""

import sys

from course.bench.input_pipeline import main

if __name__ == "__main__":
    sys.exit(main())
