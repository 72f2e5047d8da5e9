"""The hostile-upload benchmark (course/bench/hostile_uploads.py) runs end to end, tiny, and
prints its figures; its hostile files are what they claim; bad options are refused. Its figures
are printed for people to read, never asserted: machines are shared."""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image

from course.bench import hostile_uploads

pytestmark = pytest.mark.one_backend


def test_a_tiny_run_against_a_started_server_prints_its_figures(tmp_path, capsys):
    out = tmp_path / "figures.json"
    code = hostile_uploads.main(["--uploads", "4", "--image-side", "2000", "--tiff-pages",
                                 "1000", "--settle", "0.5", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    for words in ("machine:", "backend:", "4 at once of a 2000x2000 JPEG", "HTTP 200: 4",
                  "server RSS:   idle", "peak", "0.5 s after", "TIFF:         1,000 pages",
                  "server CPU"):
        assert words in printed, words
    found = json.loads(out.read_text())
    memory = found["memory"]
    assert min(memory["idle_mb"], memory["peak_mb"], memory["after_mb"]) > 0
    assert memory["answers"] == {"HTTP 200": 4}
    assert found["tiff"]["answer"] == "HTTP 200" and found["tiff"]["cpu_seconds"] >= 0


def test_the_hostile_files_are_what_they_claim():
    with Image.open(io.BytesIO(hostile_uploads.many_page_tiff(3))) as tiff:
        assert tiff.n_frames == 3 and tiff.size == (1, 1)
    jpeg = hostile_uploads.large_pixel_jpeg(1000)
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG" and image.size == (1000, 1000)
    assert len(jpeg) < 100_000  # few bytes on the wire, 3 MB decoded
    assert len(hostile_uploads.many_page_tiff(100_000)) < 10 * 1024 * 1024


def test_memory_and_cpu_are_read_for_a_process():
    assert hostile_uploads.rss_bytes(os.getpid()) > 1024 * 1024
    assert hostile_uploads.cpu_seconds(os.getpid()) > 0


@pytest.mark.parametrize(("options", "message"), [
    (["--uploads", "0"], "--uploads: got '0': give a whole number from 1 to 1,024"),
    (["--image-side", "20000"], "--image-side: got '20000': give a whole number from 1"),
    (["--tiff-pages", "200000"], "--tiff-pages: got '200000'"),
    (["--settle", "nan"], "--settle: got 'nan': give a finite number of at least 0"),
    (["--timeout", "0"], "--timeout: got '0': give a finite number above 0"),
    (["--model", "missing.keras"], "no file at"),
    (["--uploads", "many"], "give a whole number"),
])
def test_bad_options_are_refused(options, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        hostile_uploads.parse_args(options)
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_the_json_file_must_not_be_a_folder(tmp_path, capsys):
    with pytest.raises(SystemExit):
        hostile_uploads.parse_args(["--json", str(tmp_path)])
    assert "is a folder" in capsys.readouterr().err
