"""A long offscreen session of the real app, run in its own process by test_soak.py.

What a user does for ten minutes, compressed: open a folder of 60 photos, page
through all of them, let the canvas (spinner included) and the thumbnail strip
paint for a while, add and drag colour pins, and save everything. It runs as a
child process so that a crash in the Qt binding (issue 20: PySide6 6.12.0 freed
``None`` and CPython aborted) fails one test with the child's exit status and
its stderr, instead of taking pytest down with it.

Prints one JSON line (counts, memory, ``None`` reference drift) for the test to
check; nothing here is timed against a threshold, so a loaded machine only
makes it slower.

    python -m tests.soak_app MODELS_DIR WORK_DIR [--paint-seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: Photos in the soak's folder (the issue's "folder of 60 photos").
PHOTOS = 60
#: The longest any one phase may wait for the app (a loaded CI machine is slow).
PHASE_TIMEOUT_S = 900.0


def rss_mib() -> float:
    """This process's resident memory (Linux ``/proc``; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def make_photos(folder: Path, count: int = PHOTOS, seed: int = 0) -> list[Path]:
    """``count`` black-and-white photos of varied size and format (scikit-image's data)."""
    import cv2
    import numpy as np
    from skimage import data

    rng = np.random.default_rng(seed)
    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
               np.repeat(data.camera()[..., None], 3, axis=-1)]
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        rgb = sources[k % len(sources)]
        h, w = rgb.shape[:2]
        ch, cw = int(h * rng.uniform(0.5, 1.0)), int(w * rng.uniform(0.5, 1.0))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = cv2.cvtColor(np.ascontiguousarray(rgb[y:y + ch, x:x + cw]), cv2.COLOR_RGB2GRAY)
        side = int(rng.integers(160, 640))
        scale = side / max(crop.shape)
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)),
                                 max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA)
        path = folder / f"photo_{k:02d}.{'png' if k % 3 == 0 else 'jpg'}"
        cv2.imwrite(str(path), crop)
        paths.append(path)
    return paths


def run(models_dir: Path, work: Path, paint_seconds: float) -> dict[str, object]:
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from core.engine import Colorizer
    from gui.main_window import MainWindow
    from gui.session import Models, State
    from gui.settings import Settings

    app = QApplication.instance() or QApplication([])
    none_start = sys.getrefcount(None)
    folder = work / "album"
    make_photos(folder)
    out_dir = work / "out"

    def wait_until(done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + PHASE_TIMEOUT_S
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit(f"soak: gave up waiting for {what}")
            app.processEvents()
            time.sleep(0.005)

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)

    window = MainWindow(Settings(work / "settings.ini"), colorizer=Colorizer(models_dir))
    window.resize(1280, 800)
    window.show()
    window.start_models()
    wait_until(lambda: window.session.models_state is not Models.LOADING, "the models")
    if not window.session.models_ready:
        raise SystemExit(f"soak: models failed: {window.session.models_message}")

    ids = window.add_paths([folder])
    settled = (State.DONE, State.FAILED)

    def all_settled() -> bool:
        window.canvas.repaint()  # the spinner and the pill while photos are busy
        return all(window.session.items[i].state in settled for i in ids)

    wait_until(all_settled, "the 60 photos")
    rss_opened = rss_mib()

    # Page through every photo, forward and back, painting each (canvas + strip).
    pages = 0
    for step in (window.next_photo, window.previous_photo):
        window.select(ids[0] if step is window.next_photo else ids[-1])
        for _ in ids:
            step()
            pump(0.01)
            window.grab()
            pages += 1

    # Paint for a while: the busy spinner, the canvas and the thumbnails, as a
    # window left open with work in flight does.
    window.canvas.set_status("Colorizing…", busy=True)
    paints = 0
    end = time.monotonic() + paint_seconds
    while time.monotonic() < end:
        window.select(ids[paints % len(ids)])
        window.canvas.set_status("Colorizing…", busy=True)
        for _ in range(10):
            window.canvas.repaint()
            app.processEvents()
        window.strip.viewport().repaint()  # the thumbnails and their state badges
        paints += 1
    window.canvas.set_status("")
    rss_painted = rss_mib()

    # Pins: two on every fifth photo, the second dragged; each render waits.
    canvas = window.canvas
    window.pins.panel.toggle.setChecked(True)

    def mouse(kind: QEvent.Type, xy: tuple[float, float]) -> None:
        pos = canvas.from_photo(QPointF(*xy))
        buttons = (Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease
                   else Qt.MouseButton.LeftButton)
        QApplication.sendEvent(canvas, QMouseEvent(kind, pos, canvas.mapToGlobal(pos),
                                                   Qt.MouseButton.LeftButton, buttons,
                                                   Qt.KeyboardModifier.NoModifier))

    pinned = 0
    pins_per_photo: list[int] = []
    for item_id in ids[::5]:
        item = window.session.items[item_id]
        if item.state is not State.DONE:
            continue
        window.select(item_id)  # its pixels may have been dropped: wait until it is shown
        wait_until(lambda it=item: it.colour is not None and it.state is State.DONE
                   and canvas.has_photo, "the photo on screen")
        w, h = item.size  # (width, height) of the photo
        for n, (fx, fy) in enumerate(((0.25, 0.3), (0.7, 0.6)), start=1):
            generation = item.generation
            mouse(QEvent.Type.MouseButtonPress, (w * fx, h * fy))
            mouse(QEvent.Type.MouseButtonRelease, (w * fx, h * fy))
            if len(item.edit.pins) != n:
                raise SystemExit(f"soak: a click on {item.name} did not add pin {n}")
            wait_until(lambda it=item, g=generation: it.generation > g
                       and it.state is State.DONE, "a pinned render")
        generation = item.generation
        mouse(QEvent.Type.MouseButtonPress, (w * 0.7, h * 0.6))
        for k in range(1, 6):
            mouse(QEvent.Type.MouseMove, (w * (0.7 - 0.05 * k), h * 0.6))
            pump(0.01)
        mouse(QEvent.Type.MouseButtonRelease, (w * 0.45, h * 0.6))
        wait_until(lambda it=item, g=generation: it.generation > g
                   and it.state is State.DONE, "a dragged pin's render")
        pinned += len(item.edit.pins)
        pins_per_photo.append(len(item.edit.pins))
    window.pins.panel.toggle.setChecked(False)

    # Save all, and wait for the last write.
    window.export.folder.setText(str(out_dir))
    queued = window.save_all()
    wait_until(lambda: window.session.saving is None, "Save All")
    written = sorted(p.name for p in out_dir.rglob("*") if p.is_file()
                     and not p.name.startswith(".") and not p.name.endswith(".json"))
    sidecars = sorted(p.name for p in out_dir.rglob("*.tinct.json"))
    rss_end = rss_mib()
    failed = [window.session.items[i].name for i in ids
              if window.session.items[i].state is State.FAILED]
    window.close()
    app.processEvents()
    return {
        "photos": len(ids), "failed": failed, "pages": pages, "paints": paints,
        "pins": pinned, "pins_per_photo": pins_per_photo, "queued": queued,
        "written": len(written), "sidecars": len(sidecars),
        "rss_opened_mib": round(rss_opened, 1),
        "rss_painted_mib": round(rss_painted, 1), "rss_end_mib": round(rss_end, 1),
        "none_refcount_start": none_start, "none_refcount_end": sys.getrefcount(None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models_dir", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--paint-seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.models_dir, args.work, args.paint_seconds)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
