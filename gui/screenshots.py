"""Screenshots of the real window for the docs: empty, one photo, batch running.

    python -m gui.screenshots --xvfb            # starts Xvfb :99 itself
    DISPLAY=:99 python -m gui.screenshots       # an X server you started

Uses the shipped models when models/manifest.json exists, else a tiny random
model set (colours are then random: the screenshots show the layout, not
the colorizer's quality). Writes docs/screenshots/{empty,photo,small,fullhd,batch}.png (truecolour).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = (1280, 800)
SMALL = (900, 600)  # MainWindow's minimum size
FULL_HD = (1920, 1080)


def _wait(app, condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.01)
    return True


def _settle(app, seconds: float = 0.4) -> None:
    _wait(app, lambda: False, seconds)


def sample_photos(folder: Path) -> list[Path]:
    """Black-and-white versions of scikit-image's sample photos (or gradients without it)."""
    import cv2
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    try:
        from skimage import data

        images = {
            "harbour_coffee.jpg": data.coffee(),
            "rocket_launch.jpg": data.rocket(),
            "astronaut_portrait.jpg": data.astronaut(),
            "chelsea_the_cat.jpg": data.chelsea(),
            "cameraman.png": data.camera(),
        }
    except ImportError:
        ramp = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (420, 1))
        images = {f"gradient_{i}.png": np.roll(ramp, 60 * i, axis=1) for i in range(5)}
    paths = []
    for name, rgb in images.items():
        gray = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        path = folder / name
        cv2.imwrite(str(path), gray)
        paths.append(path)
    return paths


def models_folder(tmp: Path) -> Path:
    shipped = ROOT / "models"
    if (shipped / "manifest.json").is_file():
        return shipped
    sys.path.insert(0, str(ROOT))
    from tests.modelsets import make_model_set

    return make_model_set(tmp / "models")


def save(image, path: Path) -> None:
    """Save a QImage as a truecolour PNG, losslessly.

    A palette would keep the file small but posterises the photo (a colorized
    gradient becomes flat bands that the product never makes), and the
    screenshots exist to show the colour as it is.
    """
    from PIL import Image
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    raw = bytes(image.constBits())
    pil = Image.frombuffer("RGB", (image.width(), image.height()), raw, "raw", "RGB",
                           image.bytesPerLine(), 1)
    pil.save(path, optimize=True)
    print(f"{path}: {pil.width}x{pil.height}, {path.stat().st_size // 1024} KB")


def composite(window_image, dialog_image, at) -> object:
    """The window with a dialog over it, as a user sees them (grab() gets one widget)."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QPainter

    out = window_image.copy()
    p = QPainter(out)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    for spread in range(12, 0, -2):  # a soft shadow
        p.fillRect(QRectF(at.x() - spread, at.y() - spread + 6,
                          dialog_image.width() + 2 * spread,
                          dialog_image.height() + 2 * spread), QColor(0, 0, 0, 14))
    p.drawImage(at, dialog_image)
    p.setPen(QColor(255, 255, 255, 40))
    p.drawRect(QRectF(at.x() - 0.5, at.y() - 0.5, dialog_image.width(), dialog_image.height()))
    p.end()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--xvfb", action="store_true", help="run Xvfb :99 for the duration")
    args = parser.parse_args(argv)

    xvfb = None
    if args.xvfb:
        xvfb = subprocess.Popen(["Xvfb", ":99", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.environ["DISPLAY"] = ":99"
        time.sleep(1.0)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb" if os.environ.get("DISPLAY") else "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="tinct-shots-"))
    try:
        return _shoot(args.out, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait()


def _shoot(out: Path, tmp: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QPoint

    from gui.app import build
    from gui.session import State

    out.mkdir(parents=True, exist_ok=True)
    models = models_folder(tmp)
    app, window, _ = build(["--models", str(models), "--settings", str(tmp / "settings.ini")])
    window.resize(*SIZE)
    window.move(0, 0)
    window.show()
    window.start_models()
    if not _wait(app, lambda: window.session.models_ready, 120):
        print(f"models did not load: {window.session.models_message}", file=sys.stderr)
        return 1
    _settle(app)
    save(window.grab().toImage(), out / "empty.png")

    photos = sample_photos(tmp / "photos")
    ids = window.add_paths(photos)
    items = window.session.items
    _wait(app, lambda: all(items[i].state in (State.DONE, State.FAILED) for i in ids), 120)
    window.select(ids[0])
    window.canvas.set_split(0.46)
    _settle(app)
    save(window.grab().toImage(), out / "photo.png")
    window.resize(*SMALL)  # the smallest window: every control must still be reachable
    _settle(app)
    save(window.grab().toImage(), out / "small.png")
    window.resize(*FULL_HD)  # a maximised window on a full-HD screen: nothing stretched thin
    _settle(app)
    save(window.grab().toImage(), out / "fullhd.png")
    window.resize(*SIZE)
    _settle(app)

    batch_in = tmp / "scans"
    batch_in.mkdir()
    for n in range(60):  # enough photos that the batch is still running when shot
        src = photos[n % len(photos)]
        shutil.copy(src, batch_in / f"scan_{n + 1:03d}{src.suffix}")
    (batch_in / "scan_007.jpg").write_bytes(b"\xff\xd8 not really a photo")
    dialog = window.show_batch()
    dialog.set_input(batch_in)
    dialog.set_output(tmp / "colour")
    dialog.resize(max(640, dialog.sizeHint().width()), dialog.sizeHint().height() + 20)
    dialog.start()
    _wait(app, lambda: dialog.progress.value() >= 18 or not dialog.running, 120)
    _settle(app, 0.2)
    at = QPoint((window.width() - dialog.width()) // 2, (window.height() - dialog.height()) // 2)
    shot = composite(window.grab().toImage(), dialog.grab().toImage(), at)
    save(shot, out / "batch.png")
    dialog.cancel()
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
