"""The web app through FastAPI's test client: every kind of upload a user may send, the status
and JSON of each answer, and a good request answered right after each bad one."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import threading
import warnings
import zipfile
from pathlib import Path
from urllib.parse import urljoin

import anyio
import httpx
import keras
import numpy as np
import pytest

from course.bench import stand_in_model
from course.serve import webapp
from helpers.data.sources import CIFAR10_CLASSES
from helpers.deploy import classifier, model_card
from tests.helpers import test_uploads as made

pytestmark = pytest.mark.backend

LIMIT = 256 * 1024  # a small upload limit, so "too large" costs little to send


@pytest.fixture(scope="session")
def model_path(tmp_path_factory) -> Path:
    """A tiny CNN with random weights (uint8 32x32x3 -> Rescaling -> Conv -> pooling -> softmax
    over CIFAR-10's classes), saved with its card as notebook 09 saves a trained model."""
    return stand_in_model.save_untrained_model(tmp_path_factory.mktemp("model") / "model.keras")


@pytest.fixture(scope="module")
def client(model_path):
    with warnings.catch_warnings():  # Starlette's notice that its client will move to httpx2
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    app = webapp.create_app(classifier.Classifier.from_file(model_path),
                            max_upload_bytes=LIMIT)
    with TestClient(app) as client:
        yield client


def upload(client, data: bytes, name: str = "image.png", field: str = "file",
           content_type: str = "application/octet-stream"):
    return client.post("/predict", files={field: (name, data, content_type)})


def assert_good_prediction(answer) -> dict:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"predictions", "low_confidence", "warning", "notes", "model"}
    assert len(body["predictions"]) == 3
    assert all(item["class"] in CIFAR10_CLASSES for item in body["predictions"])
    probabilities = [item["probability"] for item in body["predictions"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 <= p <= 1 for p in probabilities)
    assert isinstance(body["low_confidence"], bool)
    assert (body["warning"] is not None) == body["low_confidence"]
    return body


def assert_error(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"error", "detail"} and body["error"] == code
    assert len(body["detail"]) > 20  # a sentence saying what to do, not a bare code
    return body


def still_serving(client) -> None:
    assert_good_prediction(upload(client, made.png()))


def test_health_says_what_is_served(client):
    answer = client.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "model": "untrained tiny CNN (random weights, "
                             "for tests)", "classes": list(CIFAR10_CLASSES),
                             "keras_backend": keras.backend.backend()}


def test_the_page_has_the_upload_form_and_nothing_external(client):
    answer = client.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    for part in ('<input id="file" name="file" type="file"', '<label for="file">',
                 '<button id="classify"', 'fetch("predict"', 'role="alert"'):
        assert part in page
    assert "http://" not in page and "https://" not in page  # works offline: no CDN, no fonts


def test_the_api_is_documented(client):
    schema = client.get("/openapi.json").json()
    assert {"/health", "/predict"} <= set(schema["paths"])
    assert "multipart/form-data" in schema["paths"]["/predict"]["post"]["requestBody"]["content"]


@pytest.mark.parametrize(("name", "data"), [
    ("photo.jpg", made.jpeg(64, 48)), ("large.jpg", made.jpeg(640, 480)),
    ("tall.jpg", made.jpeg(30, 200)), ("tiny.png", made.png(8, 8)),
    ("gray.png", made.grayscale()), ("rgba.png", made.rgba_half_transparent()),
    ("palette.png", made.palette_with_transparency()), ("deep.png", made.png_16bit()),
    ("animated.gif", made.animated_gif()), ("rotated.jpg", made.exif_rotated_jpeg()),
])
def test_good_images_of_every_kind_get_three_predictions(client, name, data):
    body = assert_good_prediction(upload(client, data, name))
    assert body["model"].startswith("untrained tiny CNN")


@pytest.mark.parametrize(("data", "note"), [
    (made.grayscale(), "grayscale"), (made.rgba_half_transparent(), "composited on white"),
    (made.palette_with_transparency(), "palette"), (made.png_16bit(), "16-bit"),
    (made.animated_gif(), "first frame"), (made.exif_rotated_jpeg(), "EXIF orientation (6)"),
    (made.png(320, 240), "centre 240x240 square"), (made.jpeg(640, 480), "decoded at 1/4 scale"),
])
def test_the_answer_says_what_was_done_to_the_image(client, data, note):
    notes = assert_good_prediction(upload(client, data))["notes"]
    assert any(note in line for line in notes), notes


def test_the_exif_rotation_reaches_the_model(model_path):
    """The array the model is given is the upright image: red on top, blue at the bottom."""
    served = classifier.Classifier.from_file(model_path)
    array, _ = served.prepare(made.exif_rotated_jpeg(6))
    assert made.close_to(array[0, 16], made.RED) and made.close_to(array[-1, 16], made.BLUE)


@pytest.mark.parametrize(("send", "status", "code"), [
    (lambda c: upload(c, b"", "empty.png"), 400, "empty_file"),
    (lambda c: upload(c, made.not_an_image(), "notes.txt"), 415, "not_an_image"),
    (lambda c: upload(c, made.truncated_jpeg(), "cut.jpg"), 400, "corrupt_image"),
    (lambda c: upload(c, made.truncated_png(), "cut.png"), 400, "corrupt_image"),
    (lambda c: upload(c, made.bomb(), "bomb.png"), 413, "image_too_large"),
    (lambda c: upload(c, b"\x00" * (LIMIT + 1), "big.png"), 413, "file_too_large"),
    (lambda c: upload(c, b"\x00" * (3 * LIMIT), "huge.png"), 413, "file_too_large"),
    (lambda c: upload(c, made.png(), field="image"), 422, "missing_field"),
    (lambda c: c.post("/predict", data={"file": "a file name, not a file"},
                      files={"other": ("x.txt", b"x")}), 422, "invalid_request"),
    (lambda c: c.post("/predict", json={"file": "aGVsbG8="}), 415, "wrong_content_type"),
    (lambda c: c.post("/predict", content=b"hello", headers={"content-type": "text/plain"}),
     415, "wrong_content_type"),
    (lambda c: c.post("/predict", content=made.png(), headers={"content-type": "image/png"}),
     415, "wrong_content_type"),
    (lambda c: c.post("/predict", data={"file": "x"}), 415, "wrong_content_type"),
    (lambda c: c.get("/predict"), 405, "method_not_allowed"),
    (lambda c: c.put("/predict"), 405, "method_not_allowed"),
    (lambda c: c.delete("/health"), 405, "method_not_allowed"),
    (lambda c: c.get("/nowhere"), 404, "not_found"),
], ids=["empty", "non-image", "truncated-jpeg", "truncated-png", "decompression-bomb",
        "over-limit-by-one", "far-over-limit", "missing-field", "text-field", "json-body",
        "text-body", "raw-image-body", "form-urlencoded", "get-predict", "put-predict",
        "delete-health", "unknown-path"])
def test_bad_requests_get_a_json_error_and_the_server_keeps_serving(client, send, status,
                                                                    code):
    assert_error(send(client), status, code)
    still_serving(client)


def test_a_wrong_method_says_which_are_allowed(client):
    assert client.get("/predict").headers["allow"] == "POST"


def test_an_upload_without_content_length_is_cut_off_at_the_limit(client):
    """A chunked upload (no Content-Length) is refused once the limit is crossed."""
    sent = []

    def chunks():
        for _ in range(64):
            sent.append(1)
            yield b"\x00" * 16384  # 1 MiB in all, four times the limit

    answer = client.post("/predict", content=chunks(),
                         headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert_error(answer, 413, "file_too_large")
    still_serving(client)


def test_a_false_content_length_is_refused_at_once(client):
    answer = client.post("/predict", content=b"x", headers={
        "content-type": "multipart/form-data; boundary=xyz", "content-length": str(10 * LIMIT)})
    assert answer.status_code == 413
    still_serving(client)


def test_low_confidence_follows_the_threshold(model_path):
    always = classifier.Classifier.from_file(model_path, min_confidence=1.0)
    never = classifier.Classifier.from_file(model_path, min_confidence=0.0)
    unsure = always.predict(made.png())
    assert unsure.low_confidence and "unlike the 10 classes" in unsure.warning
    sure = never.predict(made.png())
    assert not sure.low_confidence and sure.warning is None
    assert sure.top == unsure.top


def test_predict_takes_arrays_too(model_path):
    served = classifier.Classifier.from_file(model_path)
    image = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    from_array = served.predict(image)
    assert from_array.notes == [] and len(from_array.top) == 3
    assert served.predict(np.zeros((64, 64), np.uint8)).notes  # grayscale, resized
    probabilities = served.probabilities(np.stack([image, image]))
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_a_model_file_without_a_card_is_refused_with_model_cards_messages(tmp_path):
    plain = tmp_path / "plain.keras"
    stand_in_model.untrained_model().save(plain)
    with pytest.raises(ValueError, match="no model card"):
        classifier.Classifier.from_file(plain)
    with pytest.raises(FileNotFoundError, match="no model file"):
        classifier.Classifier.from_file(tmp_path / "missing.keras")


def rewrite_card(source: Path, target: Path, **changes) -> Path:
    """A copy of a course model file whose card has `changes`."""
    card = {**model_card.read_card(source), **changes}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for entry in old.namelist():
            content = (json.dumps(card) if entry == model_card.CARD_ENTRY
                       else old.read(entry))
            new.writestr(entry, content)
    return target


@pytest.mark.parametrize(("changes", "words"), [
    ({"outputs": "logits"}, "not 'probabilities'"),
    ({"image_shape": [32, 32]}, "RGB images"),
    ({"image_shape": [32, 32, 1]}, "RGB images"),
    ({"class_names": ["one", "two", "three"]}, "10 outputs but its card names 3"),
])
def test_a_card_the_classifier_cannot_honour_is_refused(model_path, tmp_path, changes, words):
    with pytest.raises(ValueError, match=words):
        classifier.Classifier.from_file(rewrite_card(model_path, tmp_path / "m.keras",
                                                     **changes))


def test_a_model_file_renamed_from_keras_is_refused_with_what_to_do(model_path, tmp_path):
    """Keras reads a file as its name's ending says: a .keras archive named .h5 would be read
    as HDF5 and fail with h5py's "file signature not found"."""
    for name in ("model.h5", "model"):
        renamed = shutil.copy(model_path, tmp_path / name)
        with pytest.raises(ValueError, match=r"its name (ends in '\.h5'|has no extension).*"
                                             r"rename it to model\.keras"):
            classifier.Classifier.from_file(renamed)


URL_IN_HTML = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)|url:\s*["']([^"']+)|(\w+://[^\s"'<>]+)""")


@pytest.mark.parametrize("page", ["/", "/docs"])
def test_the_pages_load_everything_from_the_app_itself(client, page):
    """No CDN, no fonts, no validator: every address in the page is on the app's own origin,
    and answers."""
    answer = client.get(page)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    addresses = [next(part for part in found if part)
                 for found in URL_IN_HTML.findall(answer.text)]
    assert all("://" not in address and not address.startswith("//")
               for address in addresses), addresses
    if page == "/docs":
        assert len(addresses) >= 3  # Swagger UI's script and style, the API's description
    for address in addresses:
        # A plain string: Starlette's client is httpx's or httpx2's, whichever is installed.
        assert client.get(urljoin(str(answer.url), address)).status_code == 200, address


def test_redoc_is_off_since_its_script_loads_a_logo_from_the_internet(client):
    assert_error(client.get("/redoc"), 404, "not_found")
    assert "no ReDoc page" in client.get("/").text


def test_the_model_cards_names_are_escaped_in_html_and_the_api_description(model_path,
                                                                           tmp_path):
    names = ["<script>alert(1)</script>", *CIFAR10_CLASSES[1:]]
    hostile = rewrite_card(model_path, tmp_path / "hostile.keras", class_names=names,
                           model='<img src=x onerror="alert(2)">')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    with TestClient(webapp.create_app(classifier.Classifier.from_file(hostile))) as client:
        for page in ("/", "/docs"):
            text = client.get(page).text
            assert "<script>alert(1)" not in text and "<img src=x" not in text
        description = client.get("/openapi.json").json()["info"]["description"]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in description
        assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in description
        assert "<" not in description
        assert client.get("/health").json()["classes"][0] == names[0]  # JSON, not HTML


def blocking_classifier(model_path: Path) -> tuple[classifier.Classifier, threading.Event,
                                                   threading.Event]:
    """A classifier whose predictions wait until `release` is set; `entered` says one began."""
    served = classifier.Classifier.from_file(model_path)
    entered, release, predict = threading.Event(), threading.Event(), served.predict

    def predict_when_released(data):
        entered.set()
        assert release.wait(60), "the test never released the prediction"
        return predict(data)

    served.predict = predict_when_released
    return served, entered, release


def test_uploads_past_the_workers_and_the_queue_get_503_with_retry_after(model_path):
    served, entered, release = blocking_classifier(model_path)
    app = webapp.create_app(served, workers=1, waiting=0)
    files = {"file": ("photo.png", made.png(), "image/png")}

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            first = asyncio.create_task(client.post("/predict", files=files))
            while not entered.is_set():
                await asyncio.sleep(0.01)
            refused = await client.post("/predict", files=files)
            release.set()
            return refused, await first, await client.post("/predict", files=files)

    refused, first, later = asyncio.run(scenario())
    body = assert_error(refused, 503, "busy")
    assert refused.headers["retry-after"] == "1" and "try again" in body["detail"]
    assert_good_prediction(first)
    assert_good_prediction(later)


def test_turns_queue_a_bounded_number_of_calls_and_refuse_the_rest():
    turns = webapp.Turns(workers=1, waiting=2)
    release, done = threading.Event(), []

    def work(number: int) -> None:
        assert release.wait(60)
        done.append(number)

    async def scenario():
        async with anyio.create_task_group() as group:
            for number in range(3):  # one runs, two wait
                group.start_soon(turns.run, work, number)
            while turns.admitted < 3:
                await anyio.sleep(0.01)
            with pytest.raises(webapp.ApiError) as refused:
                await turns.run(work, 3)
            release.set()
        return refused.value

    refused = anyio.run(scenario)
    assert refused.status == 503 and refused.headers == {"Retry-After": "1"}
    assert sorted(done) == [0, 1, 2] and turns.admitted == 0
    with pytest.raises(ValueError, match="at least 1 worker"):
        webapp.Turns(workers=0, waiting=1)


def test_a_client_that_stops_sending_its_body_gets_408(model_path):
    """Driven at the ASGI level: 10 bytes of the 1,000 announced, then nothing."""
    app = webapp.create_app(classifier.Classifier.from_file(model_path), body_timeout=0.5)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": "/predict", "raw_path": b"/predict",
             "root_path": "", "query_string": b"", "server": ("127.0.0.1", 8000),
             "client": ("127.0.0.1", 5000),
             "headers": [(b"host", b"app"), (b"content-length", b"1000"),
                         (b"content-type", b"multipart/form-data; boundary=xyz")]}
    sent, calls = [], []

    async def receive():
        calls.append(1)
        if len(calls) == 1:
            return {"type": "http.request", "body": b"--xyz\r\nCon", "more_body": True}
        await anyio.sleep_forever()

    async def send(message):
        sent.append(message)

    async def scenario():
        with anyio.fail_after(10):  # seconds, not forever
            await app(scope, receive, send)

    anyio.run(scenario)
    start, body = sent[0], b"".join(message.get("body", b"") for message in sent[1:])
    assert start["status"] == 408 and (b"connection", b"close") in start["headers"]
    answer = json.loads(body)
    assert answer["error"] == "body_timeout" and "0.5 s" in answer["detail"]


def test_a_body_timeout_must_be_positive(model_path):
    with pytest.raises(ValueError, match="positive number of seconds"):
        webapp.BodyLimit(None, limit=10, timeout=0)
