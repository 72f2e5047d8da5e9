"""A bounded load test of the web app (`course serve`) on localhost: requests per second and
latency of POST /predict, sent from several threads at once.

The logic is in course/bench/load_test.py;
`python -m course.bench.load_test` runs the same:

    .venv/bin/python benchmarks/load_test.py --help"""

import sys

from course.bench.load_test import main

if __name__ == "__main__":
    sys.exit(main())
