"""Where should augmentation run? Images per second of one ResNet-9, fed four ways, in one run:

    .venv/bin/python -m course.bench.input_pipeline [--width 64] [--batch-size 500] [--steps 50]
    KERAS_BACKEND=jax .venv-jax/bin/python -m course.bench.input_pipeline ...

1. NumPy arrays straight into `fit`, no augmentation: the ceiling.
2. NumPy arrays, augmentation inside the model (flip and pad-and-crop): it runs on the
   accelerator, inside the compiled step.
3. The helpers' input pipeline (`pipeline.make_dataset`: tf.data where TensorFlow is
   installed, else a Keras PyDataset), no augmentation: the pipeline's own cost.
4. The same pipeline augmenting on the host's CPU with Keras's RandomFlip and
   RandomTranslation, as earlier notebooks do.

Prints the machine, backend and data with the figures; compare the ratios, which one run
measures under the same conditions (seconds differ from machine to machine and run to run).
On a CPU the defaults shrink (width 16, 8 steps) to keep it short."""

from __future__ import annotations

import argparse
import sys

import keras

from course.bench import options
from course.bench.time_to_accuracy import machine, training_data
from helpers import environment
from helpers.modern import recipe, resnet, speed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--width", type=options.positive_int,
                        help="ResNet-9 width (default 64; 16 on a CPU)")
    parser.add_argument("--batch-size", type=options.positive_int, default=500)
    parser.add_argument("--steps", type=options.positive_int, help="batches timed per way "
                        "(default 50; 8 on a CPU), after as many to compile and warm up")
    parser.add_argument("--precision", default="auto", help="Keras dtype policy, or auto "
                        "(the fastest this hardware supports)")
    options.add_data_dir(parser)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    on_cpu = not environment.accelerators()
    if args.width is None:
        args.width = 16 if on_cpu else 64
    if args.steps is None:
        args.steps = 8 if on_cpu else 50
    if args.precision == "auto":
        args.precision = environment.mixed_precision_policy()
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    keras.mixed_precision.set_global_policy(args.precision)
    needed = args.steps * args.batch_size
    x_train, y_train, _, _, title = training_data(needed, args.data_dir, seed=0)
    if len(x_train) < needed:
        build_parser().error(f"{args.steps} steps of {args.batch_size} images need {needed:,} "
                             f"training images, and {title} has {len(x_train):,}: lower "
                             f"--steps or --batch-size")
    labels = recipe.one_hot(y_train, 10)
    mean, variance = resnet.channel_statistics(x_train)
    host_augment = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=0),
        keras.layers.RandomTranslation(0.125, 0.125, fill_mode="reflect", seed=0)])
    ways = {
        "arrays, no augmentation": (False, None),
        "arrays, augmentation in the model (accelerator)": (True, None),
        "input pipeline, no augmentation": (False, keras.layers.Identity()),
        "input pipeline, augmentation on the host CPU": (False, host_augment),
    }
    pipeline_kind = "tf.data" if environment.tensorflow_installed() else "Keras PyDataset"
    for key, value in {**machine(), "data": title, "input pipeline": pipeline_kind,
                       "precision": args.precision, "width": args.width,
                       "batch size": args.batch_size, "timed steps": args.steps}.items():
        print(f"{key:>16}: {value}")
    rates = {}
    for name, (augment_in_model, host) in ways.items():
        model = resnet.resnet9(mean, variance, width=args.width, augment=augment_in_model,
                               image_shape=x_train.shape[1:], seed=0)
        recipe.Recipe(batch_size=args.batch_size).compile(model, args.steps)
        _, rates[name] = speed.images_per_second(model, x_train, labels,
                                                 batch_size=args.batch_size, steps=args.steps,
                                                 host_augment=host)
    reference = rates["arrays, augmentation in the model (accelerator)"]
    print(f"\n{'way of feeding the model':<50} {'images/s':>10} {'vs in-model':>12}")
    for name, rate in rates.items():
        print(f"{name:<50} {rate:>10,.0f} {rate / reference:>11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
