"""`colorize --hints HINTS.json` end to end: pins per photo, the report, the sidecar, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import lab
from core.hints import read_sidecar
from core.pins import Pin
from tests.test_cli import _copy, _run


def _hints(tmp_path: Path, obj) -> Path:
    p = tmp_path / "hints.json"
    p.write_text(json.dumps(obj))
    return p


def test_hints_colour_their_photo_and_are_reported_and_recorded(
        capsys, format_zoo: Path, models_dir: Path, tmp_path: Path) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "cat.webp")
    pin = {"x": 60, "y": 100, "color": "#4f6fa0"}  # a mid-gray spot: in gamut
    hints = _hints(tmp_path, {"camera.png": [pin], "nothing.jpg": []})
    report = tmp_path / "r.json"
    out = tmp_path / "out"
    code, err = _run(capsys, "colorize", src, "-o", out, "--models", models_dir,
                     "--hints", hints, "--report", report, "--strength", "0.5",
                     "--category", "person")
    assert code == 0, err
    assert "'nothing.jpg' matches no input photo" in err  # a typo is told, not ignored
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())}
    assert items["camera.png"]["pins"] == [pin]
    assert items["cat.webp"]["pins"] == [] and items["cat.webp"]["sidecar"] is None
    sidecar = Path(items["camera.png"]["sidecar"])
    assert sidecar == out / "in" / "camera_color.tinct.json"
    record = read_sidecar(sidecar)
    assert record.pins == (Pin(60, 100, (0x4F, 0x6F, 0xA0)),)
    assert (record.category, record.strength) == ("person", 0.5)
    assert Path(record.input) == Path(items["camera.png"]["input"]).resolve()
    assert record.output == items["camera.png"]["output"]
    # The pin's colour is there (its ab; the photo's own L), at strength 0.5 too.
    with Image.open(items["camera.png"]["output"]) as im:
        got = lab.rgb_to_lab(np.asarray(im.convert("RGB")))[100, 60, 1:]
    want = lab.rgb_to_lab(np.array([[[0x4F, 0x6F, 0xA0]]], np.uint8))[0, 0, 1:]
    assert np.abs(got - want).max() < 6.0


def test_hints_by_path_as_given(capsys, format_zoo: Path, models_dir: Path,
                                tmp_path: Path) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png")
    photo = src / "camera.png"
    hints = _hints(tmp_path, {str(photo): [{"x": 5, "y": 5, "color": "#ff0000"}]})
    report = tmp_path / "r.json"
    code, err = _run(capsys, "colorize", photo, "-o", tmp_path / "out", "--models",
                     models_dir, "--hints", hints, "--report", report)
    assert code == 0, err
    (item,) = json.loads(report.read_text())
    assert item["pins"] == [{"x": 5, "y": 5, "color": "#ff0000"}]


@pytest.mark.parametrize("pin,reason", [
    ({"x": 5000, "y": 5, "color": "#ff0000"}, "is outside the photo"),
    ({"x": 5, "y": 5, "color": "red"}, "bad colour 'red'"),
])
def test_a_bad_pin_fails_its_photo_and_the_batch_goes_on(
        capsys, format_zoo: Path, models_dir: Path, tmp_path: Path, pin, reason) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "cat.webp")
    hints = _hints(tmp_path, {"camera.png": [pin]})
    report = tmp_path / "r.json"
    code, err = _run(capsys, "colorize", src, "-o", tmp_path / "out", "--models", models_dir,
                     "--hints", hints, "--report", report)
    assert code == 1
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())}
    assert reason in items["camera.png"]["error"] and "camera.png" in items["camera.png"]["error"]
    assert items["camera.png"]["output"] is None
    assert items["cat.webp"]["error"] is None  # the rest of the batch is written
    assert reason in err
    assert not list((tmp_path / "out").rglob("camera*"))


@pytest.mark.parametrize("content,reason", [
    ("{oops", "not valid JSON"),
    ('["camera.png"]', "must map photo paths"),
    ('{"camera.png": {"x": 1}}', "must be a list of pins"),
])
def test_a_broken_hints_file_is_a_usage_error(capsys, format_zoo: Path, models_dir: Path,
                                              tmp_path: Path, content: str, reason: str) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png")
    hints = tmp_path / "hints.json"
    hints.write_text(content)
    code, err = _run(capsys, "colorize", src, "-o", tmp_path / "out", "--models", models_dir,
                     "--hints", hints)
    assert code == 2 and reason in err and "hints.json" in err
    code, err = _run(capsys, "colorize", src, "-o", tmp_path / "out", "--models", models_dir,
                     "--hints", tmp_path / "missing.json")
    assert code == 2 and "hints file not found" in err
