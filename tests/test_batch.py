"""Batch colorization (core.batch) on real files of every supported format:
output names and formats, metadata, 16-bit, alpha, failures, resume, safety.

One shared run over the format zoo (see conftest.py) carries most checks;
the rest use a few copied files so they stay quick.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import lab
from core.batch import BatchProgress, ColorizeOptions, run_batch
from core.export import ExportOptions
from core.outputs import plan_outputs
from core.photo import load_photo
from tests.conftest import FORMAT_ZOO_BAD, FORMAT_ZOO_OUTPUTS, ZOO_ARTIST

PIL_FORMAT = {".jpg": "JPEG", ".png": "PNG", ".tif": "TIFF", ".webp": "WEBP"}


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _visible(folder: Path) -> list[Path]:
    """A folder's entries without the hidden ones (the output ledger)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _copy(zoo: Path, dest: Path, *names: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy2(zoo / n, dest / n)
    return dest


@pytest.fixture(scope="module")
def zoo_run(format_zoo: Path, tiny_colorizer, tmp_path_factory: pytest.TempPathFactory):
    """Colorize the whole zoo folder once: (report, its output folder, input digests)."""
    before = _digests(format_zoo)
    out = tmp_path_factory.mktemp("zoo_out")
    report = run_batch([format_zoo], out, tiny_colorizer)
    return report, out / format_zoo.name, before


# --------------------------------------------------------------------------- one run, all formats


def test_every_input_gets_a_result(zoo_run, format_zoo: Path) -> None:
    report, _, _ = zoo_run
    assert not report.cancelled
    names = sorted(Path(i.input).name for i in report.items)
    assert names == sorted([*FORMAT_ZOO_OUTPUTS, *FORMAT_ZOO_BAD])
    assert sorted(Path(i.input).name for i in report.failed) == sorted(FORMAT_ZOO_BAD)
    assert len(report.written) == len(FORMAT_ZOO_OUTPUTS) and report.skipped == []


def test_failures_name_the_file_and_say_why(zoo_run) -> None:
    report, out, _ = zoo_run
    for item in report.failed:
        name = Path(item.input).name
        assert item.output is None
        assert item.input in item.error and FORMAT_ZOO_BAD[name] in item.error
        assert not list(out.glob(f"{Path(name).stem}_color*"))


def test_outputs_are_named_and_encoded_by_format_family(zoo_run) -> None:
    report, out, _ = zoo_run
    for item in report.written:
        src = Path(item.input)
        want = out / f"{src.stem}_color{FORMAT_ZOO_OUTPUTS[src.name]}"
        assert item.output == str(want) and want.is_file()
        with Image.open(want) as im:
            assert im.format == PIL_FORMAT[want.suffix], want.name
    assert [p.name for p in _visible(out)] == sorted(
        f"{Path(n).stem}_color{s}" for n, s in FORMAT_ZOO_OUTPUTS.items())


def test_outputs_keep_size_and_lightness(zoo_run) -> None:
    """Full resolution, upright, and the photo's own detail: only colour is added."""
    report, _, _ = zoo_run
    for item in report.written:
        src, dst = load_photo(item.input), load_photo(item.output)
        assert dst.size == src.size, item.input
        dL = np.abs(lab.luminance(dst.rgb) - lab.luminance(src.rgb))
        assert np.median(dL) < 3.0, (item.input, float(np.median(dL)))


def test_report_items_describe_the_colorization(zoo_run) -> None:
    report, _, _ = zoo_run
    for item in report.written:
        assert item.error is None and not item.skipped
        assert len(item.confidences) == 20
        assert sum(item.confidences.values()) == pytest.approx(1.0, abs=1e-4)
        assert item.category == max(item.confidences, key=item.confidences.get)
        assert item.general == 0.0  # this classifier has no "none of them" output
        assert item.models_used and item.routing == "soft" and item.seconds > 0


def test_exif_orientation_is_applied_once(zoo_run, format_zoo: Path) -> None:
    _, out, _ = zoo_run
    with Image.open(format_zoo / "rotated.jpg") as im:
        stored = im.size
    with Image.open(out / "rotated_color.jpg") as im:
        assert im.size == stored[::-1]  # upright: width and height swapped
        assert im.getexif().get(0x0112, 1) == 1  # and not rotated again by viewers


def test_jpeg_keeps_exif(zoo_run) -> None:
    _, out, _ = zoo_run
    with Image.open(out / "street_color.jpg") as im:
        ex = im.getexif()
    assert ex[0x013B] == ZOO_ARTIST and ex[0x010F] == "TinctCam"


def test_16bit_inputs_give_16bit_outputs(zoo_run) -> None:
    _, out, _ = zoo_run
    for name in ("deep16_color.png", "scan16_color.tif"):
        ph = load_photo(out / name)
        assert ph.bit_depth == 16 and ph.rgb.dtype == np.uint16
        assert np.any(ph.rgb % 257 != 0), "really 16-bit, not 8-bit values stretched"
    assert load_photo(out / "street_color.jpg").bit_depth == 8


def test_png_alpha_is_kept(zoo_run, format_zoo: Path) -> None:
    _, out, _ = zoo_run
    src = load_photo(format_zoo / "cutout.png")
    dst = load_photo(out / "cutout_color.png")
    assert src.alpha is not None and dst.alpha is not None
    np.testing.assert_array_equal(dst.alpha, src.alpha)


def test_inputs_are_untouched(zoo_run, format_zoo: Path) -> None:
    _, _, before = zoo_run
    assert _digests(format_zoo) == before


# --------------------------------------------------------------------------- options


def test_format_and_quality_options(format_zoo: Path, tiny_colorizer, tmp_path: Path) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "deep16.png")
    sizes = {}
    for q in (20, 95):
        out = tmp_path / f"q{q}"
        report = run_batch([src / "camera.png", src / "deep16.png"], out, tiny_colorizer,
                           export=ExportOptions(fmt="jpg", quality=q))
        assert not report.failed
        assert [p.name for p in _visible(out)] == ["camera_color.jpg", "deep16_color.jpg"]
        assert load_photo(out / "deep16_color.jpg").bit_depth == 8  # JPEG holds 8 bits
        sizes[q] = (out / "camera_color.jpg").stat().st_size
    assert sizes[20] < sizes[95]
    with pytest.raises(ValueError, match="format"):
        run_batch([src], tmp_path / "bad", tiny_colorizer, export=ExportOptions(fmt="gif"))


def test_manual_category_and_strength(format_zoo: Path, tiny_colorizer, tmp_path: Path) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png")
    report = run_batch([src], tmp_path / "out", tiny_colorizer,
                       ColorizeOptions(category="christmas", strength=0.0, routing="hard"))
    (item,) = report.items
    assert item.category == "christmas" and item.models_used == ["universal"]
    assert item.routing == "hard"
    rgb = load_photo(item.output).rgb.astype(int)
    assert np.abs(rgb - rgb[..., :1]).max() <= 1  # strength 0: gray


def test_output_format_follows_its_name(format_zoo: Path, tiny_colorizer,
                                        tmp_path: Path) -> None:
    """A PNG saved as .jpg (common for web downloads) still gives a real JPEG named .jpg."""
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(format_zoo / "camera.png", src / "download.jpg")
    shutil.copy(format_zoo / "cat.webp", src / "shot.png")
    report = run_batch([src], tmp_path / "out", tiny_colorizer)
    assert not report.failed
    for item in report.items:
        with Image.open(item.output) as im:
            assert im.format == PIL_FORMAT[Path(item.output).suffix], item.output


# --------------------------------------------------------------------------- resume and safety


def test_resume_skips_existing_outputs_and_overwrite_redoes_them(
    format_zoo: Path, tiny_colorizer, tmp_path: Path
) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "street.jpg", "corrupt.jpg")
    out = tmp_path / "out"
    first = run_batch([src], out, tiny_colorizer)
    assert len(first.written) == 2 and len(first.failed) == 1
    files = _visible(out / "in")
    stamps = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}

    again = run_batch([src], out, tiny_colorizer)
    assert len(again.skipped) == 2 and again.written == []
    assert len(again.failed) == 1  # a broken file is tried again: it may have been fixed
    assert all(i.skipped and i.error is None for i in again.skipped)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == stamps

    redo = run_batch([src], out, tiny_colorizer, export=ExportOptions(overwrite=True))
    assert len(redo.written) == 2 and redo.skipped == []
    assert all(p.stat().st_mtime_ns != stamps[p][0] for p in files)
    assert _visible(out / "in") == files
    assert sorted(p.name for p in (out / "in").iterdir() if p.name.startswith(".")) == [
        ".tinct-outputs.jsonl"]  # no temp files left behind


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_users_file_at_the_output_name_is_kept(format_zoo: Path, tiny_colorizer,
                                                 tmp_path: Path, overwrite: bool) -> None:
    """Not Tinct's output of this photo: never replaced, not counted as done, even with
    overwrite; the photo gets the next free name and the report says why."""
    src = _copy(format_zoo, tmp_path / "in", "camera.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "camera_color.png").write_bytes(b"the user's own file")
    report = run_batch([src / "camera.png"], out, tiny_colorizer,
                       export=ExportOptions(overwrite=overwrite))
    (item,) = report.items
    assert not item.skipped and item.error is None
    assert item.output == str(out / "camera_color_2.png")
    assert "camera_color.png" in item.note and "not Tinct's output" in item.note
    assert (out / "camera_color.png").read_bytes() == b"the user's own file"
    assert load_photo(out / "camera_color_2.png").size == load_photo(src / "camera.png").size


def test_an_original_is_never_overwritten(format_zoo: Path, tiny_colorizer,
                                          tmp_path: Path) -> None:
    """photo.png's output would be photo_color.png, itself an input: it is never written,
    even with overwrite; the photo gets the next free name and the batch goes on."""
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "street.jpg")
    shutil.copy(format_zoo / "palette.png", src / "camera_color.png")
    before = _digests(src)
    inputs = sorted(src.iterdir())
    report = run_batch(inputs, src, tiny_colorizer, export=ExportOptions(overwrite=True))
    by_name = {Path(i.input).name: i for i in report.items}
    assert by_name["camera.png"].output == str(src / "camera_color_2.png")
    assert "is an original" in by_name["camera.png"].note
    assert not report.failed
    after = _digests(src)
    assert {k: after[k] for k in before} == before
    assert set(after) - set(before) == {"street_color.jpg", "camera_color_color.png",
                                        "camera_color_2.png", ".tinct-outputs.jsonl"}


# --------------------------------------------------------------------------- planning


def test_folders_are_mirrored_recursively_only_when_asked(tmp_path: Path) -> None:
    tree = tmp_path / "album"
    for rel in ("a.png", "sub/b.jpg", "sub/deeper/c.tif", "sub/readme.txt", ".hidden.png"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(b"x")

    out = tmp_path / "out"
    flat = plan_outputs([tree], out)
    assert flat.problems == []
    assert [(j.input, j.output) for j in flat.targets] == [
        (tree / "a.png", out / "album/a_color.png")]
    assert {p.path.name: p.reason for p in flat.passed_over} == {
        "sub": "sub-folder (use --recursive)", ".hidden.png": "hidden file"}
    deep = plan_outputs([tree], out, recursive=True)
    assert {j.output.relative_to(out).as_posix() for j in deep.targets} == {
        "album/a_color.png", "album/sub/b_color.jpg", "album/sub/deeper/c_color.tif"}


def test_an_output_folder_inside_the_input_folder_is_not_read_again(tmp_path: Path) -> None:
    """A second recursive run into album/out must not colour album/out/album/*_color."""
    tree = tmp_path / "album"
    for rel in ("a.png", "sub/b.jpg", "out/album/a_color.png", "out/album/sub/b_color.jpg"):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(b"x")
    jobs = plan_outputs([tree], tree / "out", fmt="png", recursive=True).targets
    assert sorted(j.input.relative_to(tree).as_posix() for j in jobs) == ["a.png", "sub/b.jpg"]
    # Outputs beside the originals' folder (not inside it) leave the tree alone.
    beside = plan_outputs([tree], tmp_path, fmt="png", recursive=True).targets
    assert len(beside) == 4


def test_same_stem_inputs_do_not_collide(tmp_path: Path) -> None:
    for name in ("photo.jpg", "photo.png", "photo.bmp"):
        (tmp_path / name).write_bytes(b"x")
    jobs = plan_outputs(sorted(tmp_path.iterdir()), tmp_path / "out", fmt="png").targets
    outs = [j.output for j in jobs]
    assert len(set(outs)) == 3
    assert all(o.suffix == ".png" and o.parent == tmp_path / "out" for o in outs)


def test_missing_input_is_reported_not_raised(tiny_colorizer, tmp_path: Path) -> None:
    ghost = tmp_path / "ghost.jpg"
    report = run_batch([ghost], tmp_path / "out", tiny_colorizer)
    (item,) = report.items
    assert item.output is None and str(ghost) in item.error and "not found" in item.error


# --------------------------------------------------------------------------- progress, cancel


def test_progress_and_cancel(format_zoo: Path, tiny_colorizer, tmp_path: Path) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "street.jpg", "cat.webp",
                "old.bmp")
    seen: list[BatchProgress] = []
    items = []
    report = run_batch([src], tmp_path / "out", tiny_colorizer, progress=seen.append,
                       on_item=items.append)
    assert [p.done for p in seen] == [0, 1, 2, 3, 4] and {p.total for p in seen} == {4}
    assert seen[0].eta is None and seen[1].eta is not None and seen[-1].eta == 0
    assert items == report.items

    # Cancelled once two photos were started: those two are finished (the batch
    # overlaps reading, colouring and writing), no third is started.
    started: list = []
    stopped = run_batch([src], tmp_path / "out2", tiny_colorizer,
                        cancelled=lambda: len(started) >= 2, progress=started.append)
    assert stopped.cancelled and len(stopped.items) == 2 and stopped.not_started == 2
    assert len(_visible(tmp_path / "out2" / "in")) == 2
    # Resume finishes the rest without redoing the first two.
    rest = run_batch([src], tmp_path / "out2", tiny_colorizer)
    assert len(rest.skipped) == 2 and len(rest.written) == 2


# --------------------------------------------------------------------------- overlapped batch


def test_overlapped_batch_reads_ahead_keeps_order_and_bounds_memory(
        tmp_path: Path, tiny_colorizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader decodes the next photo while this one is coloured; every photo comes
    back once, in order; never more than the bounded number of photos in memory."""
    import threading

    from skimage import data

    import core.batch as batch_mod

    folder = tmp_path / "in"
    folder.mkdir()
    rgb = np.ascontiguousarray(data.camera()[::8, ::8])
    for i in range(12):
        Image.fromarray(rgb).save(folder / f"p{i:02d}.png")
    live, peak, lock = [0], [0], threading.Lock()
    second_read = threading.Event()
    real_read, real_colorize, real_finish = (batch_mod.read_input, batch_mod.colorize_photo,
                                             batch_mod.finish)

    def read(target):
        photo = real_read(target)
        with lock:
            live[0] += 1
            peak[0] = max(peak[0], live[0])
        if target.input.name == "p01.png":
            second_read.set()
        return photo

    def colorize(colorizer, photo, *a, **k):
        if photo.path.name == "p00.png":  # the reader works while the model does
            assert second_read.wait(30), "the next photo was not read during inference"
        return real_colorize(colorizer, photo, *a, **k)

    def finish(*a, **k):
        item = real_finish(*a, **k)
        with lock:
            live[0] -= 1
        return item

    monkeypatch.setattr(batch_mod, "read_input", read)
    monkeypatch.setattr(batch_mod, "colorize_photo", colorize)
    monkeypatch.setattr(batch_mod, "finish", finish)
    seen = []
    report = run_batch([folder], tmp_path / "out", tiny_colorizer, on_item=seen.append)
    names = [Path(i.input).name for i in report.items]
    assert names == [f"p{i:02d}.png" for i in range(12)] and seen == report.items
    assert len(report.written) == 12 and not report.failed
    assert peak[0] <= batch_mod.READ_AHEAD + batch_mod.WRITE_BEHIND + 3
    assert live[0] == 0


def test_batch_runs_opencv_single_threaded_and_restores_it(
        tmp_path: Path, tiny_colorizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Several photos overlap in three threads, each op on one thread; afterwards (and
    for a single photo) OpenCV keeps its own thread count."""
    import cv2

    import core.batch as batch_mod

    folder = tmp_path / "in"
    folder.mkdir()
    rgb = np.full((24, 32, 3), 128, np.uint8)
    for i in range(3):
        Image.fromarray(rgb).save(folder / f"p{i}.png")
    seen: list[int] = []
    real = batch_mod.colorize_photo
    monkeypatch.setattr(batch_mod, "colorize_photo",
                        lambda *a, **k: seen.append(cv2.getNumThreads()) or real(*a, **k))
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        run_batch([folder], tmp_path / "out", tiny_colorizer)
        assert seen == [1, 1, 1] and cv2.getNumThreads() == 2
        seen.clear()
        run_batch([folder / "p0.png"], tmp_path / "one", tiny_colorizer)
        assert seen == [2]
    finally:
        cv2.setNumThreads(before)


def test_8bit_outputs_render_to_uint8_and_match_the_float_path(
        format_zoo: Path, tiny_colorizer, tmp_path: Path, monkeypatch) -> None:
    """The batch renders 8-bit outputs straight to uint8 (no float image) and 16-bit
    ones as float; the files are those the float result gives, compare images too."""
    from core import job
    from core.export import encode_compare, encode_result

    names = ("street.jpg", "camera.png", "deep16.png")
    src = _copy(format_zoo, tmp_path / "in", *names)
    dtypes = {}
    real = job.colorize_photo

    def spy(colorizer, photo, options=ColorizeOptions(), analysis=None, dtype=np.float32,
            **kw):
        dtypes[photo.path.name] = np.dtype(dtype)
        return real(colorizer, photo, options, analysis, dtype, **kw)

    monkeypatch.setattr("core.batch.colorize_photo", spy)
    export = ExportOptions(side_by_side=True)
    report = run_batch([src], tmp_path / "out", tiny_colorizer, export=export)
    assert not report.failed
    assert dtypes == {"street.jpg": np.uint8, "camera.png": np.uint8,
                      "deep16.png": np.float32}
    for item in report.items:
        photo = load_photo(item.input)
        fmt = Path(item.output).suffix.lstrip(".")
        f = real(tiny_colorizer, photo).rgb  # the float result, as before #12
        for path, encode in ((item.output, encode_result), (item.compare, encode_compare)):
            written = tmp_path / f"float_{Path(path).name}"
            with open(written, "wb") as fh:
                encode(photo, f, written, export, fmt)(fh)
            assert written.read_bytes() == Path(path).read_bytes(), path


def test_batch_keeps_freed_memory_for_the_next_photo_and_gives_it_back(monkeypatch) -> None:
    """A batch of several photos keeps glibc from unmapping freed photo buffers (the
    next photo's would be fresh, zeroed pages); one photo changes nothing."""
    import sys

    from core import batch

    assert batch._keep_freed_memory(1) is None
    restore = batch._keep_freed_memory(2)
    if not sys.platform.startswith("linux"):
        assert restore is None
        return
    assert restore is not None  # glibc (the CI's and this machine's)
    restore()
    calls = []
    monkeypatch.setattr(batch, "_keep_freed_memory",
                        lambda n: calls.append(n) or (lambda: calls.append("restored")))
    with batch._Pipeline([], None, ColorizeOptions(), ExportOptions()):
        pass
    assert calls == [0, "restored"]


def test_batch_splits_each_photo_over_its_three_threads(
        tmp_path: Path, tiny_colorizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader computes the lightness, the calling thread runs only the models and
    the writer composes the pixels (#12: the models' thread was the bottleneck); the
    files are those of colouring each photo alone."""
    import threading

    from skimage import data

    import core.batch as batch_mod
    from core.engine import Rendering
    from core.job import colorize_photo

    folder = tmp_path / "in"
    folder.mkdir()
    rgb = np.ascontiguousarray(data.camera()[::6, ::6])
    for i in range(4):
        Image.fromarray(np.roll(rgb, 7 * i, axis=1)).save(folder / f"p{i}.png")
    where: dict[str, set[str]] = {"lightness": set(), "models": set(), "compose": set()}
    real_light, real_result = batch_mod.lightness_of, Rendering.result
    real_colorize = batch_mod.colorize_photo

    def light(photo):
        where["lightness"].add(threading.current_thread().name)
        return real_light(photo)

    def colorize(*a, **k):
        where["models"].add(threading.current_thread().name)
        out = real_colorize(*a, **k)
        assert isinstance(out, Rendering)  # no pixels composed in this thread
        return out

    def result(self):
        where["compose"].add(threading.current_thread().name)
        return real_result(self)

    monkeypatch.setattr(batch_mod, "lightness_of", light)
    monkeypatch.setattr(batch_mod, "colorize_photo", colorize)
    monkeypatch.setattr(Rendering, "result", result)
    report = run_batch([folder], tmp_path / "out", tiny_colorizer)
    assert len(report.written) == 4 and not report.failed
    assert where == {"lightness": {"tinct-batch-read"}, "models": {threading.main_thread().name},
                     "compose": {"tinct-batch-write"}}
    monkeypatch.undo()
    for item in report.items:
        photo = load_photo(item.input)
        alone = colorize_photo(tiny_colorizer, photo, dtype=np.uint8).rgb
        np.testing.assert_array_equal(np.asarray(Image.open(item.output).convert("RGB")),
                                      alone)


def test_a_writer_that_dies_stops_the_batch_loudly_never_hangs(
        format_zoo: Path, tiny_colorizer, tmp_path: Path, monkeypatch) -> None:
    """Issue 22: an error in the writer thread (a Latin-1 file name once) left the calling
    thread waiting for room in its queue for ever. It now stops the batch with the error."""
    import threading

    import core.batch

    src = _copy(format_zoo, tmp_path / "in", "camera.png", "cat.webp", "old.bmp", "sepia.jpg",
                "street.jpg")

    def broken_finish(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(core.batch, "finish", broken_finish)
    got: dict = {}
    worker = threading.Thread(target=lambda: got.update(
        report=run_batch([src], tmp_path / "out", tiny_colorizer)), daemon=True)
    worker.start()
    worker.join(300)  # generous: the failure was a hang, not a slow batch
    assert not worker.is_alive(), "the batch hung after its writer died"
    report = got["report"]
    assert report.internal_error and "RuntimeError: boom" in report.stopped
    assert not report.disk_full and report.not_started == 5 - len(report.items)
    assert not list((tmp_path / "out" / "in").glob("*_color*"))


def test_a_multi_page_tiff_says_only_its_first_page_was_colorized(
        tiny_colorizer, tmp_path: Path) -> None:
    """Issue 22 (the report's side): the note of the photo says what was left out."""
    src = tmp_path / "in"
    src.mkdir()
    pages = [Image.fromarray(np.full((24, 32), v, np.uint8)) for v in (40, 120)]
    pages[0].save(src / "album.tif", save_all=True, append_images=pages[1:])
    (item,) = run_batch([src / "album.tif"], tmp_path / "out", tiny_colorizer).items
    assert item.error is None and "has 2 pages: only the first was colorized" in item.note
