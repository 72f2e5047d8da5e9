"""`course serve` as users meet it: a real server process on localhost, real HTTP requests, a
clean stop; a clear refusal (exit 2) of a missing model, a foreign file, a port in use; and
clients that misbehave on the wire: over-limit uploads, stalled bodies, idle connections."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from course import cli
from course.serve import server_process, webapp
from helpers.deploy.classifier import Classifier
from tests.course.test_webapp import (
    assert_error,
    model_path,  # noqa: F401  (the session's tiny model)
)
from tests.helpers import test_uploads as made

pytestmark = pytest.mark.backend

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 120  # seconds: importing the backend and loading the model on a busy machine


def course_command() -> list[str]:
    """The `course` script beside this Python, as a user runs it; else the module."""
    script = Path(sys.executable).with_name("course")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "course.cli"]


@contextlib.contextmanager
def course_serve(model: Path, *options: str, log: Path) -> Iterator[tuple[subprocess.Popen,
                                                                            str]]:
    """`course serve --model MODEL --port 0` as a user runs it, until /health answers; yields
    the process and its base URL (on 127.0.0.1, the default host), and stops it whatever
    happens."""
    with server_process.started_server(model, *options, log=log, command=course_command(), cwd=ROOT,
                               timeout=START_TIMEOUT) as (process, url):
        assert url.startswith("http://127.0.0.1:"), url
        yield process, url


def test_a_real_server_answers_real_requests_and_stops_cleanly(model_path, tmp_path):  # noqa: F811
    log = tmp_path / "serve.log"
    with course_serve(model_path, "--max-upload-mb", "1", log=log) as (process, url):
        assert "Ctrl-C stops it" in log.read_text()
        health = httpx.get(f"{url}/health", timeout=10).json()
        assert health["status"] == "ok" and len(health["classes"]) == 10
        good = httpx.post(f"{url}/predict", timeout=30,
                          files={"file": ("photo.jpg", made.jpeg(640, 480), "image/jpeg")})
        assert good.status_code == 200 and len(good.json()["predictions"]) == 3
        bad = httpx.post(f"{url}/predict", timeout=30,
                         files={"file": ("notes.txt", made.not_an_image(), "text/plain")})
        assert bad.status_code == 415 and bad.json()["error"] == "not_an_image"
        big = httpx.post(f"{url}/predict", timeout=30,
                         files={"file": ("big.png", b"\x00" * 3_000_000, "image/png")})
        assert big.status_code == 413 and big.json()["error"] == "file_too_large"
        again = httpx.post(f"{url}/predict", timeout=30,
                           files={"file": ("photo.png", made.png(), "image/png")})
        assert again.status_code == 200
        page = httpx.get(url, timeout=10)
        assert page.status_code == 200 and 'type="file"' in page.text
        process.send_signal(signal.SIGINT)  # Ctrl-C
        # uvicorn shuts down gracefully, then the server ends with the status a shell gives
        # Ctrl-C (128 + SIGINT), on every backend
        assert process.wait(timeout=30) == 128 + signal.SIGINT
    assert "Finished server process" in log.read_text()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health", timeout=2)


def test_the_server_stops_when_its_standard_input_closes(model_path, tmp_path):  # noqa: F811
    """What notebook 11 relies on: a server started through a pipe never outlives its parent."""
    log = tmp_path / "serve.log"
    with open(log, "w") as output:
        process = subprocess.Popen([*course_command(), "serve", "--model", str(model_path),
                                    "--port", "0", "--stop-at-stdin-eof"],
                                   stdin=subprocess.PIPE, stdout=output,
                                   stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        server_process.started_url(process, log, timeout=START_TIMEOUT)
        process.stdin.close()  # what the parent's death does to the pipe
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def run_course(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([*course_command(), *arguments], capture_output=True, text=True,
                          cwd=ROOT, timeout=180)


def test_a_missing_model_file_exits_2_with_a_clear_message(tmp_path):
    result = run_course("serve", "--model", str(tmp_path / "missing.keras"))
    assert result.returncode == 2
    assert "no model file at" in result.stderr and "notebook 09" in result.stderr


def test_a_foreign_file_exits_2_with_model_cards_message(tmp_path):
    foreign = tmp_path / "model.keras"
    foreign.write_text("not a model")
    result = run_course("serve", "--model", str(foreign), "--port", "0")
    assert result.returncode == 2
    assert "not a model file saved by the course" in result.stderr


def test_a_port_in_use_exits_2_with_a_clear_message(model_path):  # noqa: F811
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        start = time.monotonic()
        result = run_course("serve", "--model", str(model_path), "--port", str(port))
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "--port" in result.stderr
    assert time.monotonic() - start < 60  # refused before the model is loaded


@pytest.mark.parametrize(("options", "message"), [
    (["--port", "70000"], "port number"), (["--max-upload-mb", "0"], "positive number"),
    (["--min-confidence", "1.5"], "between 0 and 1"), ([], "--model"),
])
def test_bad_options_are_refused(options, message, tmp_path, capsys):
    model = [] if not options else ["--model", str(tmp_path / "m.keras")]
    with pytest.raises(SystemExit) as stopped:
        cli.main(["serve", *model, *options])
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_help_says_where_it_listens(capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    assert "127.0.0.1: this machine only" in " ".join(capsys.readouterr().out.split())


def test_serve_works_without_the_runner_tools(model_path, tmp_path):  # noqa: F811
    """`course serve` needs FastAPI, not papermill: hide papermill and run --help and a refusal."""
    hidden = tmp_path / "site"
    hidden.mkdir()
    (hidden / "papermill.py").write_text("raise ModuleNotFoundError(\"No module named "
                                         "'papermill'\", name='papermill')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hidden), str(ROOT)])}
    code = "import sys; from course.cli import main; sys.exit(main(sys.argv[1:]))"
    run = [sys.executable, "-c", code]
    missing = subprocess.run([*run, "serve", "--model", str(tmp_path / "none.keras")],
                             capture_output=True, text=True, env=env, timeout=120)
    assert missing.returncode == 2 and "no model file" in missing.stderr
    refused = subprocess.run([*run, "run", "--only", "00"], capture_output=True, text=True,
                             env=env, timeout=120)
    assert refused.returncode == 2 and "keras-cnn-course[runner]" in refused.stderr


def test_the_course_script_is_installed():
    assert shutil.which("course") or Path(sys.executable).with_name("course").is_file()


def test_a_model_file_not_named_keras_exits_2_with_what_to_do(model_path, tmp_path):  # noqa: F811
    renamed = shutil.copy(model_path, tmp_path / "x.h5")
    result = run_course("serve", "--model", str(renamed), "--port", "0")
    assert result.returncode == 2, result.stderr
    assert f"course: cannot serve {renamed}: " in result.stderr
    assert "its name ends in '.h5'" in result.stderr and "rename it to x.keras" in result.stderr
    assert "Traceback" not in result.stderr


def test_over_limit_uploads_get_the_413_in_sync_and_async_clients(model_path,  # noqa: F811
                                                                    tmp_path):
    """A client sends its whole body before it reads the answer: the server reads what it
    sends (up to webapp.DRAIN_BYTES) before it answers 413 and closes, else httpx's async client
    meets a ReadError (the connection reset) instead of the answer. With and without
    Content-Length (chunked)."""
    big = b"\x00" * 3_000_000
    chunked = {"content-type": "multipart/form-data; boundary=xyz"}
    form = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + big + b"\r\n--xyz--\r\n")

    def chunks():
        for start in range(0, len(form), 65536):
            yield form[start:start + 65536]

    async def async_chunks():
        for chunk in chunks():
            yield chunk

    async def async_answers(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return [*[await client.post(f"{url}/predict",
                                        files={"file": ("big.png", big, "image/png")})
                      for _ in range(3)],
                    await client.post(f"{url}/predict", content=async_chunks(), headers=chunked)]

    with course_serve(model_path, "--max-upload-mb", "1", log=tmp_path / "serve.log") as (
            _, url):
        with httpx.Client(timeout=30) as client:
            answers = [*[client.post(f"{url}/predict",
                                     files={"file": ("big.png", big, "image/png")})
                         for _ in range(3)],
                       client.post(f"{url}/predict", content=chunks(), headers=chunked)]
        answers += asyncio.run(async_answers(url))
        for answer in answers:
            assert_error(answer, 413, "file_too_large")
            assert answer.headers["connection"] == "close"
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200


@pytest.fixture(scope="module")
def impatient_server(model_path) -> Iterator[tuple[str, int]]:  # noqa: F811
    """The web app on uvicorn in a thread, configured as `course serve` configures it but with
    a 1 s body timeout and a 1 s keep-alive; yields its (host, port)."""
    app = webapp.create_app(Classifier.from_file(model_path), body_timeout=1)
    server = server_process.uvicorn_server(app, log_level="warning", keep_alive=1)
    with server_process.bind("127.0.0.1", 0) as sock:
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "uvicorn did not start in 30 s"
        try:
            yield sock.getsockname()[:2]
        finally:
            server.should_exit = True
            thread.join(30)


def read_until_closed(connection: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and the seconds it took
    (the socket's own timeout fails the test if the server never closes it)."""
    start, received = time.monotonic(), b""
    while chunk := connection.recv(65536):
        received += chunk
    return received, time.monotonic() - start


def test_a_client_that_stalls_in_its_body_is_dropped_in_seconds(impatient_server):
    with socket.create_connection(impatient_server, timeout=30) as connection:
        connection.sendall(b"POST /predict HTTP/1.1\r\nHost: test\r\n"
                           b"Content-Type: multipart/form-data; boundary=xyz\r\n"
                           b"Content-Length: 100000\r\n\r\n--xyz\r\n")  # then nothing
        answer, seconds = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"error":"body_timeout"' in answer
    assert seconds < 10  # dropped after the 1 s timeout, not held forever


def test_an_idle_kept_alive_connection_is_closed(impatient_server):
    with socket.create_connection(impatient_server, timeout=30) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        answer, seconds = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"status":"ok"' in answer
    assert seconds < 10
