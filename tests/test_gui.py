"""The desktop app, driven like a user would (offscreen Qt, small random models).

One model set is made per session and one Colorizer is shared by every
window (its models load once); each test gets a fresh window with its own
settings file so nothing touches the user's settings.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from gui.main_window import MainWindow
from gui.session import Models, State
from gui.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
WAIT_MS = 60_000
ARTIST = 0x013B  # EXIF tag written into the test JPEG


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.modelsets import make_model_set

    return make_model_set(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def colorizer(model_dir: Path):
    """One Colorizer for every window: its models load once (in the first window's worker)."""
    from core.engine import Colorizer

    return Colorizer(model_dir)


def _gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four small black-and-white photos (PNG and JPEG) from scikit-image."""
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    cv2.imwrite(str(folder / "camera.png"), data.camera())
    cv2.imwrite(str(folder / "astronaut.jpg"), _gray(data.astronaut()))
    cv2.imwrite(str(folder / "coffee.png"), _gray(data.coffee()))
    cv2.imwrite(str(folder / "chelsea.jpg"), _gray(data.chelsea()))
    return folder


@pytest.fixture(scope="session")
def mixed_dir(tmp_path_factory: pytest.TempPathFactory, photo_dir: Path) -> Path:
    """Three good photos plus a corrupt JPEG."""
    folder = tmp_path_factory.mktemp("mixed")
    for name in ("camera.png", "astronaut.jpg", "chelsea.jpg"):
        (folder / name).write_bytes((photo_dir / name).read_bytes())
    good = (photo_dir / "astronaut.jpg").read_bytes()
    (folder / "corrupt.jpg").write_bytes(good[: len(good) // 3])  # truncated mid-scan
    return folder


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(tmp_path / "settings.ini")


def _open_window(qtbot, settings: Settings, colorizer, start: bool = True) -> MainWindow:
    window = MainWindow(settings, colorizer=colorizer)
    qtbot.addWidget(window)
    window.show()
    if start:
        window.start_models()
        qtbot.waitUntil(lambda: window.session.models_state is not Models.LOADING, timeout=WAIT_MS)
    return window


@pytest.fixture
def window(qtbot, settings: Settings, colorizer):
    w = _open_window(qtbot, settings, colorizer)
    assert w.session.models_ready, w.session.models_message
    yield w
    w.close()


def _wait_done(qtbot, window: MainWindow, ids: list[int]) -> None:
    def finished() -> bool:
        return all(
            window.session.items[i].state in (State.DONE, State.FAILED) for i in ids
        )

    qtbot.waitUntil(finished, timeout=WAIT_MS)


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    buf = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    rows = buf.reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


# --------------------------------------------------------------------------- start-up


def test_window_shows_before_tensorflow_is_imported(model_dir: Path, tmp_path: Path) -> None:
    """The window is on screen first; TensorFlow arrives later, from the loading worker."""
    script = textwrap.dedent(
        f"""
        import json, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from gui.app import build
        app, window, _ = build(["--models", {str(model_dir)!r},
                                "--settings", {str(tmp_path / "s.ini")!r}])
        window.show()
        app.processEvents()
        shown = window.isVisible()
        tf_at_show = "tensorflow" in sys.modules
        window.start_models()
        placeholder = window.canvas.placeholder
        deadline = time.monotonic() + 60
        while window.session.models_state.value == "loading" and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        print(json.dumps({{"shown": shown, "tf_at_show": tf_at_show,
                          "placeholder": placeholder,
                          "state": window.session.models_state.value,
                          "tf_after": "tensorflow" in sys.modules}}))
        window.close()
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        cwd=ROOT, env={**_env(), "QT_QPA_PLATFORM": "offscreen"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["shown"] is True
    assert facts["tf_at_show"] is False
    assert "Loading models" in facts["placeholder"]
    assert facts["state"] == "ready"
    assert facts["tf_after"] is True


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "TINCT_MODELS"}


def test_photos_dropped_while_models_load_wait_in_the_queue(qtbot, settings, colorizer, photo_dir):
    window = _open_window(qtbot, settings, colorizer, start=False)
    [item_id] = window.add_paths([photo_dir / "camera.png"])
    item = window.session.items[item_id]
    qtbot.waitUntil(lambda: item.original is not None, timeout=WAIT_MS)
    assert item.state is State.QUEUED
    assert window.canvas.has_photo and not window.canvas.has_colour
    assert "Waiting for the models" in window.canvas.status
    assert window.strip.state_of(item_id) == "queued"
    window.start_models()
    _wait_done(qtbot, window, [item_id])
    assert item.state is State.DONE
    assert window.canvas.has_colour
    window.close()


def test_no_models_installed_is_said_plainly(qtbot, tmp_path, settings, photo_dir):
    from core.engine import Colorizer

    window = _open_window(qtbot, settings, Colorizer(tmp_path / "no-models"))
    assert window.session.models_state is Models.MISSING
    assert window.models_label.text() == "No models installed"
    assert "No trained models are installed" in window.canvas.placeholder
    assert "TINCT_MODELS" in window.canvas.placeholder
    [item_id] = window.add_paths([photo_dir / "chelsea.jpg"])
    item = window.session.items[item_id]
    qtbot.waitUntil(lambda: item.original is not None, timeout=WAIT_MS)
    assert window.canvas.has_photo  # the UI stays usable: the original is shown
    assert "No models installed" in window.canvas.status
    assert "TINCT_MODELS" in window.canvas.status
    assert not window.commands["save"].isEnabled()
    window.close()


# --------------------------------------------------------------------------- one photo


def test_dropped_photo_gets_colour_and_confidences(qtbot, window, photo_dir):
    [item_id] = window.add_paths([photo_dir / "astronaut.jpg"])  # what the drop handler calls
    _wait_done(qtbot, window, [item_id])
    item = window.session.items[item_id]
    assert item.state is State.DONE, item.error
    assert window.canvas.has_colour
    assert item.colour.width == 512 and item.colour.height == 512  # full resolution
    rows = window.confidence.bars.rows
    assert [c for c, _ in rows] and len(rows) == 20
    probs = [p for _, p in rows]
    assert probs == sorted(probs, reverse=True)
    assert sum(probs) == pytest.approx(1.0, abs=1e-3)
    assert window.confidence.bars.chosen == item.used_category == rows[0][0]
    assert window.strip.state_of(item_id) == "done"
    assert "Colorized astronaut.jpg" in window.statusBar().currentMessage()
    assert window.commands["save"].isEnabled()

    # A real drop event with file URLs goes through the same path.
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_dir / "coffee.png"))])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPointF(50, 50), *args)  # Qt delivers drops to the entered widget
    QApplication.sendEvent(window.canvas, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), *args)
    QApplication.sendEvent(window.canvas, drop)
    assert drop.isAccepted()
    assert len(window.session.order) == 2
    new_id = window.session.order[-1]
    assert window.session.items[new_id].name == "coffee.png"
    _wait_done(qtbot, window, [new_id])
    assert window.session.items[new_id].state is State.DONE
    assert window.strip.ids() == [item_id, new_id]


def test_manual_category_recolours_from_the_cached_analysis(qtbot, window, photo_dir):
    [item_id] = window.add_paths([photo_dir / "camera.png"])
    _wait_done(qtbot, window, [item_id])
    item = window.session.items[item_id]
    analysis = item.analysis
    before = _pixels(item.colour.full)
    generation = item.generation
    target = next(c for c in ("dog", "beach", "city") if c != item.used_category)

    window.category.choose(target)
    qtbot.waitUntil(lambda: item.generation > generation and item.state is State.DONE,
                    timeout=WAIT_MS)
    assert item.category == target
    assert item.models_used == [target]
    assert item.analysis is analysis  # re-rendered, not analysed again
    after = _pixels(item.colour.full)
    assert np.abs(after.astype(int) - before.astype(int)).max() > 0
    assert "your choice" in window.confidence.summary.text()

    # Strength 0% leaves the photo gray; per-photo settings stay with the photo.
    generation = item.generation
    window.category.slider.setValue(0)
    qtbot.waitUntil(lambda: item.generation > generation and item.state is State.DONE,
                    timeout=WAIT_MS)
    gray = _pixels(item.colour.full).astype(int)
    assert np.abs(gray[..., 0] - gray[..., 1]).max() <= 2
    [other] = window.add_paths([photo_dir / "chelsea.jpg"])
    _wait_done(qtbot, window, [other])
    window.select(other)
    assert window.category.category == "auto" and window.category.strength == 1.0
    window.select(item_id)
    assert window.category.category == target and window.category.strength == 0.0


def test_categories_without_a_model_are_disabled(qtbot, tmp_path, settings, model_dir, window):
    # With the universal model, data-less categories are usable and say so.
    assert window.category.is_enabled("christmas")
    assert "universal model" in window.category.tooltip("christmas")
    assert "trained on dog photos" in window.category.tooltip("dog")

    # Without one, they are shown but cannot be chosen.
    manifest = json.loads((model_dir / "manifest.json").read_text())
    models = manifest["colorizers"]["tinct"]["models"]
    manifest["colorizers"]["tinct"]["models"] = {
        name: {**models[name], "file": str(model_dir / models[name]["file"])}
        for name in ("animal", "dog")
    }
    for part in ("encoder", "classifier"):
        manifest[part]["file"] = str(model_dir / manifest[part]["file"])
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "manifest.json").write_text(json.dumps(manifest))
    from core.engine import Colorizer

    other = MainWindow(Settings(tmp_path / "other.ini"), colorizer=Colorizer(partial))
    qtbot.addWidget(other)
    other.start_models()
    panel = other.category
    assert panel.is_enabled("dog") and panel.is_enabled("animal")
    assert not panel.is_enabled("autumn") and not panel.is_enabled("beach")
    assert "cannot be chosen" in panel.tooltip("autumn")
    assert "no model yet" in panel.combo.itemText(panel.combo.findData("beach"))
    other.close()


def test_failed_photo_shows_its_reason(qtbot, window, mixed_dir):
    [item_id] = window.add_paths([mixed_dir / "corrupt.jpg"])
    _wait_done(qtbot, window, [item_id])
    item = window.session.items[item_id]
    assert item.state is State.FAILED
    assert "corrupt.jpg" in item.error and "damaged or truncated" in item.error
    assert window.strip.state_of(item_id) == "failed"
    assert "damaged or truncated" in window.strip.tooltip_of(item_id)
    assert "Could not colorize corrupt.jpg" in window.canvas.error
    assert window.commands["retry"].isEnabled()


def test_canvas_split_toggle_zoom_and_pan(qtbot, window, photo_dir):
    [item_id] = window.add_paths([photo_dir / "astronaut.jpg"])
    _wait_done(qtbot, window, [item_id])
    canvas = window.canvas
    window.session.set_options(item_id, strength=2.0)
    qtbot.waitUntil(lambda: window.session.items[item_id].state is State.DONE
                    and window.session.items[item_id].strength == 2.0, timeout=WAIT_MS)
    canvas.set_split(0.5)
    vis = canvas.visible_rect()
    shot = _pixels(canvas.grab().toImage())
    dpr = canvas.devicePixelRatioF()
    y = int((vis.top() + vis.height() * 0.3) * dpr)
    left = shot[y, int((vis.left() + 30) * dpr): int((canvas.split_x() - 30) * dpr)].astype(int)
    right = shot[y, int((canvas.split_x() + 30) * dpr): int((vis.right() - 30) * dpr)].astype(int)
    assert np.abs(left[:, 0] - left[:, 2]).max() <= 3  # before: the gray original
    assert np.abs(right[:, 0] - right[:, 2]).max() > 3  # after: colour

    window.commands["original"].trigger()  # B: the whole photo is the original
    assert canvas.showing_original
    shot = _pixels(canvas.grab().toImage()).astype(int)
    inside = shot[y, int((vis.left() + 30) * dpr): int((vis.right() - 30) * dpr)]
    assert np.abs(inside[:, 0] - inside[:, 2]).max() <= 3
    window.commands["original"].trigger()
    assert not canvas.showing_original

    window.commands["zoom100"].trigger()
    assert canvas.scale == pytest.approx(1.0) and not canvas.is_fit
    window.commands["zoom_in"].trigger()
    assert canvas.scale == pytest.approx(1.25)
    canvas.zoom_to(4.0)  # larger than the canvas, whatever the screen: pannable
    before = canvas.image_rect().topLeft()
    window.commands["split"].setChecked(False)  # no divider to grab: dragging pans
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(200, 200))
    qtbot.mouseMove(canvas, QPoint(260, 240))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(260, 240))
    moved = canvas.image_rect().topLeft() - before
    assert moved.x() != 0 or moved.y() != 0
    wheel = QWheelEvent(QPointF(100, 100), canvas.mapToGlobal(QPointF(100, 100)), QPoint(),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    scale = canvas.scale
    QApplication.sendEvent(canvas, wheel)
    assert canvas.scale > scale
    window.commands["fit"].trigger()
    assert canvas.is_fit


def test_only_recent_photos_keep_their_pixels(qtbot, window, photo_dir, monkeypatch):
    """A folder of hundreds of scans must not fill memory: older photos keep thumbnails only."""
    import gui.session

    monkeypatch.setattr(gui.session, "KEEP_IN_MEMORY", 2)
    ids = window.add_paths([photo_dir])
    assert len(ids) == 4
    _wait_done(qtbot, window, ids)
    items = [window.session.items[i] for i in ids]
    assert all(i.state is State.DONE for i in items)
    assert sum(i.photo is not None for i in items) <= 2
    assert all(i.colour_thumb is not None and i.confidences for i in items)
    evicted = next(i for i in items if i.photo is None)
    window.select(evicted.id)  # looked at again: decoded and coloured again
    qtbot.waitUntil(lambda: evicted.colour is not None and evicted.state is State.DONE,
                    timeout=WAIT_MS)
    assert window.canvas.has_colour


def test_paste_image_from_clipboard(qtbot, window):
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.gray)
    QGuiApplication.clipboard().setImage(image)
    window.paste()
    assert len(window.session.order) == 1
    item = window.session.items[window.session.order[0]]
    assert item.pasted
    _wait_done(qtbot, window, [item.id])
    assert item.state is State.DONE, item.error
    assert item.size == (64, 48)


# --------------------------------------------------------------------------- export


def _exif_jpeg(path: Path, photo_dir: Path) -> Path:
    im = Image.open(photo_dir / "chelsea.jpg").convert("L")
    exif = Image.Exif()
    exif[ARTIST] = "Tinct Test"
    exif[0x010F] = "Old Camera Co."  # Make
    im.save(path, "JPEG", quality=90, exif=exif.tobytes())
    return path


def test_save_keeps_exif(qtbot, window, photo_dir, tmp_path):
    source = _exif_jpeg(tmp_path / "family.jpg", photo_dir)
    out_dir = tmp_path / "out"
    window.export.folder.setText(str(out_dir))
    window.export.format.setCurrentIndex(window.export.format.findData("jpg"))
    assert window.export.keep_metadata.isChecked()  # the default
    [item_id] = window.add_paths([source])
    _wait_done(qtbot, window, [item_id])
    with qtbot.waitSignal(window.session.exported, timeout=WAIT_MS) as blocker:
        assert window.save_current() == 1
    written = Path(blocker.args[1])
    assert written == out_dir / "family_color.jpg"
    with Image.open(written) as im:
        assert im.size == (451, 300)
        exif = im.getexif()
        assert exif[ARTIST] == "Tinct Test"
        assert exif[0x010F] == "Old Camera Co."
        pixels = np.asarray(im.convert("RGB")).astype(int)
    assert np.abs(pixels[..., 0] - pixels[..., 2]).max() > 3  # it is the colour version
    assert "Saved" in window.statusBar().currentMessage()
    assert window.settings.export_dir == str(out_dir)  # remembered


def test_overwriting_an_output_asks_first(qtbot, window, photo_dir, tmp_path, monkeypatch):
    """Save uses core's output plan: replacing Tinct's own earlier output asks first; a
    file that is not Tinct's (the user's, an original) is never touched: the photo gets
    the next free name, as in a batch."""
    source = tmp_path / "camera.png"
    source.write_bytes((photo_dir / "camera.png").read_bytes())
    [item_id] = window.add_paths([source])
    _wait_done(qtbot, window, [item_id])
    output = tmp_path / "camera_color.png"  # default: next to the original
    with qtbot.waitSignal(window.session.exported, timeout=WAIT_MS):
        window.save_current()
    assert output.exists()
    first = (output.read_bytes(), output.stat().st_mtime_ns)

    asked: list[list[Path]] = []

    def decline(paths: list[Path]) -> bool:
        asked.append(paths)
        return False

    monkeypatch.setattr(window, "confirm_overwrite", decline)
    assert window.save_current() == 0
    assert asked == [[output]]
    qtbot.wait(200)
    assert (output.read_bytes(), output.stat().st_mtime_ns) == first

    monkeypatch.setattr(window, "confirm_overwrite", lambda paths: asked.append(paths) or True)
    with qtbot.waitSignal(window.session.exported, timeout=WAIT_MS) as blocker:
        assert window.save_current() == 1
    assert len(asked) == 2 and Path(blocker.args[1]) == output
    assert output.stat().st_mtime_ns != first[1]
    with Image.open(output) as im:
        assert im.size == (512, 512)

    # The user's own file at the name: kept, no question, the photo goes beside it.
    output.write_bytes(b"my own edit")
    with qtbot.waitSignal(window.session.exported, timeout=WAIT_MS) as blocker:
        assert window.save_current() == 1
    assert len(asked) == 2 and Path(blocker.args[1]) == tmp_path / "camera_color_2.png"
    assert output.read_bytes() == b"my own edit"

    # A pattern that names the original itself: the original is never replaced.
    window.export.pattern.setText("{name}")
    window.export.format.setCurrentIndex(window.export.format.findData("png"))
    original = source.read_bytes()
    with qtbot.waitSignal(window.session.exported, timeout=WAIT_MS) as blocker:
        assert window.save_current() == 1
    assert Path(blocker.args[1]) == tmp_path / "camera_2.png"
    assert source.read_bytes() == original


# --------------------------------------------------------------------------- batch


def _outputs(folder: Path) -> list[Path]:
    """Photos written (not Tinct's hidden output ledger)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_batch_writes_every_output_and_lists_failures(qtbot, window, mixed_dir, tmp_path):
    out = tmp_path / "batch-out"
    dialog = window.show_batch()
    dialog.set_input(mixed_dir)
    dialog.set_output(out)
    with qtbot.waitSignal(dialog.batch_finished, timeout=WAIT_MS) as blocker:
        assert dialog.start()
    report = blocker.args[0]
    assert not report.cancelled
    names = sorted(p.name for p in _outputs(out))
    assert names == ["astronaut_color.jpg", "camera_color.png", "chelsea_color.jpg"]
    assert dialog.failures.topLevelItemCount() == 1
    row = dialog.failures.topLevelItem(0)
    assert row.text(0) == "corrupt.jpg"
    assert "damaged or truncated" in row.text(1)
    assert "3 colorized" in dialog.summary.text() and "1 failed" in dialog.summary.text()
    assert dialog.progress.value() == dialog.progress.maximum() == 4

    # Running again resumes: everything written is skipped, and the summary says so.
    with qtbot.waitSignal(dialog.batch_finished, timeout=WAIT_MS) as blocker:
        assert dialog.start()
    assert len(blocker.args[0].skipped) == 3
    assert "3 skipped (already done)" in dialog.summary.text()
    assert window.settings.batch_output_dir == str(out)


def test_batch_cancel_stops_early_and_resume_finishes(qtbot, window, photo_dir, tmp_path):
    out = tmp_path / "batch-out"
    dialog = window.show_batch()
    dialog.set_input(photo_dir)
    dialog.set_output(out)
    with qtbot.waitSignal(dialog.batch_finished, timeout=WAIT_MS) as blocker:
        assert dialog.start()
        worker = dialog.worker
        # Cancel as soon as the first photo is written (in the worker thread, like a click
        # that lands while it colours).
        worker.item_done.connect(lambda _item: worker.cancel(), Qt.ConnectionType.DirectConnection)
    report = blocker.args[0]
    assert report.cancelled
    written = len(report.written)
    assert 1 <= written < 4
    assert len(_outputs(out)) == written
    assert "Cancelled" in dialog.summary.text() and "resume" in dialog.summary.text()

    with qtbot.waitSignal(dialog.batch_finished, timeout=WAIT_MS) as blocker:
        assert dialog.start()
    report = blocker.args[0]
    assert not report.cancelled
    assert len(report.skipped) == written
    assert len(report.written) == 4 - written
    assert len(_outputs(out)) == 4
    assert f"{written} skipped" in dialog.summary.text()


# --------------------------------------------------------------------------- threads


def test_gui_thread_stays_responsive_while_colorizing_a_large_photo(qtbot, window, tmp_path):
    rng = np.random.default_rng(0)
    big = cv2.resize(rng.integers(0, 255, (300, 400), np.uint8), (4000, 3000))
    path = tmp_path / "large.jpg"
    cv2.imwrite(str(path), big)

    beats: list[float] = []
    timer = QTimer()
    timer.setInterval(15)
    timer.timeout.connect(lambda: beats.append(time.perf_counter()))
    timer.start()
    qtbot.wait(100)
    [item_id] = window.add_paths([path])
    _wait_done(qtbot, window, [item_id])
    qtbot.wait(100)  # the result is painted too
    timer.stop()
    item = window.session.items[item_id]
    assert item.state is State.DONE, item.error
    assert item.colour.width == 4000 and item.colour.height == 3000
    gaps = np.diff(beats)
    assert len(gaps) > 10
    print(f"heartbeat: {len(gaps)} beats, max gap {gaps.max() * 1000:.0f} ms")
    assert gaps.max() < 0.100, f"GUI thread stalled {gaps.max() * 1000:.0f} ms"


def test_times_read_well_at_both_ends() -> None:
    from gui.panels import took

    assert (took(0.0004), took(0.085), took(0.9949)) == ("0 ms", "85 ms", "995 ms")
    assert (took(0.996), took(1.44), took(12.0)) == ("1.0 s", "1.4 s", "12.0 s")


@pytest.mark.parametrize("kind", ["rgb8", "gray8", "rgb16", "float", "odd"])
def test_qimage_holds_exact_pixels(kind: str) -> None:
    """imaging.qimage converts straight into the QImage's buffer (no GIL-held copy)."""
    from gui import imaging

    rng = np.random.default_rng(3)
    rgb8 = rng.integers(0, 256, (37, 53, 3), np.uint8)
    src, want = {
        "rgb8": (rgb8, rgb8),
        "gray8": (rgb8[..., 0].copy(), np.repeat(rgb8[..., :1], 3, axis=-1)),
        "rgb16": (rgb8.astype(np.uint16) * 257, rgb8),
        "float": (rgb8.astype(np.float32) / 255.0, rgb8),
        "odd": (rgb8[:7, :13], rgb8[:7, :13]),  # a non-contiguous view
    }[kind]
    image = imaging.qimage(src)
    assert (image.width(), image.height()) == (want.shape[1], want.shape[0])
    assert image.format() == QImage.Format.Format_RGB32
    np.testing.assert_array_equal(_pixels(image), want)


# --------------------------------------------------------------------------- chrome


def test_settings_persist_between_runs(qtbot, tmp_path, colorizer):
    path = tmp_path / "persist.ini"
    first = MainWindow(Settings(path), colorizer=colorizer)
    qtbot.addWidget(first)
    first.export.pattern.setText("{name}_tinted")
    first.export.format.setCurrentIndex(first.export.format.findData("webp"))
    first.export.keep_metadata.setChecked(False)
    first.splitter.setSizes([700, 400])
    first.close()

    second = MainWindow(Settings(path), colorizer=colorizer)
    qtbot.addWidget(second)
    assert second.export.pattern.text() == "{name}_tinted"
    assert second.export.options().fmt == "webp"
    assert second.export.options().keep_metadata is False
    assert second.settings.layout("main_split") is not None
    second.close()
    assert "persist.ini" in Settings(path).file_name


def test_shortcuts_dialog_lists_the_keys(qtbot, window):
    dialog = window.show_shortcuts()
    rows = dict(dialog.rows)
    assert rows["Open Photos"] == "Ctrl+O"
    assert rows["Open Folder"] == "Ctrl+Shift+O"
    assert rows["Paste Image"].startswith("Ctrl+V")
    assert rows["Save"] == "Ctrl+S"
    assert rows["Save All"] == "Ctrl+Shift+S"
    assert rows["Fit to Window"] == "Ctrl+0"
    assert rows["Actual Pixels (100%)"] == "Ctrl+1"
    assert rows["Show Original"] == "B"
    assert dialog.table.rowCount() == len(dialog.rows)
    dialog.close()
