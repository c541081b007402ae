"""Shared test setup: offscreen Qt, quiet TensorFlow, small real fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random model set: universal + every category that has data (tests/modelsets.py),
    exported to LiteRT too, so the default backend runs it as it runs the shipped models."""
    from tests.modelsets import make_model_set

    return make_model_set(tmp_path_factory.mktemp("models_full"), litert=True)


@pytest.fixture(scope="session")
def animal_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random model set with an own model for 'animal' only (the rest fall back)."""
    from tests.modelsets import make_model_set

    return make_model_set(tmp_path_factory.mktemp("models_animal"), categories=("animal",),
                          seed=1)


@pytest.fixture(scope="session")
def tiny_colorizer(models_dir: Path):
    """One Colorizer over ``models_dir`` shared by the engine and batch tests (loads once)."""
    from core.engine import Colorizer

    return Colorizer(models_dir)


#: The photos of the ``format_zoo`` fixture: file name -> expected output suffix.
FORMAT_ZOO_OUTPUTS: dict[str, str] = {
    "street.jpg": ".jpg",
    "rotated.jpg": ".jpg",
    "sepia.jpg": ".jpg",
    "camera.png": ".png",
    "deep16.png": ".png",
    "cutout.png": ".png",
    "palette.png": ".png",
    "scan16.tif": ".tif",
    "cat.webp": ".webp",
    "old.bmp": ".png",
    "anim.gif": ".png",
    "phone.heic": ".jpg",
}
#: Files of the zoo that must fail, and the kind of reason given.
FORMAT_ZOO_BAD: dict[str, str] = {"corrupt.jpg": "damaged", "notes.png": "not"}
#: The EXIF Artist written into street.jpg (to find it in the output).
ZOO_ARTIST = "Tinct Test"


@pytest.fixture(scope="session")
def format_zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small real black-and-white photos (scikit-image) in every input format, plus two
    broken files. Read-only for tests: copy it before writing into it."""
    import cv2
    import numpy as np
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("zoo")

    def gray3(rgb: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
        return np.repeat(g[..., None], 3, axis=-1)

    astro = gray3(data.astronaut()[::4, ::3])  # 128 x 171
    coffee = gray3(data.coffee()[::4, ::4])  # 100 x 150
    cat = gray3(data.chelsea()[::3, ::3])  # 100 x 151

    exif = Image.Exif()
    exif[0x010F] = "TinctCam"  # Make
    exif[0x013B] = ZOO_ARTIST  # Artist
    exif[0x0112] = 1
    Image.fromarray(astro).save(folder / "street.jpg", quality=90, exif=exif.tobytes())
    exif[0x0112] = 6  # stored sideways: 171 wide, 128 high; upright 128 wide, 171 high
    Image.fromarray(astro).save(folder / "rotated.jpg", quality=90, exif=exif.tobytes())

    m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
    sepia = np.clip(cat.astype(np.float32) @ m.T.astype(np.float32), 0, 255).astype(np.uint8)
    Image.fromarray(sepia).save(folder / "sepia.jpg", quality=92)

    cv2.imwrite(str(folder / "camera.png"), data.camera()[::4, ::4])
    deep = (coffee[..., 0].astype(np.uint16) * 257) ^ np.uint16(0x3F)  # low bits matter
    cv2.imwrite(str(folder / "deep16.png"), deep)
    alpha = np.zeros(coffee.shape[:2], np.uint8)
    alpha[10:-10, 20:-20] = 255
    alpha[40:50] = 100
    Image.fromarray(np.dstack([coffee, alpha]), "RGBA").save(folder / "cutout.png")
    Image.fromarray(cat).quantize(32).save(folder / "palette.png")
    scan = astro[..., :3].astype(np.uint16) * 257
    cv2.imwrite(str(folder / "scan16.tif"), np.ascontiguousarray(scan[..., ::-1]))
    Image.fromarray(cat).save(folder / "cat.webp", quality=90)
    Image.fromarray(coffee).save(folder / "old.bmp")
    Image.fromarray(cat).convert("P").save(folder / "anim.gif")
    import pillow_heif

    pillow_heif.from_pillow(Image.fromarray(coffee)).save(folder / "phone.heic", quality=90)

    good = (folder / "street.jpg").read_bytes()
    (folder / "corrupt.jpg").write_bytes(good[: len(good) // 3])
    (folder / "notes.png").write_text("shopping list: milk, eggs\n")
    return folder
