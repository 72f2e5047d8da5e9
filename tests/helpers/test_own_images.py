"""helpers.own_images: a folder of photos checked as Keras will read it, problems found by code,
files moved aside without loss, zips extracted safely, clear errors for bad input.

Test images are made here with Pillow, and the offline folder from the course's CIFAR-10 copy;
nothing touches the network."""

from __future__ import annotations

import errno
import importlib.util
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFile

from helpers.data import sources as data_sources
from helpers.own_images import audit, layout, offline_folder, review, sources, splits
from tests.conftest import skip_outside_ci

SMOKE_COUNTS = {"airplane": 12, "automobile": 9, "bird": 7, "ship": 5}


def photo(seed: int = 0, size: int = 48, mode: str = "RGB") -> Image.Image:
    """A smooth picture of random blobs with a little noise, different for every seed."""
    rng = np.random.default_rng(seed)
    blobs = Image.fromarray(rng.integers(0, 256, (5, 5, 3), dtype=np.uint8))
    pixels = np.asarray(blobs.resize((size, size), Image.Resampling.BICUBIC), np.float64)
    pixels = np.clip(pixels + rng.normal(0, 3, pixels.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).convert(mode)


def encode(image: Image.Image, fmt: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def image_folder(root: Path, per_class: dict[str, int]) -> Path:
    """Class folders of distinct JPEG photos."""
    seed = 0
    for cls, count in per_class.items():
        for number in range(count):
            write(root / cls / f"{number:03d}.jpg", encode(photo(seed)))
            seed += 1
    return root


def snapshot(*folders: Path) -> list[bytes]:
    """Every file's bytes under the folders, sorted: equal before and after means nothing was
    lost, changed or duplicated."""
    return sorted(path.read_bytes() for folder in folders if folder.exists()
                  for path in folder.rglob("*") if path.is_file() and path.name != "manifest.csv")


# --- how Keras reads a folder ----------------------------------------------------------------

def test_extensions_are_the_ones_keras_reads() -> None:
    from keras.src.utils import image_dataset_utils

    assert layout.KERAS_EXTENSIONS == image_dataset_utils.ALLOWLIST_FORMATS


def test_class_folders_skip_hidden_folders_and_include_sub_folders(tmp_path: Path) -> None:
    write(tmp_path / "cats" / "a.jpg", b"x")
    write(tmp_path / "cats" / "indoors" / "b.JPG", b"x")
    write(tmp_path / "dogs" / "c.heic", b"x")
    write(tmp_path / ".ipynb_checkpoints" / "d.jpg", b"x")
    write(tmp_path / "README.txt", b"x")
    assert layout.class_names(tmp_path) == ["cats", "dogs"]
    files = layout.class_files(tmp_path)
    assert [layout.relative(p, tmp_path) for p in files["cats"]] == ["cats/a.jpg",
                                                                     "cats/indoors/b.JPG"]
    assert audit.class_counts(tmp_path).to_dict() == {"cats": 2, "dogs": 0}
    assert layout.loose_files(tmp_path) == [tmp_path / "README.txt"]


# --- hashes ----------------------------------------------------------------------------------

def test_difference_hash_survives_reencoding_and_resizing_but_tells_pictures_apart() -> None:
    original = photo(1, 96)
    reencoded = Image.open(io.BytesIO(encode(original.resize((86, 86)), quality=50)))
    hashes = audit.hash_values(pd.Series([audit.difference_hash(image) for image in
                                          (original, reencoded, photo(2, 96))]))
    assert audit.hamming(hashes[0], hashes[1]) <= audit.NEAR_THRESHOLD
    assert audit.hamming(hashes[0], hashes[2]) > 2 * audit.NEAR_THRESHOLD


def test_hamming_counts_differing_bits_with_and_without_numpy_2(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hashes = np.array([0, 1, 0xFF, 2**64 - 1, 0x8000000000000001], np.uint64)
    expected = np.array([[bin(int(a) ^ int(b)).count("1") for b in hashes] for a in hashes])
    assert (audit.hamming(hashes[:, np.newaxis], hashes[np.newaxis, :]) == expected).all()
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert (audit.hamming(hashes[:, np.newaxis], hashes[np.newaxis, :]) == expected).all()


def test_difference_hash_of_a_16_bit_image_keeps_its_picture() -> None:
    gray = np.asarray(photo(3, 64, "L"))
    sixteen = Image.fromarray(gray.astype(np.uint16) * 257)
    assert sixteen.mode.startswith("I;16")
    assert audit.difference_hash(sixteen) == audit.difference_hash(Image.fromarray(gray))


# --- the audit ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A small offline folder (the smoke size) with its table of planted problems."""
    root = tmp_path_factory.mktemp("offline") / "images"
    try:
        planted = offline_folder.write_offline_folder(root, counts=SMOKE_COUNTS)
    except data_sources.DatasetUnavailableError as err:
        skip_outside_ci(f"no CIFAR-10 copy available: {err}")
    return root, planted


def test_the_audit_finds_every_planted_problem_and_nothing_else(
        offline: tuple[Path, pd.DataFrame]) -> None:
    root, planted = offline
    findings = audit.audit(root)
    found = set(zip(findings["path"], findings["problem"], strict=True))
    problems = planted[planted["problem"] != offline_folder.NOT_A_PROBLEM]
    assert set(zip(problems["path"], problems["problem"], strict=True)) <= found
    # The only other file flagged: the original of the copy across classes (its label is as
    # doubtful as the copy's).
    across = planted[planted["class"] != planted["original"].str.split("/").str[0]]
    across = across[across["original"] != ""]
    assert set(findings["path"]) == set(problems["path"]) | set(across["original"])
    assert offline_folder.UNICODE_NAME in {Path(p).name for p in planted["path"]}
    assert not findings["path"].str.endswith(offline_folder.UNICODE_NAME).any()
    assert set(planted["problem"]) >= {audit.NOT_AN_IMAGE, audit.CORRUPT, audit.EXACT_DUPLICATE,
                                       audit.NEAR_DUPLICATE, audit.TINY, audit.COLOUR_MODE,
                                       audit.SKIPPED_BY_KERAS, audit.ROTATED}


def test_the_offline_folder_is_real_jpeg_files_with_unequal_classes(
        offline: tuple[Path, pd.DataFrame]) -> None:
    root, planted = offline
    counts = audit.class_counts(root)
    assert list(counts.index) == sorted(SMOKE_COUNTS)
    for cls, count in SMOKE_COUNTS.items():
        on_disk = [p for p in (root / cls).iterdir() if p.stem.isdigit()]
        assert len(on_disk) == count
        with Image.open(on_disk[0]) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (64, 64))
    assert counts.is_monotonic_decreasing and audit.imbalance_ratio(counts) == 14 / 8
    modes = dict(zip(planted["path"], planted["planted"], strict=True))
    with Image.open(root / next(p for p in modes if "CMYK" in modes[p])) as image:
        assert image.mode == "CMYK"
    with Image.open(root / next(p for p in modes if "RGBA" in modes[p])) as image:
        assert (image.format, image.mode) == ("PNG", "RGBA")


def test_each_colour_mode_other_than_rgb_is_flagged(tmp_path: Path) -> None:
    base = photo(4)
    images = {"L": base.convert("L"), "LA": base.convert("LA"), "RGBA": base.convert("RGBA"),
              "P": base.convert("P"), "CMYK": base.convert("CMYK"), "RGB": base}
    for mode, image in images.items():
        fmt = "JPEG" if mode in ("L", "CMYK", "RGB") else "PNG"
        write(tmp_path / "a" / f"{mode}.{fmt.lower()}", encode(image, fmt))
    sixteen = Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)
    write(tmp_path / "b" / "sixteen.png", encode(sixteen, "PNG"))
    findings = audit.audit(tmp_path, near_threshold=-1)
    flagged = findings.loc[findings["problem"] == audit.COLOUR_MODE, "path"]
    assert sorted(flagged) == ["a/CMYK.jpeg", "a/L.jpeg", "a/LA.png", "a/P.png", "a/RGBA.png",
                               "b/sixteen.png"]


def test_truncation_is_found_even_where_pillow_was_told_to_accept_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(photo(5, 200))
    write(tmp_path / "a" / "cut.jpg", data[:len(data) // 2])
    write(tmp_path / "a" / "text.png", b"not a picture at all\n" * 10)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    table = audit.scan(tmp_path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored
    assert dict(zip(table["path"], table["error"], strict=True)) == {
        "a/cut.jpg": audit.CORRUPT, "a/text.png": audit.NOT_AN_IMAGE}


def test_photos_that_only_look_upright_are_flagged(tmp_path: Path) -> None:
    for orientation in (1, 3, 6, 8):
        exif = Image.Exif()
        exif[audit.ORIENTATION_TAG] = orientation
        write(tmp_path / "a" / f"{orientation}.jpg", encode(photo(orientation), exif=exif))
    write(tmp_path / "a" / "none.jpg", encode(photo(9)))
    findings = audit.audit(tmp_path)
    assert findings["path"].tolist() == ["a/3.jpg", "a/6.jpg", "a/8.jpg"]
    assert (findings["problem"] == audit.ROTATED).all()


def test_tiny_images_and_files_keras_skips_or_ignores(tmp_path: Path) -> None:
    write(tmp_path / "a" / "small.jpg", encode(photo(6, 20)))
    write(tmp_path / "a" / "big.jpg", encode(photo(7, 40)))
    write(tmp_path / "a" / "photo.webp", encode(photo(8), "TIFF"))
    write(tmp_path / "a" / "notes.txt", b"shot on holiday")
    write(tmp_path / "loose.jpg", encode(photo(9)))
    findings = audit.audit(tmp_path, min_side=32)
    assert dict(zip(findings["path"], findings["problem"], strict=True)) == {
        "a/small.jpg": audit.TINY, "a/photo.webp": audit.SKIPPED_BY_KERAS,
        "a/notes.txt": audit.SKIPPED_BY_KERAS, "loose.jpg": audit.OUTSIDE_CLASSES}
    details = findings.set_index("path")["detail"]
    assert details["a/photo.webp"].startswith("a TIFF image")
    assert details["a/notes.txt"].startswith("not an image")


def test_duplicates_keep_one_file_within_a_class_and_flag_all_across_classes(
        tmp_path: Path) -> None:
    data = encode(photo(10))
    write(tmp_path / "a" / "1.jpg", data)
    write(tmp_path / "a" / "2.jpg", data)
    write(tmp_path / "a" / "3.jpg", data)
    write(tmp_path / "b" / "4.jpg", encode(photo(11)))
    write(tmp_path / "c" / "5.jpg", encode(photo(11)))  # the same bytes in another class
    findings = audit.audit(tmp_path)
    exact = findings[findings["problem"] == audit.EXACT_DUPLICATE]
    assert sorted(exact["path"]) == ["a/2.jpg", "a/3.jpg", "b/4.jpg", "c/5.jpg"]
    assert "which label is right" in exact.set_index("path").loc["b/4.jpg", "detail"]
    pairs = audit.similar_pairs(audit.scan(tmp_path))
    assert len(pairs) == 4 and set(pairs["kind"]) == {"exact"}


def test_class_counts_and_imbalance_ratio(tmp_path: Path) -> None:
    image_folder(tmp_path, {"a": 6, "b": 2})
    counts = audit.class_counts(tmp_path)
    assert counts.to_dict() == {"a": 6, "b": 2}
    assert audit.imbalance_ratio(counts) == 3.0
    (tmp_path / "c").mkdir()
    assert audit.imbalance_ratio(audit.class_counts(tmp_path)) == float("inf")


# --- the split and leakage ---------------------------------------------------------------------

def test_keras_split_matches_image_dataset_from_directory(
        offline: tuple[Path, pd.DataFrame]) -> None:
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("image_dataset_from_directory needs TensorFlow (or Grain) to build a dataset")
    import keras

    root, _ = offline
    for seed, fraction in ((42, 0.2), (7, 0.35)):
        split = splits.keras_split(root, fraction, seed)
        train, val = keras.utils.image_dataset_from_directory(
            root, validation_split=fraction, subset="both", seed=seed, image_size=(8, 8),
            verbose=False)
        for subset, dataset in (("training", train), ("validation", val)):
            expected = [Path(p).relative_to(root).as_posix() for p in dataset.file_paths]
            assert split.loc[split["subset"] == subset, "path"].tolist() == expected
        assert list(train.class_names) == sorted(SMOKE_COUNTS)


def test_keras_split_partitions_the_files_keras_reads(offline: tuple[Path, pd.DataFrame]) -> None:
    root, _ = offline
    split = splits.keras_split(root, 0.2, 42)
    readable = {layout.relative(p, root) for paths in layout.class_files(root).values()
                for p in paths if layout.is_read_by_keras(p)}
    assert set(split["path"]) == readable and split["path"].is_unique
    assert (split["subset"] == "validation").sum() == int(0.2 * len(readable))
    assert (split["class"] == split["path"].str.split("/").str[0]).all()
    with pytest.raises(TypeError, match="seed"):
        splits.keras_split(root, 0.2, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="validation_split"):
        splits.keras_split(root, 1.5, 42)


def test_leakage_finds_the_planted_pairs_across_the_split(
        offline: tuple[Path, pd.DataFrame]) -> None:
    root, planted = offline
    split = splits.keras_split(root, 0.2, 42)
    leaks = splits.leakage(audit.scan(root), split)
    subset = split.set_index("path")["subset"]
    assert (leaks["training"].map(subset) == "training").all()
    assert (leaks["validation"].map(subset) == "validation").all()
    pairs = {frozenset(pair) for pair in zip(leaks["training"], leaks["validation"],
                                             strict=True)}
    straddling = planted[planted["straddles_split"]]
    assert set(straddling["problem"]) == {audit.EXACT_DUPLICATE, audit.NEAR_DUPLICATE}
    for row in straddling.itertuples():
        assert frozenset((row.path, row.original)) in pairs
    # A different seed moves files, so the leaks follow Keras's split, not the planted table.
    other = splits.keras_split(root, 0.2, 3)
    for row in splits.leakage(audit.scan(root), other).itertuples():
        assert other.set_index("path")["subset"][row.validation] == "validation"


# --- moving files aside ------------------------------------------------------------------------

def test_move_aside_keeps_paths_and_bytes_and_writes_a_manifest(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "data", {"cats": 3, "dogs": 2})
    write(root / "dogs" / "été 1.jpg", encode(photo(20)))
    before = snapshot(root)
    findings = pd.DataFrame({"path": ["cats/001.jpg", "dogs/été 1.jpg", "dogs/été 1.jpg"],
                             "problem": ["tiny", "colour mode", "near duplicate"]})
    moved = review.move_aside(root, findings)
    folder = review.default_review_folder(root)
    assert folder == tmp_path / "data-review"
    assert (folder / "dogs" / "été 1.jpg").is_file() and not (root / "dogs" / "été 1.jpg").exists()
    assert snapshot(root, folder) == before
    assert moved[["source", "destination", "problems"]].values.tolist() == [
        ["cats/001.jpg", "cats/001.jpg", "tiny"],
        ["dogs/été 1.jpg", "dogs/été 1.jpg", "colour mode; near duplicate"]]
    assert review.read_manifest(folder)[["source", "problems"]].equals(
        moved[["source", "problems"]])


def test_move_aside_never_overwrites_and_appends_to_the_manifest(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "data", {"cats": 2, "dogs": 2})
    folder = tmp_path / "review"
    contents = []
    for seed in (30, 31, 32):  # the same name flagged three times, with new bytes each time
        contents.append(write(root / "cats" / "000.jpg", encode(photo(seed))).read_bytes())
        review.move_aside(root, ["cats/000.jpg"], folder)
    assert [(folder / "cats" / name).read_bytes() for name in
            ("000.jpg", "000-1.jpg", "000-2.jpg")] == contents
    manifest = review.read_manifest(folder)
    assert manifest["destination"].tolist() == ["cats/000.jpg", "cats/000-1.jpg",
                                                "cats/000-2.jpg"]
    assert manifest["problems"].eq("flagged by hand").all()
    assert (folder / review.MANIFEST).read_text().count("moved_at") == 1  # one header


def test_move_aside_dry_run_moves_nothing(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "data", {"cats": 2, "dogs": 2})
    before = snapshot(root)
    moved = review.move_aside(root, ["cats/000.jpg", "dogs/001.jpg"], dry_run=True)
    assert moved["source"].tolist() == ["cats/000.jpg", "dogs/001.jpg"]
    assert snapshot(root) == before and not review.default_review_folder(root).exists()


def test_move_aside_refuses_unsafe_folders_and_skips_files_already_moved(
        tmp_path: Path) -> None:
    root = image_folder(tmp_path / "data", {"cats": 2, "dogs": 2})
    with pytest.raises(ValueError, match="read it as a class"):
        review.move_aside(root, ["cats/000.jpg"], root / "review")
    write(tmp_path / "secret.jpg", b"x")
    with pytest.raises(ValueError, match="outside the dataset folder"):
        review.move_aside(root, ["../secret.jpg"], tmp_path / "review")
    assert (tmp_path / "secret.jpg").is_file()
    review.move_aside(root, ["cats/000.jpg"], tmp_path / "review")
    assert review.move_aside(root, ["cats/000.jpg"], tmp_path / "review").empty


def test_move_across_disks_copies_exclusively_then_removes_the_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    root = image_folder(tmp_path / "data", {"cats": 2, "dogs": 2})
    before = snapshot(root)
    write(tmp_path / "review" / "cats" / "000.jpg", b"already here")
    moved = review.move_aside(root, ["cats/000.jpg"], tmp_path / "review")
    assert moved["destination"].tolist() == ["cats/000-1.jpg"]
    assert (tmp_path / "review" / "cats" / "000.jpg").read_bytes() == b"already here"
    assert snapshot(root, tmp_path / "review") == sorted([*before, b"already here"])


# --- checking a dataset folder -----------------------------------------------------------------

def test_check_folder_counts_images_with_spaces_and_accents(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "my photos", {"chats noirs": 3, "chiens été": 3})
    write(root / "chats noirs" / "Photo d'été 2.jpg", encode(photo(40)))
    assert sources.check_folder(root, min_per_class=1).to_dict() == {"chats noirs": 4,
                                                                     "chiens été": 3}


@pytest.mark.parametrize(("layout_files", "message"), [
    (None, "does not exist"),
    ({}, "is empty"),
    ({"a.jpg": "image", "b.jpg": "image"}, "no class folders"),
    ({"cats/a.jpg": "image", "cats/b.jpg": "image"}, "one class folder only"),
    ({"cats/a.jpg": "image", "dogs/readme.txt": "text", "dogs/b.heic": "text"},
     "dogs in .* hold no images"),
    ({"cats/a.jpg": "text", "dogs/b.png": "text", "dogs/c.pdf": "text"},
     "none of the 3 files"),
])
def test_check_folder_says_what_to_change(tmp_path: Path, layout_files: dict[str, str] | None,
                                          message: str) -> None:
    root = tmp_path / "data"
    if layout_files is not None:
        root.mkdir()
        for name, kind in layout_files.items():
            write(root / name, encode(photo()) if kind == "image" else b"not an image\n")
    with pytest.raises(sources.DatasetFolderError, match=message):
        sources.check_folder(root)


def test_check_folder_warns_about_small_classes(tmp_path: Path) -> None:
    root = image_folder(tmp_path, {"cats": 5, "dogs": 2})
    with pytest.warns(UserWarning, match="'dogs' has 2 images, fewer than 3"):
        counts = sources.check_folder(root, min_per_class=3)
    assert counts.to_dict() == {"cats": 5, "dogs": 2}


# --- zips ----------------------------------------------------------------------------------------

def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_with_a_nested_folder_mac_clutter_and_accents(tmp_path: Path) -> None:
    jpeg = encode(photo())
    archive = make_zip(tmp_path / "holiday.zip", {
        "Holiday photos/plages d'été/1.jpg": jpeg, "Holiday photos/plages d'été/2.jpg": jpeg,
        "Holiday photos/montagnes/Zürich 3.jpg": jpeg,
        "__MACOSX/Holiday photos/montagnes/._Zürich 3.jpg": b"\x00\x05\x16\x07",
        "Holiday photos/.DS_Store": b"\x00\x00\x00\x01Bud1"})
    root = sources.resolve(archive, tmp_path / "work")
    assert root == tmp_path / "work" / "holiday" / "Holiday photos"
    assert layout.class_names(root) == ["montagnes", "plages d'été"]
    assert (root / "montagnes" / "Zürich 3.jpg").read_bytes() == jpeg
    assert not (tmp_path / "work" / "holiday" / "__MACOSX").exists()
    assert sources.resolve(archive, tmp_path / "work") == root  # extracted once, then reused


def test_zip_names_written_without_the_utf8_flag_keep_their_accents(tmp_path: Path) -> None:
    name = "cats/Été.jpg"
    stand_in = "cats/Xxxxx.jpg"  # as many bytes as the UTF-8 name, in ASCII: no UTF-8 flag
    assert len(stand_in) == len(name.encode())
    data = make_zip(tmp_path / "raw.zip", {stand_in: encode(photo()),
                                           "dogs/1.jpg": encode(photo(1))}).read_bytes()
    assert data.count(stand_in.encode()) == 2  # local header and central directory
    archive = write(tmp_path / "old-tool.zip", data.replace(stand_in.encode(), name.encode()))
    root = sources.extract_zip(archive, tmp_path / "out")
    assert (root / "cats" / "Été.jpg").is_file()


@pytest.mark.parametrize("name", ["../evil.jpg", "cats/../../evil.jpg", "/tmp/evil.jpg",
                                  "C:/evil.jpg"])
def test_zip_slip_is_refused_before_anything_is_written(tmp_path: Path, name: str) -> None:
    archive = make_zip(tmp_path / "bad.zip", {"cats/ok.jpg": encode(photo()), name: b"x"})
    with pytest.raises(sources.UnsafeArchiveError, match="outside the folder"):
        sources.extract_zip(archive, tmp_path / "work" / "out")
    assert not (tmp_path / "work").exists() and not (tmp_path / "evil.jpg").exists()


def test_zip_links_and_oversized_contents_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("cats/link.jpg")
    link.external_attr = (0o120777 << 16)
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as archive:
        archive.writestr("cats/ok.jpg", encode(photo()))
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(sources.UnsafeArchiveError, match="symbolic link"):
        sources.extract_zip(tmp_path / "link.zip", tmp_path / "out")
    big = make_zip(tmp_path / "big.zip", {"cats/a.jpg": bytes(3000), "dogs/b.jpg": bytes(3000)})
    with pytest.raises(sources.UnsafeArchiveError, match="once extracted"):
        sources.extract_zip(big, tmp_path / "out", max_bytes=5000)
    assert not (tmp_path / "out").exists()


def test_zip_never_writes_into_a_folder_with_files(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"cats/1.jpg": b"new", "dogs/2.jpg": b"new"})
    mine = write(tmp_path / "out" / "cats" / "1.jpg", b"the student's own")
    with pytest.raises(sources.DatasetFolderError, match="not empty"):
        sources.extract_zip(archive, tmp_path / "out")
    assert mine.read_bytes() == b"the student's own"


def test_zip_with_a_repeated_name_or_not_a_zip(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "twice.zip", "w") as archive, pytest.warns(UserWarning):
        archive.writestr("cats/1.jpg", b"one")
        archive.writestr("cats/1.jpg", b"two")
    with pytest.raises(sources.DatasetFolderError, match="twice"):
        sources.extract_zip(tmp_path / "twice.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob("out.partial-*"))
    write(tmp_path / "photos.zip", b"PK but not really")
    with pytest.raises(sources.DatasetFolderError, match="not a readable zip"):
        sources.extract_zip(tmp_path / "photos.zip", tmp_path / "out")


def test_resolve_folders_and_missing_sources(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "wrapper" / "dataset", {"cats": 1, "dogs": 1})
    assert sources.resolve(tmp_path / "wrapper", tmp_path) == root
    with pytest.raises(sources.DatasetFolderError, match="does not exist"):
        sources.resolve(tmp_path / "nowhere", tmp_path)
    with pytest.raises(sources.DatasetFolderError, match="is not a file"):
        sources.resolve(tmp_path / "nowhere.zip", tmp_path)


def test_flowers_come_from_the_folder_inside_keras_extraction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    extracted = tmp_path / "datasets" / "flower_photos"  # what get_file returns, in Keras 3.15
    root = image_folder(extracted / "flower_photos", {"daisy": 1, "roses": 1})
    write(root / "LICENSE.txt", b"photos under CC-BY")
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: str(extracted))
    assert sources.resolve("flowers", tmp_path) == root


def test_flowers_without_a_network_say_what_to_do_instead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    def offline(*args: object, **kwargs: object) -> str:
        assert kwargs["origin"] == sources.FLOWERS_URL
        raise Exception("URL fetch failure on flower_photos.tgz: None -- no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(sources.DownloadError, match="offline folder"):
        sources.resolve("flowers", ".")


# --- the offline folder never writes over a student's files -----------------------------------

def test_offline_folder_refuses_a_folder_it_did_not_write(tmp_path: Path) -> None:
    mine = write(tmp_path / "photos" / "cats" / "1.jpg", b"the student's own")
    with pytest.raises(FileExistsError, match="did not write"):
        offline_folder.write_offline_folder(tmp_path / "photos", counts=SMOKE_COUNTS)
    assert mine.read_bytes() == b"the student's own"
    with pytest.raises(ValueError, match="CIFAR-10 classes"):
        offline_folder.write_offline_folder(tmp_path / "new", counts={"cats": 5, "dogs": 5})


def test_offline_folder_rewrites_its_own_folder_after_files_moved_aside(
        offline: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    root, planted = offline
    copy = tmp_path / "images"
    first = offline_folder.write_offline_folder(copy, counts=SMOKE_COUNTS)
    review.move_aside(copy, audit.audit(copy), tmp_path / "review")
    assert audit.audit(copy).empty
    again = offline_folder.write_offline_folder(copy, counts=SMOKE_COUNTS)
    assert again.equals(first) and again.equals(planted)
    assert snapshot(copy) == snapshot(root)
    write(copy / "cats" / "mine.jpg", b"added by the student")
    with pytest.raises(FileExistsError, match="did not write"):
        offline_folder.write_offline_folder(copy, counts=SMOKE_COUNTS)
    assert (copy / "cats" / "mine.jpg").read_bytes() == b"added by the student"
