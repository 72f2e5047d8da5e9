"""How many seconds of training a recipe needs to reach a target test accuracy on CIFAR-10.

    python -m course.bench.time_to_accuracy [--recipe page24] [--target 94] ...
    KERAS_BACKEND=jax python -m course.bench.time_to_accuracy ...   # the same run under JAX

Trains on all 50,000 training images with a recipe (`--recipe notebook`, the course's recipe
for ResNet-9, the default; `page24`, Page's 24-epoch DAWNBench recipe; `fast`, the course's
fast recipe of `helpers.modern.fast`, after the published speed runs) for a fixed number of
epochs (the schedule needs to know its end), then measures test accuracy once, with and without
test-time augmentation (flips; for `fast`, flips and one-pixel shifts, as airbench does).
Prints the machine, backend, data source and settings with the figures, as DAWNBench did:
training seconds with and without the first epoch's compilation, steady images per second,
the achieved TFLOP/s and its share of the device's peak, and whether the target was met.
`--json` also writes them to a file. Keras fixes its backend when first imported, so compare
backends in separate runs."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys

import keras
import numpy as np

from course.bench import options
from helpers import data, environment, training
from helpers.modern import fast, peaks, recipe, resnet

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Full scale on an accelerator; on a CPU a narrower network, fewer images and fewer epochs,
# with a target such a run can reach. Either set can be overridden option by option.
ACCELERATOR_DEFAULTS = {"width": 64, "train_size": None, "epochs": 24, "target": 94.0}
CPU_DEFAULTS = {"width": 16, "train_size": 5_000, "epochs": 6, "target": 55.0}
# On the JPEG copy of CIFAR-10 the notebook's recipe reached 91.3% in 24 epochs (one run, H100,
# JAX, bfloat16, 2026-11-24). How much of the gap to 94% is the compression and how much the
# recipe has not been measured; the default target there is what has been reached.
JPEG_COPY_TARGET = 91.0
RECIPES = {"notebook": recipe.Recipe(), "page24": recipe.PAGE_24, "fast": fast.FastRecipe()}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=options.percent, help="test accuracy to reach, in "
                        "percent, above 0 and at most 100 (default 94 on an accelerator, 91 "
                        "there on the JPEG copy of CIFAR-10, 55 on a CPU)")
    parser.add_argument("--epochs", type=options.positive_int, help="epochs of the schedule "
                        "(default 24; 6 on a CPU)")
    parser.add_argument("--recipe", choices=tuple(RECIPES), default="notebook",
                        help="notebook: the course's modern recipe (notebook 08); page24: "
                        "Page's 24-epoch recipe as he ran it (one-cycle to 0.4, batches of 512, "
                        "L2 5e-4, Cutout 8x8); fast: the course's fast recipe (its own network, "
                        "10 epochs, batches of 1,024). The options below override its values")
    parser.add_argument("--batch-size", type=options.positive_int,
                        help="the recipe's (500, which divides 50,000: no partial batch, which "
                        "JAX compiles anew; page24: 512, its last batch partial)")
    parser.add_argument("--precision", choices=("auto", *PRECISIONS), default="auto",
                        help="Keras dtype policy; auto (the default) picks the fastest this "
                        "hardware computes natively: mixed_bfloat16 on A100/H100 GPUs and TPUs, "
                        "mixed_float16 on older GPUs, float32 on a CPU")
    parser.add_argument("--width", type=options.positive_int, help="channels of the first "
                        "layer (default 64; 16 on a CPU)")
    parser.add_argument("--train-size", type=options.positive_int, help="training images, at "
                        "most the dataset's (default all 50,000; 5,000 on a CPU)")
    parser.add_argument("--steps-per-execution", type=options.positive_int, default=1)
    parser.add_argument("--peak-learning-rate", type=options.positive_float,
                        help="above 0 (the recipe's: 0.4)")
    parser.add_argument("--weight-decay", type=options.non_negative_float,
                        help="0 or more (the recipe's: decoupled 5e-3; page24's L2 5e-4; "
                        "fast's L2 1.33e-3)")
    parser.add_argument("--label-smoothing", type=options.fraction,
                        help="from 0 up to, not including, 1 (the recipe's: 0.2, page24's 0)")
    parser.add_argument("--no-xla", action="store_true", help="jit_compile=False: run op by op "
                        "(default: Keras's choice, XLA except under TensorFlow on a CPU)")
    parser.add_argument("--test-size", type=options.positive_int, help="test images, at most "
                        "the dataset's (default all 10,000)")
    parser.add_argument("--runs", type=options.positive_int, default=1,
                        help="repeat with seeds 0..runs-1")
    options.add_data_dir(parser)
    options.add_json(parser)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.on_accelerator = bool(environment.accelerators())
    args.target_given = args.target is not None
    args.train_size_given = args.train_size is not None
    defaults = ACCELERATOR_DEFAULTS if args.on_accelerator else CPU_DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    chosen = RECIPES[args.recipe]
    decay_field = "l2" if isinstance(chosen, fast.FastRecipe) else "weight_decay"
    if args.weight_decay is None:
        args.weight_decay = getattr(chosen, decay_field)
    for name in ("batch_size", "peak_learning_rate", "label_smoothing"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(chosen, name))
    args.plan = dataclasses.replace(
        chosen, epochs=args.epochs, batch_size=args.batch_size,
        peak_learning_rate=args.peak_learning_rate, label_smoothing=args.label_smoothing,
        **{decay_field: args.weight_decay})
    if args.train_size is not None and args.train_size < args.batch_size:
        parser.error("--train-size must be at least one batch (--batch-size)")
    if args.precision == "auto":
        args.precision = environment.mixed_precision_policy()
    return args


def refuse_sizes_over_the_data(args: argparse.Namespace, arrays) -> None:
    """Exit 2 where --train-size or --test-size asked for more images than the data holds: a
    quietly smaller run would be reported as the one asked for. Checked once the data is
    known, before any training. The CPU's default training size is no one's request: it is
    capped to the data, as the printed settings show."""
    x_train, _, x_test, _, title = arrays
    for option, asked, images, kind in (
            ("--train-size", args.train_size if args.train_size_given else None, x_train,
             "training"),
            ("--test-size", args.test_size, x_test, "test")):
        if asked is not None and asked > len(images):
            build_parser().error(f"{option} {asked:,} is more than the {len(images):,} {kind} "
                                 f"images of {title}: give at most {len(images):,}")


def machine() -> dict[str, str]:
    """What ran the benchmark, for the printed record."""
    report = environment.environment_report()
    return {"machine": f"{platform.machine()} {os.cpu_count()} CPU cores, {report['gpu']}",
            "backend": report["keras backend"], "keras": report["keras"]}


def training_data(train_size: int | None, data_dir: str | None, seed: int,
                  test_size: int | None = None):
    """All 50,000 training images and 10,000 test images (or random `train_size` and
    `test_size` of them) as uint8 arrays, with the data source's name."""
    (x_train, y_train, x_test, y_test), title = data.load_raw("cifar10", data_dir)
    rng = np.random.default_rng(seed)
    if train_size is not None and train_size < len(x_train):
        chosen = rng.permutation(len(x_train))[:train_size]
        x_train, y_train = x_train[chosen], y_train[chosen]
    if test_size is not None and test_size < len(x_test):
        chosen = rng.permutation(len(x_test))[:test_size]
        x_test, y_test = x_test[chosen], y_test[chosen]
    return x_train, y_train, x_test, y_test, title


def one_run(args: argparse.Namespace, seed: int, arrays) -> dict[str, float]:
    """Build, train and test one network with the recipe; return its figures."""
    x_train, y_train, x_test, y_test, _ = arrays
    keras.utils.set_random_seed(seed)
    plan = args.plan
    is_fast = isinstance(plan, fast.FastRecipe)
    if is_fast:  # its own network, at width / 64 of its widths
        model = plan.build(x_train, width_scale=args.width / 64, seed=seed)
        steps_per_epoch = plan.steps_per_epoch(len(x_train))
    else:
        mean, variance = resnet.channel_statistics(x_train)
        model = resnet.resnet9(mean, variance, width=args.width, image_shape=x_train.shape[1:],
                               cutout=plan.cutout, seed=seed)
        steps_per_epoch = -(-len(x_train) // args.batch_size)
    plan.compile(model, steps_per_epoch, steps_per_execution=args.steps_per_execution,
                 jit_compile=False if args.no_xla else "auto")
    args.xla = bool(model.jit_compile)
    args.steps_per_execution = model.steps_per_execution  # PyTorch takes 1 only
    labels = recipe.one_hot(y_train, 10)
    clock = training.EpochClock(batch=(x_train[:args.batch_size], labels[:args.batch_size]))
    if is_fast:
        plan.fit(model, x_train, labels, callbacks=[clock])
    else:
        model.fit(x_train, labels, batch_size=args.batch_size, epochs=args.epochs,
                  callbacks=[clock], verbose=0)
    plain = recipe.predict_with_flips(model, x_test, batch_size=1000, flips=False)
    flipped = (fast.predict_with_flips_and_shifts(model, x_test) if is_fast
               else recipe.predict_with_flips(model, x_test, batch_size=1000))
    images_per_epoch = min(len(x_train), steps_per_epoch * args.batch_size)
    images_per_second = images_per_epoch / statistics.median(clock.seconds[1:] or clock.seconds)
    # The arithmetic rate at steady state: FLOPs per image (helpers.flops) x images per second.
    tflop_per_second = (np.nan if clock.step_flops is None
                        else clock.step_flops / args.batch_size * images_per_second / 1e12)
    return {
        "seed": seed,
        "training_seconds": clock.training_seconds,
        "compile_seconds": clock.compile_seconds,
        # With one epoch there is no steady epoch to tell compilation apart: count it all.
        "seconds_without_compile": clock.training_seconds - np.nan_to_num(clock.compile_seconds),
        "images_per_second": images_per_second,
        "tflop_per_second": tflop_per_second,
        "share_of_peak": tflop_per_second / (args.peak_tflops or np.nan),
        "test_accuracy": 100 * float(np.mean(plain.argmax(1) == y_test)),
        "test_accuracy_tta": 100 * float(np.mean(flipped.argmax(1) == y_test)),
    }


def summary(runs: list[dict[str, float]], target: float) -> dict[str, float | bool]:
    """Means over runs; the target counts as met when the mean TTA accuracy reaches it."""
    def mean(values: list[float]) -> float:  # NaN where no run measured it (no known peak)
        measured = [value for value in values if not np.isnan(value)]
        return float(np.mean(measured)) if measured else float("nan")

    means = {key: mean([run[key] for run in runs]) for key in runs[0] if key != "seed"}
    return {**means, "target": target, "target_met": means["test_accuracy_tta"] >= target}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keras.mixed_precision.set_global_policy(args.precision)
    device = environment.accelerator_model()
    args.peak_tflops = peaks.peak_tflops(device, args.precision) if device else None
    arrays = training_data(args.train_size, args.data_dir, seed=0, test_size=args.test_size)
    refuse_sizes_over_the_data(args, arrays)
    if args.on_accelerator and not args.target_given and "JPEG copy" in arrays[4]:
        args.target = JPEG_COPY_TARGET
    settings = {**machine(), "data": arrays[4], "training images": len(arrays[0]),
                "test images": len(arrays[2]),
                "recipe": args.recipe, "precision": args.precision,
                "batch size": args.batch_size, "schedule": args.plan.schedule,
                "weight decay kind": args.plan.decay, "cutout": args.plan.cutout,
                "epochs": args.epochs, "width": args.width,
                "peak learning rate": args.peak_learning_rate,
                "weight decay": args.weight_decay, "label smoothing": args.label_smoothing,
                "steps per execution": args.steps_per_execution,
                "peak TFLOP/s": args.peak_tflops or "unknown for this device"}
    for key, value in settings.items():
        print(f"{key:>20}: {value}")
    runs = []
    for seed in range(args.runs):
        runs.append(one_run(args, seed, arrays))
        run = runs[-1]
        print(f"run {seed}: {run['test_accuracy_tta']:.2f}% test with flips "
              f"({run['test_accuracy']:.2f}% without) after {run['training_seconds']:.1f} s of "
              f"training ({run['compile_seconds']:.1f} s of it compiling), "
              f"{run['images_per_second']:,.0f} images/s, {run['tflop_per_second']:.2f} TFLOP/s"
              + (f" ({run['share_of_peak']:.0%} of the peak)" if args.peak_tflops else ""))
    settings["xla"] = args.xla
    print(f"{'xla':>20}: {args.xla}")
    result = summary(runs, args.target)
    verdict = "reached" if result["target_met"] else "NOT reached"
    print(f"\ntarget {args.target:.1f}% {verdict}: mean test accuracy "
          f"{result['test_accuracy_tta']:.2f}% with flips over {len(runs)} run(s), "
          f"{result['seconds_without_compile']:.1f} s of training without compilation "
          f"({result['training_seconds']:.1f} s with it), "
          f"{result['images_per_second']:,.0f} images/s")
    if args.json is not None:
        args.json.write_text(json.dumps({"settings": settings, "runs": runs,
                                         "summary": result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
