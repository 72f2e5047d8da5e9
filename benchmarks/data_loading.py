"""How much the decoded-array cache saves: first load (checksum + decode) vs cached loads.

The logic is in course/bench/data_loading.py;
`python -m course.bench.data_loading` runs the same:

    COURSE_DATA_DIR=../shared/datasets .venv/bin/python benchmarks/data_loading.py"""

import sys

from course.bench.data_loading import main

if __name__ == "__main__":
    sys.exit(main())
