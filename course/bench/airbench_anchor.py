"""The anchor for the course's speed runs: Keller Jordan's airbench (PyTorch), trained on the
course's own CIFAR-10 arrays on the same GPU, so our Keras recipes can be compared with the
fastest published CIFAR-10 training on the same data, machine and day.

    python -m course.bench.airbench_anchor [--variants 94 96] [--runs 3] [--json out.json]

airbench (`pip install airbench`; Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU",
arXiv:2404.00498) reads CIFAR-10 from `cifar10/train.pt` and `cifar10/test.pt` under the
working directory, downloading them where they are missing. This script writes the course's
arrays there first, in airbench's own format (uint8 images, height x width x channels, int64
labels, class names), in a working folder of its own, so nothing is downloaded and the data is
the course's (on the machines measured here, the JPEG copy). It needs PyTorch with a CUDA GPU;
nothing in the course itself depends on PyTorch. Each run is timed from the first step to the
last (CUDA-synchronised wall time, the whitening initialisation included), after one warm-up
run that lets cuDNN choose its kernels; accuracy is measured with airbench's own test-time
augmentation."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from course.bench import options
from helpers import data
from helpers.data import sources

VARIANTS = ("94", "95", "96")
IMAGE_SHAPE = (32, 32, 3)


def airbench_arrays(images: np.ndarray, labels: np.ndarray,
                    class_names: tuple[str, ...]) -> dict[str, object]:
    """One split as airbench stores it (before conversion to tensors): uint8 images of
    32 x 32 x 3, int64 labels from 0 to the number of classes - 1, and the class names."""
    if images.dtype != np.uint8 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"airbench reads uint8 images of shape (N, 32, 32, 3), got "
                         f"{images.dtype} {images.shape}")
    labels = np.asarray(labels).reshape(-1).astype(np.int64)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if labels.size and not 0 <= labels.min() <= labels.max() < len(class_names):
        raise ValueError(f"labels must lie in 0..{len(class_names) - 1}, got "
                         f"{labels.min()}..{labels.max()}")
    return {"images": np.ascontiguousarray(images), "labels": labels,
            "classes": list(class_names)}


def write_airbench_folder(workdir: Path, data_dir: str | None = None) -> str:
    """Write the course's CIFAR-10 train and test splits as `workdir/cifar10/{train,test}.pt`;
    return the data's title (which says when it is the JPEG copy). Needs PyTorch."""
    import torch

    (x_train, y_train, x_test, y_test), title = data.load_raw("cifar10", data_dir)
    classes = sources.dataset_spec("cifar10").class_names
    folder = workdir / "cifar10"
    folder.mkdir(parents=True, exist_ok=True)
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        split = airbench_arrays(images, labels, classes)
        torch.save({"images": torch.from_numpy(split["images"]),
                    "labels": torch.from_numpy(split["labels"]),
                    "classes": split["classes"]}, folder / f"{name}.pt")
    return title


def missing_requirements() -> str | None:
    """Why airbench cannot run here, or None."""
    for module, package in (("torch", "PyTorch"), ("airbench", "airbench")):
        if importlib.util.find_spec(module) is None:
            return (f"{package} is not installed: the anchor runs only where PyTorch with a "
                    "CUDA GPU is (pip install torch torchvision airbench)")
    import torch

    if not torch.cuda.is_available():
        return "PyTorch sees no CUDA GPU: airbench trains on a CUDA GPU only"
    return None


def timed_run(airbench, variant: str, seed: int) -> dict[str, float]:
    """Train one airbench network with `seed`; its seconds and test accuracy (with airbench's
    test-time augmentation, its default level for the variant)."""
    import torch

    torch.manual_seed(seed)
    torch.cuda.synchronize()
    start = time.perf_counter()
    model = getattr(airbench, f"train{variant}")(verbose=False)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    test = airbench.CifarLoader("cifar10", train=False, batch_size=2000)
    return {"seed": seed, "training_seconds": seconds,
            "test_accuracy_tta": 100 * airbench.evaluate(model, test, tta_level=2)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=["94"],
                        help="airbench networks to train (default 94)")
    parser.add_argument("--runs", type=options.positive_int, default=3,
                        help="runs per variant, with seeds 0..runs-1 (default 3)")
    parser.add_argument("--workdir", type=Path, default=Path("runs/airbench"),
                        help="folder for airbench's cifar10/ data (default runs/airbench)")
    options.add_data_dir(parser)
    options.add_json(parser)
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, refused (exit 2) before any work where airbench cannot run here."""
    parser = build_parser()
    args = parser.parse_args(argv)
    why = missing_requirements()
    if why:
        parser.error(why)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    json_path = args.json.resolve() if args.json else None
    title = write_airbench_folder(args.workdir, args.data_dir)
    os.chdir(args.workdir)  # airbench reads cifar10/ from the working directory
    import airbench
    import torch

    settings = {"data": title, "device": torch.cuda.get_device_name(0),
                "torch": torch.__version__, "variants": args.variants, "runs": args.runs}
    for key, value in settings.items():
        print(f"{key:>10}: {value}")
    results = {}
    for variant in args.variants:
        # airbench cuts its warm-up to one step only when verbose (it prints a line).
        getattr(airbench, f"warmup{variant}")(verbose=True)
        runs = [timed_run(airbench, variant, seed) for seed in range(args.runs)]
        accuracies = [run["test_accuracy_tta"] for run in runs]
        seconds = [run["training_seconds"] for run in runs]
        results[f"airbench{variant}"] = {"runs": runs, "mean_accuracy": statistics.mean(accuracies),
                                         "accuracy_spread": max(accuracies) - min(accuracies),
                                         "mean_seconds": statistics.mean(seconds)}
        print(f"airbench{variant}: {statistics.mean(accuracies):.2f}% test with TTA (spread "
              f"{max(accuracies) - min(accuracies):.2f} over {len(runs)} runs), "
              f"{statistics.mean(seconds):.2f} s of training on average")
    if json_path is not None:
        json_path.write_text(json.dumps({"settings": settings, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
