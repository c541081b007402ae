"""Pins on disk: the --hints file (lookup by path or name, errors) and the sidecar round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.hints import (
    EditRecord,
    HintsError,
    load_hints,
    read_sidecar,
    sidecar_path,
    sidecar_text,
)
from core.pins import Pin, PinError


def _write(tmp_path: Path, obj, name: str = "hints.json") -> Path:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def test_pins_by_path_as_given_or_by_file_name(tmp_path: Path) -> None:
    photo = tmp_path / "scans" / "a.jpg"
    photo.parent.mkdir()
    photo.touch()
    hints = load_hints(_write(tmp_path, {
        str(photo): [{"x": 1, "y": 2, "color": "#ff0000"}],
        "b.png": [{"x": 3, "y": 4, "color": "#00ff00"}],
        "typo.jpg": [],
    }))
    assert hints.pins_for(photo) == [Pin(1, 2, (255, 0, 0))]
    assert hints.pins_for(tmp_path / "elsewhere" / "b.png") == [Pin(3, 4, (0, 255, 0))]
    assert hints.pins_for(tmp_path / "c.jpg") == []
    assert hints.unused() == ["typo.jpg"]


def test_a_path_key_matches_another_spelling_of_the_same_file(tmp_path: Path,
                                                              monkeypatch) -> None:
    photo = tmp_path / "a.jpg"
    photo.touch()
    monkeypatch.chdir(tmp_path)
    hints = load_hints(_write(tmp_path, {"./a.jpg": [{"x": 1, "y": 2, "color": "#ff0000"}]}))
    assert hints.pins_for(photo.resolve()) == [Pin(1, 2, (255, 0, 0))]


@pytest.mark.parametrize("content,match", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must map photo paths"),
    ('{"a.jpg": {"x": 1}}', "must be a list of pins"),
])
def test_a_broken_hints_file_is_refused_whole(tmp_path: Path, content: str, match: str) -> None:
    with pytest.raises(HintsError, match=match):
        load_hints(_write(tmp_path, content))
    with pytest.raises(HintsError, match="not found"):
        load_hints(tmp_path / "missing.json")


def test_bad_pins_fail_their_photo_with_the_reason(tmp_path: Path) -> None:
    hints = load_hints(_write(tmp_path, {"a.jpg": [{"x": 1, "y": 2, "color": "navy"}]}))
    with pytest.raises(PinError, match=r"hints.json \['a.jpg'\]: pin 1: bad colour 'navy'"):
        hints.pins_for(Path("a.jpg"))


def test_sidecar_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "photo_color.jpg"
    assert sidecar_path(out) == tmp_path / "photo_color.jpg.tinct.json"
    record = EditRecord(str(tmp_path / "photo.jpg"), str(out), "dress", 0.8, "hard",
                        (Pin(1, 2, (1, 2, 3)), Pin(10.5, 3, (200, 100, 0))))
    sidecar_path(out).write_text(sidecar_text(record))
    assert read_sidecar(sidecar_path(out)) == record


def test_a_file_that_is_not_a_sidecar_says_so(tmp_path: Path) -> None:
    with pytest.raises(HintsError, match="not a Tinct edit file"):
        read_sidecar(_write(tmp_path, {"pins": []}, "x.tinct.json"))
    with pytest.raises(HintsError, match="pin 1"):
        read_sidecar(_write(tmp_path, {"format": "tinct-edit/1", "input": "a.jpg",
                                       "pins": [{"x": 1}]}, "y.tinct.json"))


def test_find_sidecar_finds_an_output_and_its_input(tmp_path: Path) -> None:
    """What the app looks for on opening a photo (core.hints.find_sidecar)."""
    from core.hints import EditRecord, find_sidecar, write_sidecar
    from core.pins import Pin

    src, out = tmp_path / "in" / "scan.jpg", tmp_path / "in" / "scan_color.jpg"
    src.parent.mkdir()
    src.write_bytes(b"x")
    out.write_bytes(b"x")
    pin = Pin(1, 2, (3, 4, 5))
    side = write_sidecar(tmp_path / "in" / "scan_color.tinct.json",
                         EditRecord(str(src.resolve()), str(out), pins=(pin,)))
    assert find_sidecar(out) == (side, read_sidecar(side))  # the output: its own file
    assert find_sidecar(src) == (side, read_sidecar(side))  # the input: named by it
    (tmp_path / "in" / "broken.tinct.json").write_text("{not json")  # skipped, no error
    lone = tmp_path / "in" / "lone.jpg"
    lone.write_bytes(b"x")
    assert find_sidecar(lone) is None
    assert find_sidecar(tmp_path / "missing" / "x.jpg") is None
