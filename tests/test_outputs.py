"""The output plan (core.outputs) and the job's writer (core.job.write_outputs), with
faults injected: collisions, reruns in another order, damaged or foreign files at
output names, FIFOs, links, unreadable folders, two runs into one folder.

No models here: a small synthetic photo stands in for a colorized one.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import outputs, photo
from core.job import write_outputs
from core.outputs import DONE, LEDGER_NAME, NEW, REDO, Originals, Target, plan_outputs
from core.photo import Photo, load_photo


def _scan(path: Path, value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 12, 3), value, np.uint8)).save(path)
    return path


def _write(t: Target) -> list[Path]:
    """What the job does after colorizing: write under the plan's names."""
    ph = load_photo(t.input)
    rgb = np.full((*ph.rgb.shape[:2], 3), 0.5, np.float32)
    written, _ = write_outputs(t, ph, rgb)
    return written


def _run(inputs, out: Path, **kw) -> dict[str, str]:
    """Plan and write everything not done: input -> output file name (relative to out)."""
    plan = plan_outputs(inputs, out, **kw)
    for t in plan.targets:
        if not t.done:
            _write(t)
    return {str(t.input): t.output.relative_to(out).as_posix() for t in plan.targets}


# --------------------------------------------------------------------------- collisions


def test_same_named_photos_from_different_folders_get_their_own_outputs(tmp_path: Path) -> None:
    files = [_scan(tmp_path / d / "x.png", v) for d, v in (("a", 10), ("b", 20), ("c", 30))]
    out = tmp_path / "out"
    first = _run(files, out)
    assert sorted(first.values()) == ["x_color.png", "x_color_2.png", "x_color_3.png"]
    # Rerun with the inputs in another order: every photo keeps its own output, all done.
    plan = plan_outputs(files[::-1], out)
    assert {str(t.input): t.output.relative_to(out).as_posix() for t in plan.targets} == first
    assert all(t.state == DONE for t in plan.targets)
    # A fresh run (no ledger) hands names out the same whatever the input order.
    assert _run(files[::-1], tmp_path / "fresh") == _run(files, tmp_path / "fresh2")


def test_same_named_input_folders_do_not_collide(tmp_path: Path) -> None:
    folders = []
    for year in ("2019", "2020", "2021"):
        _scan(tmp_path / year / "scans" / "x.png")
        folders.append(tmp_path / year / "scans")
    out = tmp_path / "out"
    got = _run(folders, out)
    assert sorted(got.values()) == ["scans/x_color.png", "scans/x_color_2.png",
                                    "scans/x_color_3.png"]
    again = plan_outputs([folders[2], folders[0], folders[1]], out)
    assert {str(t.input): t.output.relative_to(out).as_posix() for t in again.targets} == got
    assert all(t.done for t in again.targets)


def test_overwrite_redoes_each_photo_in_its_own_file(tmp_path: Path) -> None:
    files = [_scan(tmp_path / d / "x.png", v) for d, v in (("a", 10), ("b", 20))]
    out = tmp_path / "out"
    first = _run(files, out)
    plan = plan_outputs(files, out, overwrite=True)
    assert [t.state for t in plan.targets] == [REDO, REDO]
    assert {str(t.input): t.output.relative_to(out).as_posix() for t in plan.targets} == first
    for t in plan.targets:
        _write(t)
    assert sorted(p.name for p in out.iterdir()) == [LEDGER_NAME, "x_color.png",
                                                     "x_color_2.png"]


def test_a_subset_rerun_does_not_take_another_photos_output(tmp_path: Path) -> None:
    a, b = _scan(tmp_path / "a" / "x.png", 10), _scan(tmp_path / "b" / "x.png", 20)
    out = tmp_path / "out"
    assert _run([b], out) == {str(b): "x_color.png"}
    got = _run([a, b], out)  # a sorts first but x_color.png is b's
    assert got == {str(a): "x_color_2.png", str(b): "x_color.png"}


# --------------------------------------------------------------------------- what counts as done


@pytest.mark.parametrize("fault", ["empty", "folder", "users", "link", "edited"])
def test_resume_trusts_only_tinct_s_own_valid_output(tmp_path: Path, fault: str) -> None:
    """A file at the output name that Tinct did not write from this photo counts as not
    done and is never touched, even with overwrite: the photo gets the next name."""
    src = _scan(tmp_path / "in" / "x.png")
    out = tmp_path / "out"
    at = out / "x_color.png"
    out.mkdir()
    if fault == "empty":
        at.write_bytes(b"")
    elif fault == "folder":
        at.mkdir()
    elif fault == "users":
        at.write_bytes(b"my retouched version")
    elif fault == "link":
        at.symlink_to(src)  # a link to the original itself
    else:  # Tinct's own output, then edited and saved by the user: theirs now
        _run([src], out)
        _scan(at, 7)
    before = at.read_bytes() if at.is_file() else None
    for overwrite in (False, True):
        (t,) = plan_outputs([src], out, overwrite=overwrite).targets
        assert t.state == NEW and t.output == out / "x_color_2.png"
        assert "x_color.png" in t.note
    _write(t)
    assert (at.read_bytes() if at.is_file() else None) == before  # never touched
    assert load_photo(out / "x_color_2.png").size == (12, 8)
    (again,) = plan_outputs([src], out).targets
    assert again.done and again.output == out / "x_color_2.png"


@pytest.mark.parametrize("fault", ["empty", "truncated"])
def test_tinct_s_own_output_cut_short_is_redone_in_place(tmp_path: Path, fault: str) -> None:
    src = _scan(tmp_path / "in" / "x.png")
    out = tmp_path / "out"
    _run([src], out)
    at = out / "x_color.png"
    data = at.read_bytes()
    at.write_bytes(b"" if fault == "empty" else data[: len(data) // 2])
    (t,) = plan_outputs([src], out).targets
    assert t.state == REDO and t.output == at and "damaged" in t.note
    _write(t)
    assert load_photo(at).size == (12, 8)
    assert sorted(p.name for p in out.iterdir()) == [LEDGER_NAME, "x_color.png"]
    (again,) = plan_outputs([src], out).targets
    assert again.done


def test_a_changed_input_is_redone(tmp_path: Path) -> None:
    src = _scan(tmp_path / "x.png", 10)
    out = tmp_path / "out"
    _run([src], out)
    _scan(src, 200)  # the user rescanned it
    (t,) = plan_outputs([src], out).targets
    assert t.state == REDO and t.output == out / "x_color.png" and "changed" in t.note


def test_outputs_beside_the_originals_are_not_read_again(tmp_path: Path) -> None:
    """--output the input folder's parent: the mirror is the input folder itself."""
    album = tmp_path / "album"
    _scan(album / "x.png")
    _run([album], tmp_path)
    assert (album / "x_color.png").is_file()
    plan = plan_outputs([album], tmp_path)
    assert [t.input.name for t in plan.targets] == ["x.png"] and plan.targets[0].done
    assert {p.path.name: p.reason for p in plan.passed_over} == {"x_color.png": "Tinct output"}


def test_two_runs_into_one_folder(tmp_path: Path) -> None:
    """Planned at the same time: the second writer neither fails nor clobbers."""
    a, b = _scan(tmp_path / "a" / "x.png", 10), _scan(tmp_path / "b" / "x.png", 20)
    out = tmp_path / "out"
    (ta,), (tb,) = plan_outputs([a], out).targets, plan_outputs([b], out).targets
    (tb2,) = plan_outputs([b], out).targets
    assert ta.output == tb.output == out / "x_color.png"
    _write(ta)
    assert _write(tb) == [out / "x_color_2.png"]  # the name was taken meanwhile
    ph = load_photo(b)
    written, fresh = write_outputs(tb2, ph, np.zeros((8, 12, 3), np.float32))
    assert written == [out / "x_color_2.png"] and not fresh  # b was done by the other run
    assert load_photo(out / "x_color.png").rgb[0, 0, 0] != 0
    assert sorted(p.name for p in out.iterdir()) == [LEDGER_NAME, "x_color.png",
                                                     "x_color_2.png"]


def test_compare_is_an_extra_file(tmp_path: Path) -> None:
    src = _scan(tmp_path / "x.png")
    out = tmp_path / "out"
    (t,) = plan_outputs([src], out, compare=True).targets
    assert (t.output.name, t.compare.name) == ("x_color.png", "x_compare.png")
    _write(t)
    assert load_photo(out / "x_color.png").size == (12, 8)
    assert load_photo(out / "x_compare.png").size == (2 * 12 + 8, 8)
    (again,) = plan_outputs([src], out, compare=True).targets
    assert again.done


# --------------------------------------------------------------------------- folder listing


def test_folder_entries_passed_over_are_counted_with_reasons(tmp_path: Path) -> None:
    album = tmp_path / "album"
    _scan(album / "a.png")
    _scan(album / "sub" / "b.png")
    (album / "notes.txt").write_text("x")
    os.symlink(album / "sub", album / "linked")
    os.symlink(tmp_path / "gone.jpg", album / "lost.jpg")  # dangling, named like a photo
    os.symlink(tmp_path / "gone.txt", album / "lost.txt")
    if hasattr(os, "mkfifo"):
        os.mkfifo(album / "pipe.jpg")
    plan = plan_outputs([album], tmp_path / "out", recursive=True)
    assert sorted(t.input.name for t in plan.targets) == ["a.png", "b.png"]
    reasons = {p.path.name: p.reason for p in plan.passed_over}
    assert reasons["notes.txt"] == "not a photo file"
    assert reasons["linked"] == "link to a folder (not followed)"
    assert reasons["lost.txt"] == "broken link"
    if hasattr(os, "mkfifo"):
        assert reasons["pipe.jpg"] == "not a regular file (a FIFO)"
    assert [(p.name, r) for p, r in plan.problems] == [
        ("lost.jpg", "broken link: it points to a missing file")]
    assert outputs.describe_passed_over(plan.passed_over_counts()).startswith("4 passed over")


def test_named_inputs_that_cannot_be_photos(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.jpg", tmp_path / "lost.jpg")
    inputs = [tmp_path / "missing.jpg", tmp_path / "lost.jpg"]
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "pipe.png")
        inputs.append(tmp_path / "pipe.png")
    plan = plan_outputs(inputs, tmp_path / "out")
    assert plan.targets == []
    reasons = {p.name: r for p, r in plan.problems}
    assert reasons["missing.jpg"] == "file not found"
    assert reasons["lost.jpg"].startswith("broken link")
    if hasattr(os, "mkfifo"):
        assert reasons["pipe.png"] == "not a regular file (a FIFO)"
        with pytest.raises(photo.PhotoError, match="not a regular file"):
            load_photo(tmp_path / "pipe.png")  # and the reader never blocks on one


def test_an_unreadable_sub_folder_is_passed_over_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(As root chmod does not stop reading, so the refusal is injected.)"""
    album = tmp_path / "album"
    _scan(album / "a.png")
    _scan(album / "locked" / "b.png")
    real = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(outputs.os, "scandir", scandir)
    plan = plan_outputs([album], tmp_path / "out", recursive=True)
    assert [t.input.name for t in plan.targets] == ["a.png"]
    assert [(p.path.name, p.reason) for p in plan.passed_over] == [
        ("locked", "cannot read the folder (permission denied)")]


# --------------------------------------------------------------------------- originals


def test_the_originals_check_is_one_set_lookup(tmp_path: Path) -> None:
    """The writer asks the run's Originals (built once), never walks all the inputs."""
    class NoWalk(Originals):
        def __iter__(self):
            raise AssertionError("walked every original")

    src = _scan(tmp_path / "x.png")
    protect = NoWalk([tmp_path / f"p{i}.png" for i in range(2000)] + [src])
    assert photo._is_protected(src, protect)
    assert not photo._is_protected(tmp_path / "y.png", protect)
    with pytest.raises(photo.PhotoError, match="original"):
        photo.save_photo(src, np.zeros((2, 2, 3), np.uint8), overwrite=True, protect=protect)
    link = tmp_path / "alias.png"
    link.symlink_to(src)
    assert link in Originals([src])  # another spelling of an original is one too


def test_bad_pattern_or_format_is_a_value_error(tmp_path: Path) -> None:
    src = _scan(tmp_path / "x.png")
    with pytest.raises(ValueError, match="pattern"):
        plan_outputs([src], tmp_path, pattern="{nome}")
    with pytest.raises(ValueError, match="format"):
        plan_outputs([src], tmp_path, fmt="gif")


def test_a_photo_named_twice_is_planned_once(tmp_path: Path) -> None:
    src = _scan(tmp_path / "in" / "x.png")
    plan = plan_outputs([src, tmp_path / "in" / "." / "x.png"], tmp_path / "out")
    assert len(plan.targets) == 1


def test_photo_module_has_no_second_writer() -> None:
    """Every file goes through core.filesafe: no private temp-file code elsewhere."""
    root = Path(__file__).resolve().parent.parent
    for path in [*root.glob("core/**/*.py"), *root.glob("gui/*.py")]:
        text = path.read_text(encoding="utf-8")
        if path.name == "filesafe.py":
            continue
        assert "mkstemp" not in text and "os.replace(" not in text, path
    assert isinstance(Photo, type)


# --------------------------------------------------------------------------- the ledger (issue 22)


def test_damaged_ledger_lines_cost_only_themselves(tmp_path: Path) -> None:
    """Lines of the wrong types, one invalid UTF-8 byte, a line cut short: each loses only
    itself (it once crashed every rerun, or discarded the whole ledger: all redone as _2),
    and a record appended after a partial last line is not swallowed by it."""
    a, b, c = (_scan(tmp_path / "in" / f"{n}.png", v) for n, v in (("a", 1), ("b", 2),
                                                                   ("c", 3)))
    out = tmp_path / "out"
    _run([a, b], out)
    ledger = out / LEDGER_NAME
    with open(ledger, "ab") as f:
        f.write(b'{"output": 5, "input": [], "input_size": "x", "input_mtime_ns": 1, '
                b'"size": 1, "mtime_ns": 1}\n')
        f.write(b'{"output": "../escape.png", "input": "/x", "input_size": 1, '
                b'"input_mtime_ns": 1, "size": 1, "mtime_ns": 1}\n')
        f.write(b'[1, 2]\n"text"\n{"output": "\xff\xfe"}\n' + b"[" * 100_000 + b"\n")
        f.write(b'{"output": "half a line')  # the last line, cut short by a crash
    for t in plan_outputs([a, b], out).targets:
        assert t.done and t.output.name == f"{t.input.stem}_color.png"
    _run([c], out)  # appended after the partial line: a line of its own
    assert plan_outputs([c], out).targets[0].done
    assert outputs.Ledger(out).by_input.keys() == {str(p.resolve()) for p in (a, b, c)}


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_a_file_name_that_is_not_utf8_is_recorded_and_found_again(tmp_path: Path) -> None:
    """A Latin-1 folder name ('Großeltern'): the ledger line once failed to encode (the
    batch's writer thread died and the batch hung)."""
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/Gro\xdfeltern"))
    src = _scan(folder / "x.png")
    out = Path(os.fsdecode(bytes(tmp_path) + b"/out\xe9"))
    names = _run([folder], out)
    assert list(names.values()) == [f"{folder.name}/x_color.png"]
    (t,) = plan_outputs([folder], out).targets
    assert t.done and t.input == src
