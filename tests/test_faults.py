"""Batches you can trust: the CLI and batch with faults injected.

Same-named photos, reruns in another order, broken model folders (copies of the
random test set of tests/modelsets.py), a full disk, bad output and report
paths, bad arrays at the Python API, and Ctrl+C / SIGTERM in a real process.
Most run ``core.cli.main`` in this process; only the signal test starts one.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core import filesafe
from core.batch import ColorizeOptions, run_batch
from core.engine import Colorizer
from core.filesafe import is_temp_file
from tests.test_cli import _run

ROOT = Path(__file__).resolve().parent.parent


def _photos(zoo: Path, folder: Path, n: int, name: str = "p{i}.png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        dest = folder / name.format(i=i)
        shutil.copy(zoo / "camera.png", dest)
        out.append(dest)
    return out


def _report(path: Path) -> dict[str, dict]:
    return {i["input"]: i for i in json.loads(path.read_text())}


def _no_temp(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if is_temp_file(p.name)]


# --------------------------------------------------------------------------- issue item 1, 2


def test_same_named_photos_each_get_their_own_output(capsys, format_zoo: Path,
                                                     models_dir: Path, tmp_path: Path) -> None:
    files = [_photos(format_zoo, tmp_path / d, 1, "x.png")[0] for d in ("a", "b", "c")]
    out, rep = tmp_path / "out", tmp_path / "r.json"
    args = ["-o", out, "--models", models_dir, "--report", rep]
    code, err = _run(capsys, "colorize", *files, *args)
    assert code == 0 and "3 colorized, 0 already done, 0 failed of 3" in err
    first = {k: v["output"] for k, v in _report(rep).items()}
    assert sorted(Path(o).name for o in first.values()) == [
        "x_color.png", "x_color_2.png", "x_color_3.png"]
    code, err = _run(capsys, "colorize", *files[::-1], *args)  # resumed in another order
    assert code == 0 and "0 colorized, 3 already done" in err
    assert {k: v["output"] for k, v in _report(rep).items()} == first
    code, err = _run(capsys, "colorize", files[1], files[2], files[0], *args, "--overwrite")
    assert code == 0 and "3 colorized, 0 already done" in err
    assert {k: v["output"] for k, v in _report(rep).items()} == first
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "x_color.png", "x_color_2.png", "x_color_3.png"]


def test_passed_over_entries_are_counted_in_summary_and_report(
    capsys, format_zoo: Path, models_dir: Path, tmp_path: Path
) -> None:
    album = tmp_path / "album"
    _photos(format_zoo, album, 1)
    (album / "readme.txt").write_text("x")
    os.symlink(tmp_path / "gone.jpg", album / "lost.jpg")
    if hasattr(os, "mkfifo"):
        os.mkfifo(album / "pipe.png")
    out, rep = tmp_path / "out", tmp_path / "r.json"
    (out / "album").mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    leftover = out / "album" / f".tinct-{int(dead.stdout)}-abcd.tmp.png"  # a killed run's
    leftover.write_bytes(b"half")
    code, err = _run(capsys, "colorize", album, "-o", out, "--models", models_dir,
                     "--report", rep)
    assert code == 1  # the dangling photo link is a photo that failed
    assert "lost.jpg: broken link" in err
    n_over = 2 if hasattr(os, "mkfifo") else 1
    assert f"{n_over} passed over (" in err and "1 not a photo file" in err
    items = _report(rep)
    assert items[str(album / "readme.txt")]["passed_over"] == "not a photo file"
    if hasattr(os, "mkfifo"):
        assert items[str(album / "pipe.png")]["passed_over"] == "not a regular file (a FIFO)"
    assert items[str(album / "p0.png")]["error"] is None
    assert not leftover.exists() and _no_temp(out)


# --------------------------------------------------------------------------- issue item 4


def _broken_models(models_dir: Path, tmp_path: Path, fault: str) -> Path:
    """A copy of the models with one model broken: both of its files (.keras and the
    LiteRT export beside it), so it is broken whichever backend runs it."""
    root = shutil.copytree(models_dir, tmp_path / f"models_{fault}")

    def files(stem: str) -> list[Path]:
        return [p for p in (root / f"{stem}.keras", root / f"{stem}.tflite") if p.exists()]

    if fault == "missing_category":
        for p in files("tinct_dog"):
            p.unlink()
    elif fault == "truncated_category":
        for p in files("tinct_dog"):
            p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    elif fault == "missing_encoder":
        for p in files("encoder"):
            p.unlink()
    elif fault == "truncated_encoder":
        for p in files("encoder"):
            p.write_bytes(p.read_bytes()[:1000])
    elif fault == "manifest_list":
        (root / "manifest.json").write_text("[1, 2]")
    return root


@pytest.mark.parametrize("fault, word", [("missing_category", "missing"),
                                         ("truncated_category", "damaged or truncated")])
def test_a_broken_category_model_falls_back_to_universal(
    format_zoo: Path, models_dir: Path, tmp_path: Path, fault: str, word: str
) -> None:
    root = _broken_models(models_dir, tmp_path, fault)
    files = _photos(format_zoo, tmp_path / "in", 3)
    report = run_batch(files, tmp_path / "out", Colorizer(root),
                       ColorizeOptions(category="dog"))
    assert len(report.written) == 3 and not report.failed and report.stopped is None
    for item in report.items:
        assert item.models_used == ["universal"]
        assert "'dog' model cannot be loaded" in item.note and word in item.note


@pytest.mark.parametrize("fault, word", [("missing_encoder", "encoder"),
                                         ("truncated_encoder", "damaged or truncated"),
                                         ("manifest_list", "not a JSON object")])
def test_broken_model_store_exits_3_with_a_plain_message(
    capsys, format_zoo: Path, models_dir: Path, tmp_path: Path, fault: str, word: str
) -> None:
    root = _broken_models(models_dir, tmp_path, fault)
    files = _photos(format_zoo, tmp_path / "in", 3)
    rep = tmp_path / "r.json"
    code, err = _run(capsys, "colorize", *files, "-o", tmp_path / "out", "--models", root,
                     "--report", rep)
    assert code == 3 and word in err and "Traceback" not in err
    if fault == "truncated_encoder":  # found at the first photo: the batch stops there, once
        assert err.count("damaged or truncated") == 1 and "2 photos not started" in err
        (item,) = json.loads(rep.read_text())
        assert item["error"] and "encoder.keras" in item["error"]


# --------------------------------------------------------------------------- issue item 9: disk


def test_a_full_disk_stops_the_batch_with_one_message(
    capsys, format_zoo: Path, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = _photos(format_zoo, tmp_path / "in", 4)
    out, rep = tmp_path / "out", tmp_path / "r.json"
    real = filesafe.Staged.finish
    calls = {"n": 0}

    def finish(self, mode=None):
        if self.target.suffix == ".png":
            calls["n"] += 1
            if calls["n"] >= 2:  # the first photo fits, then the disk is full
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, mode)

    monkeypatch.setattr(filesafe.Staged, "finish", finish)
    code, err = _run(capsys, "colorize", *files, "-o", out, "--models", models_dir,
                     "--report", rep)
    assert code == 1 and err.count("no space left on device") == 1, err
    assert "1 colorized" in err and "2 photos not started" in err
    assert len(json.loads(rep.read_text())) == 2
    assert _no_temp(out)


# --------------------------------------------------------------------------- issue item 7, 9


def test_bad_output_and_report_paths_are_usage_errors(capsys, format_zoo: Path,
                                                      models_dir: Path, tmp_path: Path) -> None:
    photo = format_zoo / "camera.png"
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = [
        (["-o", a_file], "is a file"),
        (["-o", a_file / "sub"], "not a folder"),
        (["-o", tmp_path / "o1", "--report", a_file / "r.json"], "not a folder"),
        (["-o", tmp_path / "o2", "--report", tmp_path], "is a folder"),
        (["-o", tmp_path / "o3", "--architecture", "bogus"], "bogus"),
    ]
    for flags, word in cases:
        code, err = _run(capsys, "colorize", photo, "--models", models_dir, *flags)
        assert code == 2 and word in err and "Traceback" not in err, (flags, err)
    assert not any((tmp_path / f"o{i}").exists() for i in (1, 2, 3))


def test_an_unwritable_output_folder_is_a_usage_error(capsys, format_zoo: Path,
                                                      models_dir: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root: permissions do not stop writes
            if not Path("/proc/self").is_dir():
                pytest.skip("running as root without /proc: nothing here refuses writes")
            locked = Path("/proc")  # no folder can be made there, even by root
        for flags in (["-o", locked / "tinct-out"], ["-o", tmp_path / "o", "--report",
                                                      locked / "tinct-out" / "r.json"]):
            code, err = _run(capsys, "colorize", format_zoo / "camera.png",
                             "--models", models_dir, *flags)
            assert code == 2 and "cannot write" in err
    finally:
        (tmp_path / "locked").chmod(0o700)


# --------------------------------------------------------------------------- issue item 8


@pytest.mark.parametrize("array, word", [
    (np.zeros((8, 8, 3), np.int64), "uint8 or uint16"),
    (np.full((8, 8, 3), 200.0, np.float32), "0..1"),
    (np.zeros((8, 8, 3), object), "object"),
    (np.zeros((8, 8, 3), np.complex64), "complex"),
    (np.zeros((8, 8, 3), bool), "bool"),
    (np.full((8, 8, 3), np.nan, np.float32), "NaN"),
    (np.array([[[0.5, np.inf, 0.2]]], np.float64), "infinity"),
    (np.zeros((0, 8, 3), np.uint8), "empty"),
    (np.zeros((8, 8, 2), np.uint8), "shape"),
    (np.zeros((8, 8, 5), np.uint8), "shape"),
    (np.zeros((8,), np.uint8), "shape"),
])
def test_bad_arrays_are_refused_at_the_api(tiny_colorizer, array: np.ndarray,
                                           word: str) -> None:
    with pytest.raises(ValueError, match=word):
        tiny_colorizer.colorize(array)
    with pytest.raises(ValueError, match=word):
        tiny_colorizer.analyze(array)


def test_good_arrays_of_every_kind_are_taken(tiny_colorizer) -> None:
    rng = np.random.default_rng(0)
    for a in (rng.random((9, 7, 3)), rng.random((9, 7)).astype(np.float32),
              rng.integers(0, 65535, (9, 7, 1), dtype=np.uint16),
              rng.integers(0, 255, (9, 7, 4), dtype=np.uint8)):
        r = tiny_colorizer.colorize(a)
        assert r.rgb.shape == (9, 7, 3) and np.isfinite(r.rgb).all()


# --------------------------------------------------------------------------- issue item 5


_SLOW_MAIN = """
import sys, time
sys.path.insert(0, {root!r})
import core.batch
real = core.batch.colorize_photo
def slow(*a, **k):
    item = real(*a, **k)
    time.sleep(0.4)  # a photo takes a while: the signal lands mid-batch
    return item
core.batch.colorize_photo = slow
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_sigterm_stops_after_the_photo_with_summary_and_report(
    capsys, format_zoo: Path, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    sig: str,
) -> None:
    """In this process: the signal arrives while the second photo is being done. SIGHUP
    (the terminal closed) once killed the run at once; it is a SIGTERM now (issue 22)."""
    if not hasattr(signal, sig):
        pytest.skip(f"no {sig} here")
    signum = getattr(signal, sig)
    import core.batch

    files = _photos(format_zoo, tmp_path / "in", 5)
    out, rep = tmp_path / "out", tmp_path / "r.json"
    real = core.batch.colorize_photo
    seen = []

    def colorize(*a, **k):
        seen.append(1)
        if len(seen) == 2:
            os.kill(os.getpid(), signum)
        return real(*a, **k)

    monkeypatch.setattr(core.batch, "colorize_photo", colorize)
    code, err = _run(capsys, "colorize", tmp_path / "in", "-o", out, "--models", models_dir,
                     "--report", rep)
    assert code == 128 + signum and f"stopped by {sig}: 3 not started" in err
    assert "2 colorized, 0 already done, 0 failed of 2" in err
    assert len(json.loads(rep.read_text())) == 2 and _no_temp(out)
    assert signal.getsignal(signum) is signal.SIG_DFL  # handlers given back
    monkeypatch.undo()
    code, err = _run(capsys, "colorize", tmp_path / "in", "-o", out, "--models", models_dir,
                     "--report", rep)
    assert code == 0 and "3 colorized, 2 already done, 0 failed of 5" in err
    assert len(files) == 5


def test_a_second_ctrl_c_stops_at_once_and_reports_what_was_written(
    capsys, format_zoo: Path, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 22: the second Ctrl+C waited for the photo being written (a 12 MP PNG takes
    seconds), then reported nothing done. Now it returns without waiting for that write,
    and the photos the writer finished are in the summary and the report."""
    import threading

    import core.batch

    _photos(format_zoo, tmp_path / "in", 6)
    out, rep = tmp_path / "out", tmp_path / "r.json"
    real_finish, real_colorize = core.batch.finish, core.batch.colorize_photo
    release, calls = threading.Event(), []
    blocked_write_returned, third_started = threading.Event(), threading.Event()

    def finish(*a, **k):
        calls.append(1)
        if len(calls) == 3:  # the third photo's write is a slow one
            third_started.set()  # (the writer has handed the first two over by now)
            release.wait(120)
            blocked_write_returned.set()
        return real_finish(*a, **k)

    colorized = []

    def colorize(*a, **k):
        colorized.append(1)
        if len(colorized) == 5:  # the third photo is being written: Ctrl+C twice
            assert third_started.wait(120)
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
        return real_colorize(*a, **k)

    monkeypatch.setattr(core.batch, "finish", finish)
    monkeypatch.setattr(core.batch, "colorize_photo", colorize)
    try:
        code, err = _run(capsys, "colorize", tmp_path / "in", "-o", out, "--models",
                         models_dir, "--report", rep)
        assert not blocked_write_returned.is_set()  # it did not wait for that write
    finally:
        release.set()
    assert code == 130 and "stopped by SIGINT" in err and "stopped at once" in err
    assert "2 colorized, 0 already done, 0 failed of 2" in err
    items = json.loads(rep.read_text())
    assert len(items) == 2 and all(i["error"] is None and Path(i["output"]).is_file()
                                   for i in items)


_SLOW_MAIN = """
import sys, time
sys.path.insert(0, {root!r})
import core.batch
real = core.batch.colorize_photo
def slow(*a, **k):
    item = real(*a, **k)
    time.sleep(0.3)  # a photo takes a while: Ctrl+C lands mid-batch
    return item
core.batch.colorize_photo = slow
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_in_a_real_process_stops_after_the_photo(
    format_zoo: Path, models_dir: Path, tmp_path: Path
) -> None:
    files = _photos(format_zoo, tmp_path / "in", 10)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    out, rep = tmp_path / "out", tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_MAIN.format(root=str(ROOT)), "colorize",
         tmp_path / "in", "-o", out, "--models", models_dir, "--report", rep],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(json.loads(rep.read_text())) >= 1:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=150)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "stopped by SIGINT" in err and "not started" in err
    done = json.loads(rep.read_text())
    assert 1 <= len(done) < len(files)
    assert all(i["error"] is None and Path(i["output"]).is_file() for i in done)
    assert f"{len(done)} colorized" in err and _no_temp(out)


def test_the_app_loads_around_a_broken_category_model(models_dir: Path, tmp_path: Path) -> None:
    """Colorizer.load (the app's start) is not stopped by one category's damaged file."""
    root = _broken_models(models_dir, tmp_path, "truncated_category")
    cz = Colorizer(root)
    cz.load()
    r = cz.colorize(np.full((20, 30, 3), 128, np.uint8), category="dog")
    assert r.models_used == ["universal"] and "damaged or truncated" in r.notes[0]
    broken = _broken_models(models_dir, tmp_path / "b", "truncated_encoder")
    from core.store import ModelFileError

    with pytest.raises(ModelFileError, match="encoder.keras: model file is damaged"):
        Colorizer(broken).load()


_SLOW_WRITE_MAIN = """
import sys, time
sys.path.insert(0, {root!r})
import core.filesafe
real = core.filesafe.Staged.finish
def slow(self, mode=None):
    time.sleep(0.3)  # the data is in the temp file, not yet in place: kill -9 lands here
    return real(self, mode)
core.filesafe.Staged.finish = slow
from core.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_kill_9_mid_write_then_resume(capsys, format_zoo: Path, models_dir: Path,
                                      tmp_path: Path) -> None:
    """A killed run leaves whole outputs, a report of them and at most a temp file; the
    next run removes the temp file and does only the rest."""
    _photos(format_zoo, tmp_path / "in", 8)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    out, rep = tmp_path / "out", tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITE_MAIN.format(root=str(ROOT)), "colorize",
         tmp_path / "in", "-o", out, "--models", models_dir, "--report", rep],
        env=env, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if len(json.loads(rep.read_text())) >= 1 and any(
                    is_temp_file(p.name) for p in (out / "in").iterdir()):
                break  # a photo done and reported, the next one mid-write
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=60)
    assert not _no_temp(out)  # killed mid-write: the half photo is a hidden temp file
    done = [i for i in json.loads(rep.read_text()) if i["output"]]
    assert done and all(Path(i["output"]).is_file() for i in done)
    code, err = _run(capsys, "colorize", tmp_path / "in", "-o", out, "--models", models_dir,
                     "--report", rep)
    items = json.loads(rep.read_text())
    assert code == 0 and len(items) == 8 and sum(i["skipped"] for i in items) >= len(done)
    assert _no_temp(out)
    assert sorted(p.name for p in (out / "in").iterdir() if not p.name.startswith(".")) == [
        f"p{i}_color.png" for i in range(8)]
