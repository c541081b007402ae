"""scripts/build_world_pool.py on a tiny synthetic snapshot (no fetched data, no ../shared)."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import build_world_pool as wp  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _scene(h: int, w: int, seed: int) -> np.ndarray:
    """A colourful textured picture with edges at several scales."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.float32)
    for scale in (4, 16):  # texture shared by the channels, as in a real scene
        noise = rng.random((h // scale + 2, w // scale + 2)).astype(np.float32)
        img += cv2.resize(noise, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    tint = rng.random((h // 48 + 2, w // 48 + 2, 3)).astype(np.float32)
    img += 2 * cv2.resize(tint, (w, h), interpolation=cv2.INTER_LINEAR)
    for _ in range(12):  # bright shapes: shared edges in all channels
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.circle(img, (x, y), int(rng.integers(8, 40)), tuple(rng.random(3) * 3), -1)
    img -= img.min()
    return (img / img.max() * 255).astype(np.uint8)


def _jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(gray: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, "PNG")
    return buf.getvalue()


def _plate(rgb: np.ndarray, g_shift: tuple[int, int], r_shift: tuple[int, int]) -> np.ndarray:
    """Blue, green, red exposures stacked top to bottom; green/red moved by -shift."""
    b = rgb[..., 2]
    g = np.roll(rgb[..., 1], (-g_shift[0], -g_shift[1]), axis=(0, 1))
    r = np.roll(rgb[..., 0], (-r_shift[0], -r_shift[1]), axis=(0, 1))
    return np.concatenate([b, g, r], axis=0)


def _repo(root: Path, files: dict[str, bytes]) -> tuple[Path, str]:
    """A git repository holding ``files``; returns its git dir and commit."""
    root.mkdir()
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"]):
        subprocess.run(["git", "-C", str(root), *cmd], check=True, env=env)
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                            capture_output=True, text=True).stdout.strip()
    return root / ".git", commit


def test_plate_alignment_recovers_shifts() -> None:
    rgb = _scene(300, 360, 1)
    plate = _plate(rgb, (5, -3), (11, 4))
    b, g, r = plate[:300], plate[300:600], plate[600:]
    gy, gx, gs = wp.align_shift(b, g)
    ry, rx, rs = wp.align_shift(b, r)
    assert abs(gy - 5) <= 1 and abs(gx + 3) <= 1
    assert abs(ry - 11) <= 1 and abs(rx - 4) <= 1
    assert min(gs, rs) > wp.PLATE_MIN_SCORE


def test_build_filters_dedups_and_splits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    colour = _scene(240, 320, 2)
    gray = cv2.cvtColor(cv2.cvtColor(_scene(240, 320, 3), cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    plate_rgb = _scene(300, 360, 4)
    cal = "101_ObjectCategories"
    files = {
        f"{cal}/cup/image_0001.jpg": _jpeg(colour),
        f"{cal}/mug/image_0001.jpg": _jpeg(colour, 70),  # same photo, re-encoded
        f"{cal}/cup/image_0002.jpg": _jpeg(gray),
        f"{cal}/cup/image_0003.jpg": _jpeg(_scene(100, 200, 5)),  # short side < 120
        f"{cal}/Faces/image_0001.jpg": _jpeg(_scene(200, 200, 6)),  # copy of Faces_easy
        f"{cal}/Faces_easy/image_0001.jpg": _jpeg(_scene(200, 200, 6)),
        f"{cal}/lamp/image_0001.jpg": _jpeg(_scene(200, 260, 7)),
        "data-sets/Prokudin-test-set/img12.jpg": _png(_plate(plate_rgb, (6, 2), (13, -2))),
        "data-sets/Prokudin-test-set/img1600.jpg": _png(_plate(_scene(300, 360, 8), (3, 1),
                                                              (7, 2))),
        "data-sets/Prokudin-test-set/img1800.jpg": _png(_plate(_scene(300, 360, 9), (3, 1),
                                                              (7, 2))),
    }
    git_dir, commit = _repo(tmp_path / "repo", files)
    by_name = {
        "caltech101": dataclasses.replace(wp.BY_NAME["caltech101"], commit=commit),
        "prokudin": dataclasses.replace(wp.BY_NAME["prokudin"], commit=commit),
    }
    monkeypatch.setattr(wp, "BY_NAME", by_name)
    out = tmp_path / "world"
    args = dict(out=out, names=list(by_name), mirror=tmp_path,
                git_dirs=dict.fromkeys(by_name, git_dir), limit=None, workers=1,
                guard=None, existing=None, log=lambda s: None)
    rows = wp.build(**args)

    with (out / "manifest.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == wp.COLUMNS
        manifest = list(reader)
    assert manifest == rows
    paths = {r["path"]: r for r in rows}
    assert set(paths) == {
        f"{cal}/cup/image_0001.jpg", f"{cal}/Faces_easy/image_0001.jpg",
        f"{cal}/lamp/image_0001.jpg",
        "data-sets/Prokudin-test-set/img12.jpg", "data-sets/Prokudin-test-set/img1600.jpg",
    }
    assert paths[f"{cal}/cup/image_0001.jpg"]["label"] == "cup"
    assert all(r["commit"] == commit for r in rows)
    assert paths["data-sets/Prokudin-test-set/img1600.jpg"]["split"] == "test"
    assert paths["data-sets/Prokudin-test-set/img12.jpg"]["split"] in ("train", "val")
    assert {r["kind"] for r in rows} == {"objects", "period"}
    for r in rows:
        with Image.open(out / r["file"]) as im:
            assert im.size == (256, 256) and im.format == "WEBP"
    assert not (out / "caltech101" / "mug_image_0001.webp").exists()  # duplicate removed

    state = wp.load_state(out / ".state" / "prokudin.tsv")
    note = state["data-sets/Prokudin-test-set/img12.jpg"]["note"]
    assert "g=(6,2) r=(13,-2)" in note

    with (out / "counts.csv").open(newline="") as f:
        counts = {r["source"]: r for r in csv.DictReader(f)}
    assert counts["caltech101"]["gray"] == "1"
    assert counts["caltech101"]["tiny"] == "1"
    assert counts["caltech101"]["duplicate"] == "1"

    # Re-running does nothing new and writes the same manifest.
    before = (out / "manifest.csv").read_bytes()
    assert wp.build(**args) == rows
    assert (out / "manifest.csv").read_bytes() == before


def test_split_is_seeded_and_by_group() -> None:
    groups = [f"g{i}" for i in range(4000)]
    splits = [wp.split_of(g) for g in groups]
    assert splits == [wp.split_of(g) for g in groups]
    assert 0.03 < splits.count("val") / len(splits) < 0.07
