"""The load test (course/bench/load_test.py) runs end to end on a tiny model, counts errors
exactly, and refuses bad options. Its figures are printed for people to read, never asserted:
machines are shared."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from course.bench import load_test

pytestmark = pytest.mark.one_backend


def test_a_tiny_run_against_a_started_server_prints_its_figures(tmp_path, capsys):
    out = tmp_path / "figures.json"
    code = load_test.main(["--requests", "20", "--concurrency", "4", "--image-size", "64",
                           "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for words in ("machine:", "backend:", "requests/s", "p50", "p95", "max", "errors:       0"):
        assert words in printed
    found = json.loads(out.read_text())
    assert found["ok"] == 20 and found["errors"] == 0 and found["requests_per_second"] > 0
    assert found["latency_ms"]["p50"] <= found["latency_ms"]["p95"] <= found["latency_ms"]["max"]


class EveryThirdFails(BaseHTTPRequestHandler):
    """A stand-in server: /health answers; POST /predict fails with 503 on every third call."""

    calls = 0
    lock = threading.Lock()

    def do_GET(self):
        self._answer(200, {"status": "ok", "model": "stand-in", "keras_backend": "none"})

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            type(self).calls += 1
            failing = type(self).calls % 3 == 0
        self._answer(503 if failing else 200, {"error": "busy", "detail": "stand-in"}
                     if failing else {"predictions": []})

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in_url():
    """The URL of an EveryThirdFails server, running until the test ends."""
    EveryThirdFails.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), EveryThirdFails)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_errors_are_counted_by_kind(stand_in_url, capsys):
    # The untimed first request is call 1; the 30 timed ones are calls 2 to 31, of which
    # 3, 6, ..., 30 fail: 10 errors.
    code = load_test.main(["--url", stand_in_url, "--requests", "30", "--concurrency", "3"])
    printed = capsys.readouterr().out
    assert code == 1
    assert "errors:       10 (HTTP 503: 10)" in printed
    assert "backend:      none" in printed and "20 answered" in printed


class CountingPool(ThreadPoolExecutor):
    """A thread pool that records the most futures it ever held that were not done yet."""

    most_pending = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.futures = []

    def submit(self, *args, **kwargs):
        self.futures = [future for future in self.futures if not future.done()]
        self.futures.append(super().submit(*args, **kwargs))
        type(self).most_pending = max(type(self).most_pending, len(self.futures))
        return self.futures[-1]


def test_pending_requests_never_outnumber_the_concurrency(stand_in_url, monkeypatch):
    """A future per request (1.7 GB for a million) would hold all 90 here at once."""
    monkeypatch.setattr(load_test, "ThreadPoolExecutor", CountingPool)
    CountingPool.most_pending = 0
    image = load_test.test_image(16)
    result = load_test.run_load(stand_in_url, image, requests=90, concurrency=3, timeout=60)
    assert len(result["latencies"]) + sum(result["errors"].values()) == 90
    assert result["errors"] == {"HTTP 503": 30}
    assert 1 <= CountingPool.most_pending <= 3


def test_a_server_that_is_not_there_is_all_errors(capsys):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens once this socket closes
    code = load_test.main(["--url", f"http://127.0.0.1:{port}", "--requests", "5",
                           "--concurrency", "2", "--timeout", "30"])
    printed = capsys.readouterr().out
    assert code == 1 and "errors:       5 (ConnectError: 5)" in printed
    assert "p50 -" in printed


@pytest.mark.parametrize(("options", "message"), [
    (["--requests", "0"], "--requests: got '0': give a whole number of at least 1"),
    (["--requests", "many"], "--requests: got 'many': give a whole number"),
    (["--concurrency", "0"], "--concurrency: got '0': give a whole number from 1 to 1,024"),
    (["--concurrency", "1025"], "--concurrency: got '1025'"),
    (["--timeout", "0"], "--timeout: got '0': give a finite number above 0"),
    (["--timeout", "-5"], "--timeout: got '-5'"),
    (["--timeout", "nan"], "--timeout: got 'nan'"),
    (["--timeout", "inf"], "--timeout: got 'inf'"),
    (["--image-size", "0"], "--image-size: got '0': give a whole number from 1 to 4,096"),
    (["--image-size", "100000"], "--image-size: got '100000'"),
    (["--url", "localhost:8000"], "must start with http://"),
    (["--url", "http://x", "--model", "m.keras"], "not both"),
    (["--model", "missing.keras"], "no file at"),
])
def test_bad_options_are_refused(options, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        load_test.parse_args(options)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err
