"""Starting, calling and stopping the web app's server: a socket bound before the model loads,
uvicorn on it, and a `course serve` process of its own for notebooks, tests and the load test."""

from __future__ import annotations

import contextlib
import errno
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

KEEP_ALIVE_SECONDS = 5  # uvicorn's default, said here: an idle connection is not kept longer


def bind(host: str = "127.0.0.1", port: int = 8000) -> socket.socket:
    """A socket bound to (host, port), ready for the server: binding before the model loads
    makes a port in use an error at once, not after a minute of loading. Port 0: any free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def port_in_use(error: OSError) -> bool:
    return error.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1))


def free_port(preferred: int = 8000, host: str = "127.0.0.1") -> int:
    """`preferred` if nothing listens on it, else a free port the system picks."""
    for port in (preferred, 0):
        try:
            with bind(host, port) as sock:
                sock.listen()
                return sock.getsockname()[1]
        except OSError:
            continue
    raise OSError(f"no free port on {host}")


def uvicorn_server(app: FastAPI, *, log_level: str = "info",
                   keep_alive: float = KEEP_ALIVE_SECONDS) -> uvicorn.Server:
    """A uvicorn server for `app` (to `.run(sockets=[sock])`): a connection kept alive between
    requests is closed after `keep_alive` idle seconds, and Ctrl-C waits at most 5 s for the
    requests under way. (The app itself drops a client that stalls in the middle of a request's
    body: see webapp.BodyLimit.)"""
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_keep_alive=keep_alive,
                                         timeout_graceful_shutdown=5))


def serve(app: FastAPI, sock: socket.socket, *, log_level: str = "info",
          stop_at_stdin_eof: bool = False) -> None:
    """Run `app` with uvicorn on a bound socket until Ctrl-C or SIGTERM (or, when asked, until
    standard input closes: a program that starts the server with a pipe as its stdin, such as
    a notebook, cannot then leave it running when that program ends, however it ends)."""
    server = uvicorn_server(app, log_level=log_level)
    if stop_at_stdin_eof:
        def stop_at_eof() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            server.should_exit = True

        threading.Thread(target=stop_at_eof, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn has shut down gracefully and passes the Ctrl-C on. End with the shell's status
        # for it (128 + SIGINT) ourselves: left to Python, the status depends on what was
        # imported (1, not a death by SIGINT, once torch._dynamo is, as Keras on PyTorch does).
        raise SystemExit(128 + signal.SIGINT) from None


def wait_until_ready(url: str, process: subprocess.Popen | None = None, *,
                     timeout: float = 120, log: str | Path | None = None) -> dict:
    """Poll `url`/health until the server answers (its JSON is returned). Fails at once if
    `process` has ended, with the end of its `log`, or after `timeout` seconds."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            said = Path(log).read_text()[-2000:] if log and Path(log).is_file() else ""
            raise RuntimeError(f"the server stopped (exit code {process.returncode}) before "
                               f"it answered:\n{said}")
        try:
            answer = httpx.get(f"{url}/health", timeout=2)
            if answer.status_code == 200:
                return answer.json()
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer from {url}/health after {timeout:.0f} s")
        time.sleep(0.25)


SERVER_URL = re.compile(r"at (http://[^/\s]+)/")  # in what `course serve` prints at start


def started_url(process: subprocess.Popen, log: str | Path, *, timeout: float = 120) -> str:
    """The base URL a `course serve` process printed into `log`, once its /health answers.
    Fails at once if the process ends first, with the end of its log."""
    deadline = time.monotonic() + timeout
    while not (found := SERVER_URL.search(Path(log).read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"course serve did not start (exit code {process.poll()}):\n"
                               f"{Path(log).read_text()[-2000:]}")
        time.sleep(0.2)
    wait_until_ready(found.group(1), process, timeout=max(deadline - time.monotonic(), 1),
                     log=log)
    return found.group(1)


def stop(process: subprocess.Popen, *, timeout: float = 30) -> None:
    """Terminate a server process (killed if it has not ended within `timeout` seconds)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdin is not None:
        process.stdin.close()


@contextlib.contextmanager
def started_server(model: str | Path, *options: str, log: str | Path,
                   command: Sequence[str] = (sys.executable, "-m", "course.cli"),
                   cwd: str | Path | None = None, timeout: float = 120
                   ) -> Iterator[tuple[subprocess.Popen, str]]:
    """`course serve --model MODEL --port 0 OPTIONS` in a process of its own (a free port the
    system picks; its output in `log`); yields the process and its base URL once /health
    answers, and stops it however the block ends."""
    with open(log, "w") as output:
        process = subprocess.Popen([*command, "serve", "--model", str(model), "--port", "0",
                                    *options], stdin=subprocess.PIPE, stdout=output,
                                   stderr=subprocess.STDOUT, cwd=cwd)
    try:
        yield process, started_url(process, log, timeout=timeout)
    finally:
        stop(process)


def show_json(answer) -> None:
    """An httpx response's status and JSON, as a notebook shows them."""
    print(f"HTTP {answer.status_code}")
    print(json.dumps(answer.json(), indent=2))
