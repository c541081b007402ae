"""The command line, end to end: `python main.py colorize ...` on real files.

Exit codes: 0 all inputs fine, 1 some failed, 2 usage error, 3 no models.
Real subprocesses cost seconds of TensorFlow start-up, so only a few run
that way (one full colorization; the error exits load no TensorFlow); the
other flags go through ``core.cli.main`` in this process.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import cli
from core.categories import CATEGORIES
from tests.conftest import FORMAT_ZOO_BAD, FORMAT_ZOO_OUTPUTS, ZOO_ARTIST

ROOT = Path(__file__).resolve().parent.parent
#: What the --report JSON promises for every input (README's contract).
REPORT_KEYS = {"input", "output", "category", "confidences", "models_used", "routing",
               "seconds", "error"}
REPORT_OPTIONAL = {"skipped", "compare", "note", "passed_over", "pins", "sidecar", "warning",
                   "general", "repair"}


def _main_py(*args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CI": "true"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def _tree_digest(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file but Tinct's hidden output ledger: (sha256, mtime)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                                p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def _run(capsys, *args: str | Path) -> tuple[int, str]:
    """core.cli.main in-process: (exit code, stderr); argparse errors become codes too."""
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def _copy(src: Path, dest: Path, *names: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for n in names:
        shutil.copy2(src / n, dest / n)
    return dest


# --------------------------------------------------------------------------- real process


def test_main_py_colorizes_a_folder_of_every_format(format_zoo: Path, models_dir: Path,
                                                    tmp_path: Path) -> None:
    before = _tree_digest(format_zoo)
    out, report_path = tmp_path / "out", tmp_path / "report.json"
    proc = _main_py("colorize", format_zoo, "--output", out, "--models", models_dir,
                    "--report", report_path)
    assert proc.returncode == 1, proc.stderr  # two broken files, the rest written

    report = json.loads(report_path.read_text())
    assert len(report) == len(FORMAT_ZOO_OUTPUTS) + len(FORMAT_ZOO_BAD)
    for item in report:
        assert REPORT_KEYS <= set(item) <= REPORT_KEYS | REPORT_OPTIONAL, set(item)
        name = Path(item["input"]).name
        if name in FORMAT_ZOO_BAD:
            assert item["output"] is None
            assert item["input"] in item["error"] and FORMAT_ZOO_BAD[name] in item["error"]
            assert f"failed: {item['error']}" in proc.stderr
        else:
            assert item["error"] is None
            want = out / format_zoo.name / f"{Path(name).stem}_color{FORMAT_ZOO_OUTPUTS[name]}"
            assert item["output"] == str(want) and want.is_file()
            assert set(item["confidences"]) == set(CATEGORIES)
            assert sum(item["confidences"].values()) == pytest.approx(1.0, abs=1e-4)
            assert item["category"] in CATEGORIES and item["models_used"]
            assert item["routing"] == "soft" and item["seconds"] > 0
    n_good = len(FORMAT_ZOO_OUTPUTS)
    assert f"{n_good} colorized, 0 already done, 2 failed of {n_good + 2}" in proc.stderr
    assert "Traceback" not in proc.stderr
    with Image.open(out / format_zoo.name / "street_color.jpg") as im:
        assert im.format == "JPEG" and im.getexif()[0x013B] == ZOO_ARTIST
    assert _tree_digest(format_zoo) == before  # originals untouched, nothing added


def test_main_py_error_exits(format_zoo: Path, tmp_path: Path) -> None:
    """Usage errors and a missing model set are told before any photo is touched."""
    empty = tmp_path / "no_models"
    empty.mkdir()
    proc = _main_py("colorize", format_zoo / "camera.png", "-o", tmp_path / "out",
                    "--models", empty)
    assert proc.returncode == 3
    assert "no trained models" in proc.stderr and "Traceback" not in proc.stderr
    proc = _main_py("colorize", format_zoo / "camera.png", "-o", tmp_path / "out",
                    "--strength", "5")
    assert proc.returncode == 2 and "strength" in proc.stderr
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(
    "flags, word",
    [
        (["--strength", "2.5"], "strength"),
        (["--strength", "-1"], "strength"),
        (["--strength", "lots"], "strength"),
        (["--category", "spaceship"], "category"),
        (["--quality", "0"], "quality"),
        (["--format", "gif"], "format"),
        (["--routing", "random"], "routing"),
    ],
)
def test_usage_errors_exit_2(capsys, format_zoo: Path, models_dir: Path, tmp_path: Path,
                             flags: list[str], word: str) -> None:
    code, err = _run(capsys, "colorize", format_zoo / "camera.png", "-o", tmp_path / "out",
                     "--models", models_dir, *flags)
    assert code == 2 and word in err
    assert not (tmp_path / "out").exists()


def test_missing_output_flag_or_command_exit_2(capsys, format_zoo: Path) -> None:
    assert _run(capsys, "colorize", format_zoo / "camera.png")[0] == 2
    assert _run(capsys)[0] == 2
    assert _run(capsys, "paint")[0] == 2


def test_no_models_exit_3(capsys, format_zoo: Path, models_dir: Path, tmp_path: Path) -> None:
    code, err = _run(capsys, "colorize", format_zoo / "camera.png", "-o", tmp_path / "o",
                     "--models", tmp_path / "nothing_here")
    assert code == 3 and "no trained models" in err
    code, err = _run(capsys, "colorize", format_zoo / "camera.png", "-o", tmp_path / "o",
                     "--models", models_dir, "--architecture", "cubist")
    assert code == 2 and "cubist" in err  # a usage error: the models are fine


def test_all_good_exits_0_and_missing_input_exits_1(capsys, format_zoo: Path,
                                                    models_dir: Path, tmp_path: Path) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "cat.webp")
    code, err = _run(capsys, "colorize", src, "-o", tmp_path / "out", "--models", models_dir)
    assert code == 0 and "2 colorized, 0 already done, 0 failed of 2" in err
    report = tmp_path / "logs" / "r.json"  # its folder is made too
    code, err = _run(capsys, "colorize", src / "camera.png", tmp_path / "gone.jpg",
                     "-o", tmp_path / "out2", "--models", models_dir, "--report", report)
    assert code == 1 and "gone.jpg" in err
    items = {Path(i["input"]).name: i for i in json.loads(report.read_text())}
    assert items["camera.png"]["error"] is None
    assert "not found" in items["gone.jpg"]["error"] and items["gone.jpg"]["output"] is None
    assert os.listdir(report.parent) == ["r.json"]  # written atomically: no temp file left


# --------------------------------------------------------------------------- flags


def test_format_quality_category_and_strength_flags(capsys, format_zoo: Path,
                                                    models_dir: Path, tmp_path: Path) -> None:
    src = _copy(format_zoo, tmp_path / "in", "street.jpg", "scan16.tif")
    sizes = {}
    for q in ("15", "95"):
        out = tmp_path / f"q{q}"
        code, _ = _run(capsys, "colorize", src, "-o", out, "--models", models_dir,
                       "--format", "webp", "--quality", q)
        assert code == 0
        assert sorted(p.name for p in (out / "in").iterdir() if p.suffix != ".jsonl") == [
            "scan16_color.webp", "street_color.webp"]
        for p in (out / "in").glob("*_color.webp"):
            with Image.open(p) as im:
                assert im.format == "WEBP"
        sizes[q] = (out / "in" / "street_color.webp").stat().st_size
    assert sizes["15"] < sizes["95"]

    report = tmp_path / "r.json"
    code, _ = _run(capsys, "colorize", src / "street.jpg", "-o", tmp_path / "manual",
                   "--models", models_dir, "--category", "christmas", "--strength", "0",
                   "--routing", "hard", "--report", report)
    assert code == 0
    (item,) = json.loads(report.read_text())
    assert item["category"] == "christmas" and item["models_used"] == ["universal"]
    assert item["routing"] == "hard"
    with Image.open(tmp_path / "manual" / "street_color.jpg") as im:
        rgb = np.asarray(im.convert("RGB"), np.int16)
    assert np.ptp(rgb, axis=-1).max() <= 3  # strength 0: gray (up to JPEG noise)


def test_recursive_mirrors_the_tree(capsys, format_zoo: Path, models_dir: Path,
                                    tmp_path: Path) -> None:
    album = tmp_path / "album"
    _copy(format_zoo, album, "camera.png")
    _copy(format_zoo, album / "1950s", "street.jpg")
    _copy(format_zoo, album / "1950s" / "summer", "old.bmp")
    flat = tmp_path / "flat"
    assert _run(capsys, "colorize", album, "-o", flat, "--models", models_dir)[0] == 0
    assert sorted(_tree_digest(flat)) == ["album/camera_color.png"]
    deep = tmp_path / "deep"
    assert _run(capsys, "colorize", album, "-o", deep, "--models", models_dir, "-r")[0] == 0
    assert sorted(_tree_digest(deep)) == [
        "album/1950s/street_color.jpg", "album/1950s/summer/old_color.png",
        "album/camera_color.png"]


def test_resume_and_overwrite(capsys, format_zoo: Path, models_dir: Path,
                              tmp_path: Path) -> None:
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "deep16.png", "cutout.png")
    inputs = _tree_digest(src)
    out, report = tmp_path / "out", tmp_path / "r.json"
    args = ["colorize", src, "-o", out, "--models", models_dir, "--report", report]
    assert _run(capsys, *args)[0] == 0
    first = _tree_digest(out)
    assert len(first) == 3

    code, err = _run(capsys, *args)
    assert code == 0 and "0 colorized, 3 already done" in err
    assert all(i["skipped"] and i["error"] is None for i in json.loads(report.read_text()))
    assert _tree_digest(out) == first  # same bytes, same mtimes: not rewritten

    code, err = _run(capsys, *args, "--overwrite")
    assert code == 0 and "3 colorized, 0 already done" in err
    again = _tree_digest(out)
    assert again.keys() == first.keys()
    assert all(again[k][1] != first[k][1] for k in first)  # rewritten
    assert _tree_digest(src) == inputs


def test_outputs_next_to_the_originals_never_replace_them(
    capsys, format_zoo: Path, models_dir: Path, tmp_path: Path
) -> None:
    """--output the input folder: outputs are added beside the originals; a user's file
    named like an output is never replaced, not even with --overwrite (the photo gets the
    next free name), and an output named like an input is never written."""
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "street.jpg")
    (src / "street_color.jpg").write_bytes(b"my own edit")
    before = _tree_digest(src)
    files = [src / "camera.png", src / "street.jpg"]
    code, err = _run(capsys, "colorize", *files, "-o", src, "--models", models_dir)
    assert code == 0 and "2 colorized, 0 already done" in err
    after = _tree_digest(src)
    assert {k: after[k] for k in before} == before
    assert set(after) - set(before) == {"camera_color.png", "street_color_2.jpg"}
    code, err = _run(capsys, "colorize", *files, src / "camera_color.png", "-o", src,
                     "--models", models_dir, "--overwrite")
    assert code == 0 and "3 colorized, 0 already done, 0 failed of 3" in err
    again = _tree_digest(src)
    assert again["camera_color.png"] == after["camera_color.png"]  # an input now: untouched
    assert (src / "street_color.jpg").read_bytes() == b"my own edit"
    assert again["street_color_2.jpg"] != after["street_color_2.jpg"]  # Tinct's own: redone
    assert set(again) - set(after) == {"camera_color_2.png", "camera_color_color.png"}


# --------------------------------------------------------------------------- issue 22


def test_report_never_replaces_a_photo_the_hints_or_the_ledger(
        capsys, format_zoo: Path, models_dir: Path, tmp_path: Path) -> None:
    """`--report scans/*.jpg` (the report's name forgotten) once turned the first photo
    into JSON: --report replaces only an earlier report (or an empty file)."""
    src = _copy(format_zoo, tmp_path / "in", "camera.png", "street.jpg")
    hints = tmp_path / "hints.json"
    hints.write_text("{}")
    out = tmp_path / "out"
    before = _tree_digest(src)
    # the shell expanded scans/*.png: --report took the first photo's name
    code, err = _run(capsys, "colorize", "-o", out, "--models", models_dir,
                     "--report", src / "camera.png", src / "street.jpg")
    assert code == 2 and "camera.png" in err and "not a Tinct report" in err
    code, err = _run(capsys, "colorize", src / "camera.png", src / "street.jpg", "-o", out,
                     "--models", models_dir, "--report", src / "street.jpg")
    assert code == 2 and "one of the input photos" in err
    code, err = _run(capsys, "colorize", src / "camera.png", "-o", out, "--models", models_dir,
                     "--hints", hints, "--report", hints)
    assert code == 2 and "--hints file" in err
    assert _tree_digest(src) == before and hints.read_text() == "{}"
    assert not out.exists() or not any(out.iterdir())  # nothing was written

    report = tmp_path / "r.json"
    assert _run(capsys, "colorize", src / "camera.png", "-o", out, "--models", models_dir,
                "--report", report)[0] == 0
    ledger = out / ".tinct-outputs.jsonl"
    kept = ledger.read_bytes()
    code, err = _run(capsys, "colorize", src / "camera.png", "-o", out, "--models", models_dir,
                     "--report", ledger)
    assert code == 2 and "bookkeeping" in err and ledger.read_bytes() == kept
    code, err = _run(capsys, "colorize", src / "camera.png", "-o", out, "--models", models_dir,
                     "--report", out / "camera_color.png")
    assert code == 2 and "camera.png's result" in err
    code, err = _run(capsys, "colorize", src / "camera.png", "-o", out, "--models", models_dir,
                     "--report", report)  # an earlier report: replaced
    assert code == 0 and json.loads(report.read_text())[0]["skipped"] is True


def test_messages_say_what_is_wrong(capsys, format_zoo: Path, models_dir: Path,
                                    animal_models_dir: Path, tmp_path: Path) -> None:
    """Issue 22: 'invalid _quality value'; --format jpeg refused; a link loop called a
    missing file; a ledger that cannot be written blamed on the photo's folder; a moved
    input folder's earlier output called 'another photo's output'; the TensorFlow note
    printed twice."""
    src = _copy(format_zoo, tmp_path / "album", "camera.png")
    code, err = _run(capsys, "colorize", src, "-o", tmp_path / "o", "--quality", "high")
    assert code == 2 and "quality must be a whole number from 1 to 100, not 'high'" in err
    assert "_quality" not in err
    code, err = _run(capsys, "colorize", src / "camera.png", "-o", tmp_path / "jpeg",
                     "--models", models_dir, "--format", "JPEG")
    assert code == 0 and (tmp_path / "jpeg" / "camera_color.jpg").is_file()

    loop = tmp_path / "loop.jpg"
    loop.symlink_to(loop)
    code, err = _run(capsys, "colorize", loop, "-o", tmp_path / "o", "--models", models_dir)
    assert code == 1 and "link loop" in err and "missing" not in err

    out = tmp_path / "out"
    (out / "album" / ".tinct-outputs.jsonl").mkdir(parents=True)  # cannot be written
    code, err = _run(capsys, "colorize", src, "-o", out, "--models", models_dir)
    assert code == 1 and ".tinct-outputs.jsonl: cannot add to Tinct's list" in err
    (out / "album" / ".tinct-outputs.jsonl").rmdir()
    assert _run(capsys, "colorize", src, "-o", out, "--models", models_dir)[0] == 0
    moved = tmp_path / "moved" / "album"
    moved.parent.mkdir()
    src.rename(moved)
    report = tmp_path / "r.json"
    code, err = _run(capsys, "colorize", moved, "-o", out, "--models", models_dir,
                     "--report", report)
    (item,) = json.loads(report.read_text())
    assert code == 0 and item["output"].endswith("camera_color_2.png")
    assert f"is Tinct's output of {src / 'camera.png'} (moved or gone since)" in item["note"]

    code, err = _run(capsys, "colorize", moved, "-o", tmp_path / "tf", "--models",
                     animal_models_dir, "--backend", "litert")
    assert code == 0
    assert err.count("TensorFlow") == 1, err  # the fallback, said once
