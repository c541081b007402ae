"""Atomic, durable file writes: the one way Tinct puts a file on disk.

A file Tinct writes (a colour photo, a report, a manifest, a model checkpoint)
appears complete or not at all, even if the process is killed or the machine
loses power: the bytes go to a temporary file in the target's own folder, are
fsync'd, renamed (or hard-linked, to never clobber) into place, and the folder
is fsync'd so the new name survives a crash too.

Temporary files are named ``.tinct-<pid>-<random>.tmp<ending>``; the pid lets a
later run tell a leftover of a dead process (removed by
:func:`clean_temp_files`) from the in-flight file of a run still going. Only
names with Tinct's own prefix are ever removed: a user's hidden ``.notes.tmp``
(or any other ``.xxxxxxxx.tmp``) in an output folder such as ``~/Pictures`` is theirs.
"""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

TEMP_PREFIX = ".tinct-"
_TEMP_RE = re.compile(r"^\.tinct-(\d+)-[A-Za-z0-9_]+\.tmp(\.[\w.]+)?$")
#: A temp file this old is a leftover whatever its pid says (pids get reused).
STALE_SECONDS = 24 * 3600
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _read_umask() -> int:
    """The process umask, so files get normal permissions, not mkstemp's 0600."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def is_disk_full(exc: BaseException) -> bool:
    """True for 'no space left' and 'quota exceeded': no later write can succeed either."""
    return isinstance(exc, OSError) and exc.errno in _DISK_FULL


def _ending(name: str) -> str:
    """The part of a file name that libraries look at to pick a format."""
    for multi in (".weights.h5", ".tar.gz"):
        if name.endswith(multi):
            return multi
    return Path(name).suffix[:16]


def fsync_dir(folder: str | Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with suppress(OSError):  # some file systems refuse fsync on folders
            os.fsync(fd)
    finally:
        os.close(fd)


class Staged:
    """A temporary file beside ``target``, to be committed under its final name.

    Use as a context manager: leaving the block removes the temp file unless it
    was committed. ``commit`` may be retried with another name after a
    FileExistsError (the output plan does that when a name is taken meanwhile).
    """

    def __init__(self, target: str | Path):
        self.target = Path(target)
        self.folder = self.target.parent
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.folder, prefix=f"{TEMP_PREFIX}{os.getpid()}-",
                                    suffix=".tmp" + _ending(self.target.name))
        self.path = Path(name)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.committed: Path | None = None

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        if self.committed is None:
            with suppress(OSError):
                os.unlink(self.path)

    def finish(self, mode: int | None = None) -> os.stat_result:
        """Flush and fsync the data, set the mode; returns the file's stat (its size and
        mtime are the final file's: linking and renaming keep them)."""
        if not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
        os.chmod(self.path, (0o666 & ~_UMASK) if mode is None else mode)
        return os.stat(self.path)

    def commit(self, target: str | Path | None = None, *, overwrite: bool = True) -> Path:
        """Move the finished file to ``target`` (default: the one it was made for).

        Without ``overwrite`` an existing file is never replaced: FileExistsError.
        """
        dest = Path(target) if target is not None else self.target
        if overwrite:
            os.replace(self.path, dest)
        else:
            try:
                os.link(self.path, dest)  # fails atomically if the name is taken
            except FileExistsError:
                raise
            except OSError as e:  # no hard links here (FAT, some network shares)
                if e.errno in _DISK_FULL:
                    raise
                if os.path.lexists(dest):
                    raise FileExistsError(errno.EEXIST, "file exists", str(dest)) from None
                os.replace(self.path, dest)
            else:
                with suppress(OSError):
                    os.unlink(self.path)
        self.committed = dest
        fsync_dir(dest.parent)
        return dest


def atomic_write(
    path: str | Path, write: Callable[[BinaryIO], None], *, overwrite: bool = True,
    keep_mode: bool = True,
) -> Path:
    """Write a file through ``write(f)`` atomically and durably; return its path.

    An overwritten file keeps its permissions when ``keep_mode``.
    """
    target = Path(path)
    with Staged(target) as staged:
        write(staged.file)
        mode = None
        if keep_mode:
            with suppress(OSError):
                mode = os.stat(target).st_mode & 0o7777
        staged.finish(mode)
        return staged.commit(overwrite=overwrite)


def atomic_bytes(path: str | Path, data: bytes, *, overwrite: bool = True) -> Path:
    return atomic_write(path, lambda f: f.write(data), overwrite=overwrite)


def atomic_text(path: str | Path, text: str, *, overwrite: bool = True) -> Path:
    return atomic_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def atomic_json(path: str | Path, obj: Any, *, indent: int | None = 2) -> Path:
    return atomic_text(path, json.dumps(obj, indent=indent) + "\n")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temp path for libraries that write by file name; renamed into place on success.

    ``with atomic_path(run / "classifier.keras") as tmp: model.save(tmp)``: a
    killed save leaves no half-written ``classifier.keras`` that could pass for
    a finished one.
    """
    target = Path(path)
    with Staged(target) as staged:
        staged.file.close()
        yield staged.path
        fd = os.open(staged.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        staged.finish()
        staged.commit()


def is_temp_file(name: str) -> bool:
    """True for the name of a temporary file of Tinct's own (``.tinct-<pid>-...``).

    Early versions named theirs ``.xxxxxxxx.tmp``, which a user's own file can match
    too: those are left alone (never listed as Tinct's, never removed)."""
    return bool(_TEMP_RE.match(name))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, another user's
    return True


def clean_temp_files(folder: str | Path) -> list[Path]:
    """Remove Tinct's leftover temp files in ``folder`` (not its sub-folders).

    Only those of processes that are gone (or older than a day): a run still
    writing into the same folder keeps its in-flight files.
    """
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not entry.is_file(follow_symlinks=False):
            continue
        if now - st.st_mtime > STALE_SECONDS or not _pid_alive(int(m.group(1))):
            with suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
