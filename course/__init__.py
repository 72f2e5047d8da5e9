"""The course's own tooling: the `course` command (run, prepare, site, serve), the series
report, the website, the web app and the benchmarks. It may import `helpers`; `helpers` never
imports it."""

import helpers  # noqa: F401  (sets TensorFlow's log level before any course module loads Keras)
