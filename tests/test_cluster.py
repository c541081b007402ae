"""The Ray engine (core.cluster, ``--engine ray``) on a local Ray of 2 CPUs: the local
engine's contract (names, formats, pixels, metadata, report, resume, failures) and an
actor killed mid-run.

One Ray session for the module; each batch starts its own actor pool (TensorFlow and the
small random models load once per actor), so the module runs a handful of batches.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from core import cli
from core.batch import run_batch
from core.filesafe import is_temp_file
from core.photo import Photo, load_photo
from tests.conftest import FORMAT_ZOO_BAD, FORMAT_ZOO_OUTPUTS

ray = pytest.importorskip("ray", reason="the Ray engine's extra: pip install -e '.[cluster]'")

from core import cluster  # noqa: E402  (after the skip: it is about Ray)


@pytest.fixture(scope="module", autouse=True)
def ray_session():
    """A local Ray with 2 CPUs and a small object store, shared by the module."""
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    started = cluster.connect(num_cpus=2)
    # Ray's own SIGTERM handler would replace the CLI's "stop after the photo".
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
    yield
    if started:
        ray.shutdown()


def _photos(folder: Path) -> dict[str, Photo]:
    """The photos of an output folder (not the ledger)."""
    return {p.name: load_photo(p) for p in sorted(folder.iterdir())
            if not p.name.startswith(".")}


def _assert_same_outputs(ours: Path, theirs: Path) -> None:
    """Same files, formats, metadata and alpha; pixels within one 8-bit step."""
    a, b = _photos(ours), _photos(theirs)
    assert sorted(a) == sorted(b)
    for name in a:
        pa, pb = a[name], b[name]
        assert (pa.format, pa.bit_depth, pa.rgb.shape) == (pb.format, pb.bit_depth,
                                                           pb.rgb.shape), name
        assert (pa.exif, pa.icc) == (pb.exif, pb.icc), name
        step = 257 if pa.bit_depth == 16 else 1
        diff = np.abs(pa.rgb.astype(np.int64) - pb.rgb.astype(np.int64)).max()
        assert diff <= step, (name, int(diff))
        if pa.alpha is None:
            assert pb.alpha is None, name
        else:
            np.testing.assert_array_equal(pa.alpha, pb.alpha)


def _same_report(ours: list[dict], theirs: list[dict], our_root: Path, their_root: Path) -> None:
    """The same items in the same order; outputs at the same place under each root."""
    assert [i["input"] for i in ours] == [i["input"] for i in theirs]
    for a, b in zip(ours, theirs):
        if b["output"] is not None:
            assert a["output"] == str(our_root / Path(b["output"]).relative_to(their_root))
        for key in ("category", "models_used", "routing", "error", "skipped", "note",
                    "passed_over"):
            assert a[key] == b[key], (a["input"], key)
        assert set(a["confidences"]) == set(b["confidences"])
        for c, p in a["confidences"].items():
            assert p == pytest.approx(b["confidences"][c], abs=1e-4), (a["input"], c)


@pytest.fixture(scope="module")
def zoo_runs(format_zoo: Path, models_dir: Path, tiny_colorizer,
             tmp_path_factory: pytest.TempPathFactory):
    """The format zoo through the CLI's ``--engine ray`` (2 workers) and the local engine."""
    local_out = tmp_path_factory.mktemp("local")
    local = run_batch([format_zoo], local_out, tiny_colorizer)
    out = tmp_path_factory.mktemp("ray")
    report_path = out.parent / f"{out.name}.json"
    code = cli.main(["colorize", str(format_zoo), "-o", str(out), "--models", str(models_dir),
                     "--engine", "ray", "--workers", "2", "--batch-size", "3",
                     "--report", str(report_path)])
    return code, json.loads(report_path.read_text()), out, local, local_out


def test_ray_outputs_equal_the_local_engines(zoo_runs, format_zoo: Path) -> None:
    code, _, out, _, local_out = zoo_runs
    assert code == cli.EXIT_SOME_FAILED  # the zoo's two broken files; the rest written
    _assert_same_outputs(out / format_zoo.name, local_out / format_zoo.name)
    names = sorted(_photos(out / format_zoo.name))
    assert names == sorted(f"{Path(n).stem}_color{s}" for n, s in FORMAT_ZOO_OUTPUTS.items())


def test_ray_report_is_the_local_report(zoo_runs) -> None:
    _, report, out, local, local_out = zoo_runs
    _same_report(report, [i.to_report() for i in local.items], out, local_out)
    assert all((i["output"] is None) == bool(i["error"]) for i in report)
    assert all(i["seconds"] > 0 for i in report if not i["error"])
    bad = {Path(i["input"]).name: i["error"] for i in report if i["error"]}
    assert sorted(bad) == sorted(FORMAT_ZOO_BAD)
    for name, why in FORMAT_ZOO_BAD.items():
        assert name in bad[name] and why in bad[name]


def _actor_pids() -> set[int]:
    """Processes of this Ray session's colorizer actors: children of its raylet, titled
    after the actor class (other sessions on a shared machine are not ours to kill)."""
    raylet = ray._private.worker._global_node.all_processes["raylet"][0].process.pid
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = next((int(line.split()[1]) for line in status.splitlines()
                     if line.startswith("PPid:")), -1)
        if ppid == raylet and b"_ColorizeActor" in title and b"ray::" in title:
            pids.add(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def many_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 small distinct gray photos (crops of scikit-image's camera)."""
    import cv2
    from skimage import data

    folder = tmp_path_factory.mktemp("many")
    cam = data.camera()
    for n in range(24):
        y, x = 8 * (n // 6), 8 * (n % 6)
        crop = cam[y * 4 : y * 4 + 256 : 4, x * 4 : x * 4 + 320 : 4]
        cv2.imwrite(str(folder / f"p{n:02d}.{'png' if n % 2 else 'jpg'}"), crop)
    return folder


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds actors in /proc")
@pytest.mark.parametrize("write_in", cluster.WRITE_STAGES)
def test_killing_an_actor_mid_run_still_writes_everything_once(
    write_in: str, many_photos: Path, models_dir: Path, tiny_colorizer, tmp_path: Path
) -> None:
    """SIGKILL the only actor after the first photo is back: Ray restarts it and retries its
    batch; every output is written once, complete, and equal to the local engine's."""
    out = tmp_path / "ray"
    killed: list[tuple[int, int]] = []  # (pid, photos done when it died)
    after_kill = []

    earlier = _actor_pids()  # an earlier batch's pool may still be going away

    def kill_once(p) -> None:
        if killed:
            after_kill.append(p.done)
            return
        pids = _actor_pids() - earlier
        assert len(pids) == 1, pids
        (pid,) = pids
        os.kill(pid, signal.SIGKILL)
        killed.append((pid, p.done))

    report = cluster.run_cluster([many_photos], out, tiny_colorizer, workers=1, batch_size=2,
                                 write_in=write_in, progress=kill_once)
    assert killed and killed[0][1] < 24 and after_kill, "the actor died mid-run"
    deadline = time.monotonic() + 30
    while killed[0][0] in _actor_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert killed[0][0] not in _actor_pids()
    assert len(report.items) == 24 and not report.failed and not report.skipped
    assert sorted(Path(i.input).name for i in report.items) == sorted(
        p.name for p in many_photos.iterdir())
    entries = list((out / many_photos.name).iterdir())
    assert not [p for p in entries if is_temp_file(p.name)]  # no temp file left behind
    files = sorted(p.name for p in entries if not p.name.startswith("."))
    assert files == sorted(Path(i.output).name for i in report.items)  # each written once
    local = tmp_path / "local"
    run_batch([many_photos], local, tiny_colorizer)
    _assert_same_outputs(out / many_photos.name, local / many_photos.name)

    stamps = {p: p.stat().st_mtime_ns for p in (out / many_photos.name).iterdir()}
    again = cluster.run_cluster([many_photos], out, tiny_colorizer, write_in=write_in)
    assert len(again.skipped) == 24 and not again.written and not again.failed  # resume
    assert {p: p.stat().st_mtime_ns for p in (out / many_photos.name).iterdir()} == stamps


def test_missing_ray_is_a_clear_usage_error(monkeypatch, capsys, format_zoo: Path,
                                            models_dir: Path, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code = cli.main(["colorize", str(format_zoo / "camera.png"), "-o", str(tmp_path),
                     "--models", str(models_dir), "--engine", "ray"])
    assert code == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "pip install" in err and "[cluster]" in err
    assert list(tmp_path.iterdir()) == []
