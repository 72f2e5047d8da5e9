"""A bounded load test of the web app (`course serve`) on localhost: requests per second and
latency of POST /predict, sent from several threads at once.

    .venv/bin/python -m course.bench.load_test                     # a server on a tiny model
    .venv/bin/python -m course.bench.load_test --model PATH/model.keras  # a saved model
    .venv/bin/python -m course.bench.load_test --url http://127.0.0.1:8000 --requests 500

Without --url it starts `course serve` on a free port (on --model, or on a tiny CNN with random
weights: the network's size then counts for little, the server's own work for most) and stops it
at the end. Prints the machine, the backend, requests per second, p50 / p95 / max latency and
the errors; exits 1 if any request failed. A benchmark prints, it never asserts a speed: the
machines here are shared, so compare figures taken on the same machine at the same time."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from course.bench import options

START_TIMEOUT = 180  # seconds for a started server to answer /health
MAX_IMAGE_SIZE = 4096  # pixels a side
MAX_CONCURRENCY = 1024  # threads


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="load_test.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="base URL of a running server (default: start one)")
    parser.add_argument("--model", type=Path,
                        help="model file for the started server (default: a tiny untrained CNN)")
    parser.add_argument("--requests", type=options.positive_int, default=200,
                        help="requests to send (200)")
    parser.add_argument("--concurrency", type=options.int_at_most(MAX_CONCURRENCY), default=8,
                        help=f"requests in flight at once, one thread each (8; at most "
                             f"{MAX_CONCURRENCY}: a server on this machine is saturated long "
                             f"before)")
    parser.add_argument("--timeout", type=options.positive_float, default=120,
                        help="seconds for the whole test; requests not sent by then count as "
                             "errors (120)")
    parser.add_argument("--image-size", type=options.int_at_most(MAX_IMAGE_SIZE), default=256,
                        help=f"side of the square JPEG sent, in pixels (256; at most "
                             f"{MAX_IMAGE_SIZE}, a large phone photo's side: such a JPEG is "
                             f"about 6 MB, under the server's 10 MiB upload limit, and takes "
                             f"about 1 GB of memory to generate)")
    options.add_json(parser)
    args = parser.parse_args(argv)
    if args.url and not re.match(r"https?://", args.url):
        parser.error(f"--url must start with http:// or https://, got {args.url}")
    if args.url and args.model:
        parser.error("give --url (a running server) or --model (a server to start), not both")
    if args.model and not args.model.is_file():
        parser.error(f"--model: no file at {args.model}")
    return args


def client_machine() -> str:
    """The machine the benchmark's client runs on (the server's, when it starts one), for the
    printed record."""
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}")


@contextlib.contextmanager
def started_course_serve(model: Path | None, scratch: Path
                         ) -> Iterator[tuple[subprocess.Popen, str]]:
    """`course serve` in a process of its own on `model`, or, when None, on a tiny CNN with
    random weights saved in `scratch` (the network's size then counts for little, the server's
    own work for most); yields the process and its URL, and stops it however the block ends.
    Keras loads only in the server, never in this client."""
    from course.serve import server_process

    if model is None:
        from course.bench.stand_in_model import save_untrained_model

        model = save_untrained_model(scratch / "model.keras")
        print("model:        a tiny CNN with random weights (--model PATH for another)")
    # --stop-at-stdin-eof: the server cannot outlive the benchmark, however it ends
    with server_process.started_server(model, "--stop-at-stdin-eof", log=scratch / "serve.log",
                                       timeout=START_TIMEOUT) as started:
        yield started


def test_image(side: int, seed: int = 0) -> bytes:
    """A photo-like JPEG (a smooth gradient with noise): decoding and resizing it is part of
    every request, as for a user's photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] * (255 / max(side - 1, 1))
    pixels = np.stack([x, y, np.full_like(x, 128)], axis=-1) + rng.normal(0, 12, (side, side, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def run_load(url: str, image: bytes, *, requests: int, concurrency: int,
             timeout: float) -> dict:
    """Send `requests` uploads from `concurrency` threads; latencies of the answered ones (HTTP
    200) and a count of every failure by kind. Each thread sends one request after another
    until none is left: only `concurrency` tasks ever wait in the pool, so memory stays flat
    however many requests are sent (a future per request took 1.7 GB for a million)."""
    deadline = time.monotonic() + timeout
    latencies, errors, lock = [], Counter(), threading.Lock()
    unsent = iter(range(requests))

    def claim() -> bool:
        with lock:
            return next(unsent, None) is not None

    def one(client: httpx.Client) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            with lock:
                errors["not sent before --timeout"] += 1
            return
        start = time.perf_counter()
        try:
            answer = client.post(f"{url}/predict", timeout=min(remaining, 60),
                                 files={"file": ("photo.jpg", image, "image/jpeg")})
            kind = None if answer.status_code == 200 else f"HTTP {answer.status_code}"
        except httpx.HTTPError as err:
            kind = type(err).__name__
        seconds = time.perf_counter() - start
        with lock:
            if kind:
                errors[kind] += 1
            else:
                latencies.append(seconds)

    def sender() -> None:
        with httpx.Client() as client:
            while claim():
                one(client)

    threads = min(concurrency, requests)
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for sent in [pool.submit(sender) for _ in range(threads)]:
            sent.result()
    elapsed = time.perf_counter() - start
    return {"latencies": latencies, "errors": dict(errors), "seconds": elapsed}


def figures(result: dict, *, requests: int, concurrency: int, backend: str,
            image: str) -> dict:
    latencies = sorted(result["latencies"])
    milliseconds = [1000 * value for value in latencies]

    def percentile(p: float) -> float | None:
        if not milliseconds:
            return None
        return float(np.percentile(milliseconds, p))

    return {
        "machine": client_machine(),
        "backend": backend,
        "image": image,
        "requests": requests,
        "concurrency": concurrency,
        "ok": len(latencies),
        "errors": sum(result["errors"].values()),
        "error_kinds": result["errors"],
        "seconds": round(result["seconds"], 3),
        "requests_per_second": round(len(latencies) / result["seconds"], 2)
        if result["seconds"] > 0 else None,
        "latency_ms": {"p50": percentile(50), "p95": percentile(95),
                       "max": max(milliseconds) if milliseconds else None,
                       "mean": statistics.fmean(milliseconds) if milliseconds else None},
    }


def report(found: dict) -> str:
    latency = found["latency_ms"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} ms"

    kinds = ", ".join(f"{kind}: {count}" for kind, count in found["error_kinds"].items())
    return "\n".join([
        f"machine:      {found['machine']}",
        f"backend:      {found['backend']}",
        f"load:         {found['requests']} requests of a {found['image']}, "
        f"{found['concurrency']} at a time",
        f"throughput:   {found['requests_per_second'] or 0:.1f} requests/s "
        f"({found['ok']} answered in {found['seconds']:.2f} s)",
        f"latency:      p50 {ms(latency['p50'])}, p95 {ms(latency['p95'])}, "
        f"max {ms(latency['max'])}",
        f"errors:       {found['errors']}" + (f" ({kinds})" if kinds else ""),
    ])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    image = test_image(args.image_size)
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as stack:
        url = args.url.rstrip("/") if args.url else None
        if url is None:
            _, url = stack.enter_context(started_course_serve(args.model, Path(scratch)))
        try:
            health = httpx.get(f"{url}/health", timeout=10).json()
            backend = health.get("keras_backend", "unknown")
            print(f"server:       {url}, serving {health.get('model', 'unknown')}")
            httpx.post(f"{url}/predict", timeout=60,  # one untimed request first
                       files={"file": ("photo.jpg", image, "image/jpeg")})
        except (httpx.HTTPError, ValueError) as err:
            backend = f"unknown (no /health: {type(err).__name__})"
        result = run_load(url, image, requests=args.requests,
                          concurrency=args.concurrency, timeout=args.timeout)
    found = figures(result, requests=args.requests, concurrency=args.concurrency,
                    backend=backend, image=f"{args.image_size}x{args.image_size} JPEG "
                                          f"({len(image):,} bytes)")
    print(report(found))
    if args.json:
        args.json.write_text(json.dumps(found, indent=2))
    return 1 if found["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
