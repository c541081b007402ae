"""core.filesafe: atomic, durable writes and the clean-up of Tinct's own leftovers."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import filesafe
from core.filesafe import (
    atomic_json,
    atomic_path,
    atomic_write,
    clean_temp_files,
    is_disk_full,
    is_temp_file,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_write_is_complete_durable_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self")
                      else str(fd))
        real_fsync(fd)

    monkeypatch.setattr(filesafe.os, "fsync", fsync)
    target = tmp_path / "deep" / "report.json"
    atomic_json(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert _names(target.parent) == ["report.json"]
    if os.path.exists("/proc/self"):
        assert any(".tinct-" in s for s in synced), synced  # the data, before the rename
        assert str(target.parent) in synced  # and the folder, after it
    if os.name == "posix":
        assert target.stat().st_mode & 0o777 == 0o666 & ~filesafe._UMASK


def test_a_failed_write_keeps_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    target.write_text("old")

    def half(f) -> None:
        f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as e:
        atomic_write(target, half)
    assert is_disk_full(e.value)
    assert target.read_text() == "old" and _names(tmp_path) == ["x.json"]


def test_no_overwrite_never_clobbers(tmp_path: Path) -> None:
    target = tmp_path / "x.bin"
    target.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        atomic_write(target, lambda f: f.write(b"new"), overwrite=False)
    assert target.read_bytes() == b"mine" and _names(tmp_path) == ["x.bin"]


def test_atomic_path_keeps_the_ending_and_commits_only_on_success(tmp_path: Path) -> None:
    target = tmp_path / "classifier.keras"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".keras")
        assert is_temp_file(tmp.name)
        tmp.write_bytes(b"model")
    assert target.read_bytes() == b"model" and _names(tmp_path) == ["classifier.keras"]

    ckpt = tmp_path / "ckpt.weights.h5"
    with pytest.raises(KeyboardInterrupt), atomic_path(ckpt) as tmp:  # killed mid-save
        assert tmp.name.endswith(".weights.h5")
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert not ckpt.exists() and _names(tmp_path) == ["classifier.keras"]


def test_leftover_temp_files_of_dead_runs_are_cleaned(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    leftovers = [f".tinct-{dead_pid}-abc123.tmp.jpg"]
    mine = f".tinct-{os.getpid()}-zzz.tmp.png"  # a write still going in this process
    # A user's own hidden files, one of them shaped like early Tinct's temp names.
    users = [".notes.tmp", "holiday.tmp", ".tinct-outputs.jsonl", "a.jpg", ".k3j4h5g6.tmp"]
    for n in [*leftovers, mine, *users]:
        (tmp_path / n).write_bytes(b"x")
    old = time.time() - 3600
    os.utime(tmp_path / ".k3j4h5g6.tmp", (old, old))
    removed = clean_temp_files(tmp_path)
    assert sorted(p.name for p in removed) == sorted(leftovers)
    assert _names(tmp_path) == sorted([mine, *users])
    assert (tmp_path / ".k3j4h5g6.tmp").read_bytes() == b"x"  # a day old: still the user's


def test_a_users_hidden_tmp_file_in_the_output_folder_survives_a_batch(
        tmp_path: Path) -> None:
    """`-o ~/Pictures`: the user's own `.xxxxxxxx.tmp` is neither deleted nor skipped as
    Tinct's bookkeeping (it is listed as a hidden file)."""
    from core.outputs import list_folder, plan_outputs

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.jpg").write_bytes(b"x")
    theirs = src / ".abcd1234.tmp"
    theirs.write_bytes(b"mine")
    old = time.time() - 3 * 24 * 3600
    os.utime(theirs, (old, old))
    plan_outputs([src / "a.jpg"], src)
    assert theirs.read_bytes() == b"mine"
    _, passed, _ = list_folder(src)
    assert [(p.path.name, p.reason) for p in passed] == [(".abcd1234.tmp", "hidden file")]
