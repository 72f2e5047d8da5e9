#!/usr/bin/env bash
# The course's measurements on the offline GPU machine (JAX, no TensorFlow): see
# ../shared/device/README.md for preparing .whl and .gpu-data, which travel with the project.
# Usage, from the project root on that machine (results go under $OUT, default runs/device):
#   tools/device_run.sh time-to-accuracy   # benchmarks/time_to_accuracy.py, precisions side by side
#   tools/device_run.sh recipe-sweep       # the same, one ingredient of the recipe changed at a time
#   tools/device_run.sh input-pipeline     # benchmarks/input_pipeline.py
#   tools/device_run.sh notebook 08        # course run --profile full --only 08
#   tools/device_run.sh side-by-side       # airbench94 (PyTorch) x 3 seeds on the course's data,
#                                          # then time_to_accuracy's page24, notebook and
#                                          # fast recipes x 3 seeds each (needs airbench's wheel in
#                                          # .whl: pip wheel --no-deps -w .whl airbench)
#   tools/device_run.sh reference 08 10    # the full profile of each named notebook, one
#                                          # course run each, stopped after 9 minutes; then,
#                                          # here: tools/record_reference.py on its folder
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax COURSE_DATA_DIR=$PWD/.gpu-data \
  PYTHONUNBUFFERED=1 MPLBACKEND=Agg
out=${OUT:-runs/device}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
case "${1:-}" in
  time-to-accuracy)
    shift
    for precision in mixed_bfloat16 float32; do
      python3 benchmarks/time_to_accuracy.py --precision "$precision" "$@" \
        --json "$out/time_to_accuracy_$precision.json" 2>&1 | tee "$out/time_to_accuracy_$precision.txt"
    done ;;
  recipe-sweep)
    python3 -c "from helpers import environment as e; print(e.mixed_precision_policy(), e.accelerators())"
    run() { name=$1; shift
      python3 benchmarks/time_to_accuracy.py --precision mixed_bfloat16 "$@" \
        --json "$out/sweep_$name.json" 2>&1 | tail -1 | sed "s/^/$name: /"; }
    run default
    run no_label_smoothing --label-smoothing 0
    run half_weight_decay --weight-decay 2.5e-3
    run peak_lr_0.2 --peak-learning-rate 0.2
    run 40_epochs --epochs 40
    run width_96 --width 96 ;;
  side-by-side)
    python3 benchmarks/airbench_anchor.py --variants 94 --runs 3 --workdir "$out/airbench" \
      --json "$out/airbench94.json" 2>&1 | tee "$out/airbench94.txt"
    rm -rf "$out/airbench"
    for name in page24 notebook fast; do
      python3 benchmarks/time_to_accuracy.py --recipe "$name" --runs 3 \
        --json "$out/recipe_$name.json" 2>&1 | tee "$out/recipe_$name.txt"
    done ;;
  input-pipeline)
    shift
    python3 benchmarks/input_pipeline.py "$@" 2>&1 | tee "$out/input_pipeline.txt" ;;
  notebook)
    python3 -m course.cli run --profile full --only "$2" --output "$out/course" 2>&1 \
      | tee "$out/notebook_$2.txt"
    tar -czf "$out/course_$2.tar.gz" -C "$out" course && rm -rf "$out/course" ;;
  reference)
    shift
    commit=${COURSE_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
    for number in "$@"; do
      # Each notebook its own run, so one that runs out of time leaves the others' records.
      timeout --signal=TERM 540 python3 -m course.cli run --profile full --only "$number" \
        --output "$out/reference" 2>&1 | tee "$out/reference_$number.txt" || true
    done
    printf 'commit %s\ncommand tools/device_run.sh reference %s\n' "$commit" "$*" \
      > "$out/reference/provenance.txt"
    tar -czf "$out/reference.tar.gz" -C "$out" reference && rm -rf "$out/reference" ;;
  *)
    echo "usage: tools/device_run.sh time-to-accuracy|recipe-sweep|side-by-side|input-pipeline|notebook NN|reference NN..." >&2
    exit 2 ;;
esac
