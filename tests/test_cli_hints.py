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
    assert sidecar == out / "in" / "camera_color.png.tinct.json"
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
    # issue 22: a RecursionError traceback, 11 GB of memory
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
    (json.dumps({"camera.png": [{"x": 1, "y": 1, "color": "#000000"}] * 3000}),
     "3000 colour pins; at most 100 on one photo"),
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


def test_pins_of_cam_jpg_and_cam_png_keep_their_own_edit_files(
        capsys, format_zoo: Path, models_dir: Path, tmp_path: Path) -> None:
    """Issue 22: both once went to cam_color.tinct.json, the second replacing the first;
    a user's own file at an edit file's name is never replaced (the photo is still saved,
    with a warning)."""
    src = tmp_path / "in"
    src.mkdir()
    Image.open(format_zoo / "street.jpg").save(src / "cam.jpg")
    Image.open(format_zoo / "camera.png").save(src / "cam.png")
    pins = {"cam.jpg": [{"x": 5, "y": 5, "color": "#ff0000"}],
            "cam.png": [{"x": 6, "y": 6, "color": "#00ff00"}]}
    out = tmp_path / "out"
    (out / "in").mkdir(parents=True)
    theirs = out / "in" / "cam_color.png.tinct.json"
    theirs.write_text("my notes")
    report = tmp_path / "r.json"
    code, err = _run(capsys, "colorize", src, "-o", out, "--models", models_dir,
                     "--hints", _hints(tmp_path, pins), "--report", report)
    assert code == 0, err  # both photos are written
    assert theirs.read_text() == "my notes"
    assert "cam_color.png.tinct.json: exists and is not a Tinct edit file" in err
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())}
    assert items["cam.png"]["error"] is None and items["cam.png"]["sidecar"] is None
    assert "not its edit file" in items["cam.png"]["warning"]
    jpg = read_sidecar(out / "in" / "cam_color.jpg.tinct.json")
    assert jpg.output.endswith("cam_color.jpg") and jpg.pins == (Pin(5, 5, (255, 0, 0)),)

    # The rerun: the photo is done, and the edit file that could not be written is now.
    theirs.unlink()
    code, err = _run(capsys, "colorize", src, "-o", out, "--models", models_dir,
                     "--hints", _hints(tmp_path, pins))
    assert code == 0 and "0 colorized, 2 already done" in err, err
    assert read_sidecar(theirs).pins == (Pin(6, 6, (0, 255, 0)),)


def test_a_rerun_with_other_settings_redoes_the_photo(
        capsys, format_zoo: Path, models_dir: Path, tmp_path: Path) -> None:
    """Issue 22: a rerun with other pins, --strength or --category was 'already done'."""
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "cat.webp")
    out, report = tmp_path / "out", tmp_path / "r.json"
    args = ["colorize", src, "-o", out, "--models", models_dir, "--report", report]
    assert _run(capsys, *args)[0] == 0
    code, err = _run(capsys, *args)
    assert code == 0 and "0 colorized, 2 already done" in err
    code, err = _run(capsys, *args, "--strength", "1.5")
    assert code == 0 and "2 colorized, 0 already done" in err, err
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())}
    assert "strength 1.0, now 1.5" in items["camera.png"]["note"]
    assert items["camera.png"]["output"].endswith("camera_color.png")  # redone in place
    code, err = _run(capsys, *args, "--strength", "1.5")
    assert code == 0 and "0 colorized, 2 already done" in err
    hints = _hints(tmp_path, {"cat.webp": [{"x": 5, "y": 5, "color": "#ff0000"}]})
    code, err = _run(capsys, *args, "--strength", "1.5", "--hints", hints)
    assert code == 0 and "1 colorized, 1 already done" in err
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())}
    assert "other colour pins" in items["cat.webp"]["note"]
    assert sorted(p.name for p in (out / "in").iterdir()) == [
        ".tinct-outputs.jsonl", "camera_color.png", "cat_color.webp",
        "cat_color.webp.tinct.json"]


def test_a_rerun_with_repair_redoes_the_photo(
        capsys, format_zoo: Path, models_dir: Path, tmp_path: Path) -> None:
    """Issues 22 and 23: --repair is part of how an output was made, like --strength."""
    src = _copy(format_zoo, tmp_path / "in", "camera.png")
    out, report = tmp_path / "out", tmp_path / "r.json"
    args = ["colorize", src, "-o", out, "--models", models_dir, "--report", report]
    assert _run(capsys, *args)[0] == 0
    code, err = _run(capsys, *args, "--repair")
    assert code == 0 and "1 colorized, 0 already done" in err, err
    (item,) = json.loads(report.read_text())
    assert "repaired now" in item["note"] and item["output"].endswith("camera_color.png")
    code, err = _run(capsys, *args, "--repair")
    assert code == 0 and "0 colorized, 1 already done" in err, err
    code, err = _run(capsys, *args)
    assert code == 0 and "1 colorized, 0 already done" in err, err
    (item,) = json.loads(report.read_text())
    assert "not repaired now" in item["note"]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="POSIX devices")
def test_hints_on_a_fifo_or_a_device_is_refused_unread(capsys, format_zoo: Path,
                                                       models_dir: Path, tmp_path: Path) -> None:
    """Issue 22: `--hints` on a FIFO waited for a writer for ever; /dev/zero was read until
    the OOM killer came."""
    import os

    src = _copy(format_zoo, tmp_path / "in", "camera.png")
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for hints, kind in ((fifo, "not a FIFO"), (Path("/dev/zero"), "not a device")):
        code, err = _run(capsys, "colorize", src, "-o", tmp_path / "out", "--models",
                         models_dir, "--hints", hints)
        assert code == 2 and f"{hints}: the hints file must be a file, {kind}" in err


def test_a_huge_pin_coordinate_fails_its_photo_not_the_batch(
        capsys, format_zoo: Path, models_dir: Path, tmp_path: Path) -> None:
    """Issue 22: x = 10**29 (an integer in the JSON) aborted the batch with a traceback."""
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "cat.webp", "old.bmp")
    hints = tmp_path / "hints.json"
    hints.write_text('{"camera.png": [{"x": 100000000000000000000000000000, "y": 5, '
                     '"color": "#ff0000"}], "cat.webp": [{"x": 1' + "0" * 400 + ', "y": 5, '
                     '"color": "#ff0000"}]}')
    report = tmp_path / "r.json"
    code, err = _run(capsys, "colorize", src, "-o", tmp_path / "out", "--models", models_dir,
                     "--hints", hints, "--report", report)
    assert code == 1 and "Traceback" not in err
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())}
    assert "pin 1 at (1e+29, 5) is outside the photo" in items["camera.png"]["error"]
    assert "pin x must be a pixel position" in items["cat.webp"]["error"]
    assert items["old.bmp"]["error"] is None
