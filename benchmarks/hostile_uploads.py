"""What hostile but realistic uploads cost the web app (`course serve`): the server's memory
while 64 large-pixel JPEGs are in flight, and its CPU time for a TIFF of 100,000 pages.

The logic is in course/bench/hostile_uploads.py;
`python -m course.bench.hostile_uploads` runs the same:

    .venv/bin/python benchmarks/hostile_uploads.py --help"""

import sys

from course.bench.hostile_uploads import main

if __name__ == "__main__":
    sys.exit(main())
