"""What hostile but realistic uploads cost the web app (`course serve`) on localhost: the
server's memory while many large-pixel JPEGs (small on the wire) are in flight, and its CPU
time for one multi-page TIFF of many tiny pages.

    .venv/bin/python -m course.bench.hostile_uploads                 # a server on a tiny model
    .venv/bin/python -m course.bench.hostile_uploads --uploads 16 --image-side 4000

It starts `course serve` in a process of its own (on --model, or on a tiny CNN with random
weights) and reads that process's resident memory (RSS): idle, the peak while --uploads JPEGs
of --image-side x --image-side pixels are in flight at once, and --settle seconds after they
were answered; then the server's CPU seconds for one TIFF of --tiff-pages pages. It prints the
figures and the answers' statuses, never asserts them: compare figures taken on the same machine
at the same time."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from course.bench import options
from course.bench.load_test import client_machine, started_course_serve

MAX_UPLOADS = 1024  # threads
MAX_IMAGE_SIDE = 12_000  # pixels: 432 MB to generate, and under Pillow's own limit
MAX_TIFF_PAGES = 110_000  # 90 bytes a page: under 10 MiB
SAMPLE_EVERY = 0.02  # seconds between two readings of the server's memory
MB = 1024 * 1024


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hostile_uploads.py",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path,
                        help="model file for the started server (default: a tiny untrained CNN)")
    parser.add_argument("--uploads", type=options.int_at_most(MAX_UPLOADS), default=64,
                        help=f"large-pixel JPEGs sent at once, one thread each (64; at most "
                             f"{MAX_UPLOADS})")
    parser.add_argument("--image-side", type=options.int_at_most(MAX_IMAGE_SIDE), default=6000,
                        help=f"side of the square JPEG sent, in pixels (6000; at most "
                             f"{MAX_IMAGE_SIDE:,}: generating it takes 3 bytes a pixel here)")
    parser.add_argument("--tiff-pages", type=options.int_at_most(MAX_TIFF_PAGES),
                        default=100_000,
                        help=f"pages of the multi-page TIFF sent once (100000, 8.6 MB; at most "
                             f"{MAX_TIFF_PAGES:,}, under the server's 10 MiB upload limit)")
    parser.add_argument("--settle", type=options.non_negative_float, default=5,
                        help="seconds to wait after the uploads before the last reading (5)")
    parser.add_argument("--timeout", type=options.positive_float, default=300,
                        help="seconds any one request may take (300)")
    options.add_json(parser)
    args = parser.parse_args(argv)
    if args.model and not args.model.is_file():
        parser.error(f"--model: no file at {args.model}")
    return args


def large_pixel_jpeg(side: int, *, progressive: bool = False) -> bytes:
    """A smooth gradient of side x side pixels: few bytes on the wire (about 0.7 MB at 6000),
    side * side * 3 bytes once decoded in full."""
    ramp = np.linspace(0, 255, side).astype(np.uint8)
    pixels = np.empty((side, side, 3), np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = ramp[None, :], ramp[:, None], 128
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85, progressive=progressive)
    return buffer.getvalue()


def many_page_tiff(pages: int) -> bytes:
    """A little-endian TIFF of `pages` 1x1 grayscale pages that all share one pixel: 90 bytes
    a page, so 100,000 pages fit under a 10 MB upload limit."""
    entries = [(256, 3, 1), (257, 3, 1), (258, 3, 8), (262, 3, 1),  # width, height, bits, black=0
               (273, 4, 8), (278, 3, 1), (279, 4, 1)]  # strip offset, rows per strip, its bytes
    ifd_size = 2 + 12 * len(entries) + 4
    out = bytearray(b"II*\x00" + struct.pack("<I", 12) + b"\x80\x00\x00\x00")  # pixel at 8
    for page in range(pages):
        following = 12 + (page + 1) * ifd_size if page + 1 < pages else 0
        out += struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            out += struct.pack("<HHII", tag, kind, 1, value)
        out += struct.pack("<I", following)
    return bytes(out)


def rss_bytes(pid: int) -> int:
    """The resident memory of process `pid` (psutil where installed, else /proc)."""
    try:
        import psutil
    except ModuleNotFoundError:
        status = Path(f"/proc/{pid}/status").read_text()
        kilobytes = next(line.split()[1] for line in status.splitlines()
                         if line.startswith("VmRSS:"))
        return int(kilobytes) * 1024
    return psutil.Process(pid).memory_info().rss


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid`, all its threads (psutil, else /proc)."""
    try:
        import psutil
    except ModuleNotFoundError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


class PeakMemory:
    """Reads a process's RSS every SAMPLE_EVERY seconds in a thread, keeping the highest."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            with contextlib.suppress(OSError, ProcessLookupError):
                self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def post(url: str, name: str, data: bytes, kind: str, timeout: float) -> str:
    """One upload; its outcome as "HTTP 200", "HTTP 503", ... or the transport error's name."""
    try:
        with httpx.Client(timeout=timeout) as client:
            answer = client.post(f"{url}/predict", files={"file": (name, data, kind)})
        return f"HTTP {answer.status_code}"
    except httpx.HTTPError as err:
        return type(err).__name__


def uploads_in_flight(url: str, pid: int, image: bytes, *, uploads: int, settle: float,
                      timeout: float) -> dict:
    """RSS idle, at its peak while `uploads` copies of `image` are sent at once, and `settle`
    seconds after the last answer; and how each upload was answered."""
    idle = rss_bytes(pid)
    start = time.perf_counter()
    with PeakMemory(pid) as memory, ThreadPoolExecutor(uploads) as pool:
        outcomes = Counter(pool.map(lambda _: post(url, "large.jpg", image, "image/jpeg",
                                                   timeout), range(uploads)))
    seconds = time.perf_counter() - start
    time.sleep(settle)
    return {"idle_mb": idle / MB, "peak_mb": memory.peak / MB,
            "after_mb": rss_bytes(pid) / MB, "seconds": seconds, "answers": dict(outcomes)}


def tiff_cost(url: str, pid: int, tiff: bytes, *, timeout: float) -> dict:
    """The server's CPU seconds and the wall time for one upload of `tiff`, and its answer."""
    cpu, start = cpu_seconds(pid), time.perf_counter()
    outcome = post(url, "pages.tif", tiff, "image/tiff", timeout)
    return {"cpu_seconds": cpu_seconds(pid) - cpu, "seconds": time.perf_counter() - start,
            "answer": outcome, "bytes": len(tiff)}


def report(found: dict) -> str:
    memory = found["memory"]
    answers = ", ".join(f"{kind}: {count}" for kind, count in sorted(memory["answers"].items()))
    tiff = found["tiff"]
    return "\n".join([
        f"machine:      {found['machine']}",
        f"backend:      {found['backend']}",
        f"uploads:      {found['uploads']} at once of a {found['image']}",
        f"answers:      {answers} (in {memory['seconds']:.1f} s)",
        f"server RSS:   idle {memory['idle_mb']:.0f} MB, peak {memory['peak_mb']:.0f} MB "
        f"(+{memory['peak_mb'] - memory['idle_mb']:.0f} MB), {found['settle']:g} s after "
        f"{memory['after_mb']:.0f} MB (+{memory['after_mb'] - memory['idle_mb']:.0f} MB)",
        f"TIFF:         {found['tiff_pages']:,} pages ({tiff['bytes'] / MB:.1f} MB): "
        f"{tiff['answer']}, server CPU {tiff['cpu_seconds']:.2f} s, wall {tiff['seconds']:.2f} s",
    ])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    image = large_pixel_jpeg(args.image_side)
    with tempfile.TemporaryDirectory() as scratch:
        with started_course_serve(args.model, Path(scratch)) as (process, url):
            health = httpx.get(f"{url}/health", timeout=10).json()
            print(f"server:       {url}, serving {health.get('model', 'unknown')}", flush=True)
            post(url, "warm-up.jpg", large_pixel_jpeg(64), "image/jpeg", args.timeout)
            time.sleep(1)  # the warm-up's memory settles before the idle reading
            memory = uploads_in_flight(url, process.pid, image, uploads=args.uploads,
                                       settle=args.settle, timeout=args.timeout)
            tiff = tiff_cost(url, process.pid, many_page_tiff(args.tiff_pages),
                             timeout=args.timeout)
    found = {"machine": client_machine(),
             "backend": health.get("keras_backend", "unknown"), "uploads": args.uploads,
             "image": f"{args.image_side}x{args.image_side} JPEG ({len(image):,} bytes)",
             "settle": args.settle, "memory": memory, "tiff_pages": args.tiff_pages,
             "tiff": tiff}
    print(report(found))
    if args.json:
        args.json.write_text(json.dumps(found, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
