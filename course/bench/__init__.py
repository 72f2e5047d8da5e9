"""The benchmarks' logic: each module has a `main`, which `python -m` runs (for example
`python -m course.bench.load_test`), as does the thin script of the same name in `benchmarks/`.
They print figures; they never assert a speed."""
