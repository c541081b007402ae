"""The output plan: which file each input becomes, and whether it is already done.

One place for what the CLI, the app's batch dialog and its Save / Save All
all need to agree on:

* **naming**: ``<pattern><suffix>`` (default ``{name}_color``), the format from
  the input's family unless asked for; the side-by-side comparison is an extra
  file ``{name}_compare``, never the colour photo;
* **collisions**: output names are unique for the whole run. A name that is
  taken (by another photo of the run, by an original, by a file that is not
  Tinct's output of *this* input: a user's own file, a folder, a 0-byte or
  truncated file) is never written; the photo gets the next free name
  ``<stem>_2``, ``_3``... New names go out in sorted order of the inputs'
  resolved paths, so the order the inputs are given in does not matter;
* **the ledger** (``.tinct-outputs.jsonl`` in each folder Tinct writes to):
  one line per file written, with the input it came from and the size and
  mtime of the file. It makes names stable across reruns and is the resume
  rule: an output counts as done only if the ledger says Tinct wrote exactly
  this file from this same, unchanged input. ``overwrite`` redoes only files
  that are Tinct's own by that rule; an output Tinct wrote for this input that
  is now empty or cut short (does not decode) is redone in place;
* **folder listing**: what a folder holds for colouring, and every entry
  passed over with the reason (sub-folders without recursion, links to
  folders, FIFOs, unreadable folders, Tinct's own outputs, other files).
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.filesafe import clean_temp_files, is_temp_file
from core.photo import (
    OUTPUT_FORMATS,
    SUPPORTED_SUFFIXES,
    PhotoError,
    default_format_for,
    guess_source_format,
    load_photo,
    normalize_format,
)

DEFAULT_PATTERN = "{name}_color"
COMPARE_PATTERN = "{name}_compare"
LEDGER_NAME = ".tinct-outputs.jsonl"

NEW, DONE, REDO = "new", "done", "redo"


def output_path(
    input_path: str | Path, out_dir: str | Path, fmt: str, pattern: str = DEFAULT_PATTERN
) -> Path:
    """Where the colorized version of ``input_path`` goes: out_dir/<pattern><suffix>.

    ``pattern`` may use {name} (the source stem) and {ext} (its suffix, no dot),
    e.g. "{name}_{ext}_color" keeps photo.jpg and photo.png apart.
    """
    key = normalize_format(fmt)
    if key is None:
        raise ValueError(f"unknown output format {fmt!r}; choose one of: "
                         f"{', '.join(OUTPUT_FORMATS)}")
    src = Path(input_path)
    try:
        name = pattern.format(name=src.stem, ext=src.suffix.lstrip(".").lower())
    except (KeyError, IndexError, ValueError, AttributeError) as e:
        raise ValueError(f"bad output name pattern {pattern!r} ({e}); "
                         "use {name} and optionally {ext}") from None
    if name in ("", ".", "..") or "/" in name or "\\" in name:
        raise ValueError(f"output name pattern {pattern!r} gives {name!r}, not a file name")
    return Path(out_dir) / (name + OUTPUT_FORMATS[key])


def output_format(path: Path, fmt: str | None = None, source_format: str | None = None) -> str:
    """The OUTPUT_FORMATS key for ``path``: ``fmt`` when given, else the input's family."""
    if fmt:
        key = normalize_format(fmt)
        if key is None:
            raise ValueError(f"unknown output format {fmt!r}; choose one of: "
                             f"{', '.join(OUTPUT_FORMATS)}")
        return key
    return default_format_for(source_format or guess_source_format(path))


def _norm(path: str | Path) -> str:
    return os.path.normcase(os.path.realpath(path))


class Originals:
    """The inputs of a run, for O(1) 'would this replace an original?' checks."""

    def __init__(self, paths: Iterable[str | Path] = ()):
        self._paths: set[str] = set()
        self._ids: set[tuple[int, int]] = set()
        for p in paths:
            self.add(p)

    def add(self, path: str | Path) -> None:
        self._paths.add(_norm(path))
        with suppress(OSError):
            st = os.stat(path)
            self._ids.add((st.st_dev, st.st_ino))

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, (str, os.PathLike)):
            return False
        if _norm(path) in self._paths:
            return True
        try:
            st = os.stat(path)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) in self._ids

    def __len__(self) -> int:
        return len(self._paths)


# --------------------------------------------------------------------------- the ledger


@dataclass(frozen=True)
class Record:
    """One file Tinct wrote: its name in the folder and what it was made from."""

    output: str
    input: str
    input_size: int
    input_mtime_ns: int
    size: int
    mtime_ns: int
    #: what it was made with (category, strength, routing, pins); None in older ledgers
    settings: dict[str, Any] | None = None


_RECORD_FIELDS: dict[str, type] = {"output": str, "input": str, "input_size": int,
                                   "input_mtime_ns": int, "size": int, "mtime_ns": int}


def _record(raw: bytes) -> Record | None:
    """One ledger line as a Record; None for anything else (a partial line, bytes that
    are not UTF-8, a value of the wrong type, a name that is not a file name here)."""
    if not raw.strip():
        return None
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(obj, dict):
        return None
    for key, typ in _RECORD_FIELDS.items():
        value = obj.get(key)
        if not isinstance(value, typ) or isinstance(value, bool):
            return None
    name = obj["output"]
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    settings = obj.get("settings")
    return Record(**{k: obj[k] for k in _RECORD_FIELDS},
                  settings=settings if isinstance(settings, dict) else None)


class Ledger:
    """The records of one folder, read from its append-only ledger file."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.by_name: dict[str, list[Record]] = {}
        self.by_input: dict[str, list[str]] = {}
        try:
            data = (self.folder / LEDGER_NAME).read_bytes()
        except OSError:
            data = b""
        for raw in data.split(b"\n"):
            r = _record(raw)
            if r is None:
                continue  # a line cut short by a crash, damaged, or not a record: that one only
            self.by_name.setdefault(r.output, []).append(r)
            self.by_input.setdefault(r.input, []).append(r.output)

    def owner(self, name: str, st: os.stat_result | None = None) -> Record | None:
        """The record of the file now at ``name``, or None when it is not Tinct's
        (missing, a folder, changed since it was written: size or mtime differ)."""
        records = self.by_name.get(name)
        if not records:
            return None
        if st is None:
            try:
                st = os.stat(self.folder / name, follow_symlinks=False)
            except OSError:
                return None
        if not stat.S_ISREG(st.st_mode):
            return None
        for r in reversed(records):
            if r.size == st.st_size and r.mtime_ns == st.st_mtime_ns:
                return r
        return None

    @staticmethod
    def append(folder: str | Path, record: Record) -> None:
        """Add one record durably (one write of one line, then fsync).

        ASCII JSON: a file name that is not UTF-8 (a Latin-1 archive's ``Gro\\udcdfeltern``)
        is written as its escape and read back as the same name. After a line cut short
        by a crash, the record starts a line of its own (else both would be lost)."""
        line = (json.dumps(record.__dict__) + "\n").encode("ascii")
        fd = os.open(Path(folder) / LEDGER_NAME, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- the plan


@dataclass
class Target:
    """One input and the file(s) it becomes."""

    input: Path
    output: Path
    fmt: str
    compare: Path | None = None  # the side-by-side file, when asked for
    state: str = NEW  # NEW: write; DONE: skip (resume); REDO: replace Tinct's own output
    note: str = ""  # why the name is not the plain one, or why it is redone
    input_key: str = ""  # the input's resolved path: its identity in the ledger
    input_size: int = -1
    input_mtime_ns: int = -1
    #: Tinct's own files this target may replace: name -> (size, mtime_ns) at planning
    replaces: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: what it is made with (recorded in the ledger, compared on a rerun); None: unknown
    settings: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.state == DONE

    def outputs(self) -> list[Path]:
        return [self.output] + ([self.compare] if self.compare is not None else [])

    @property
    def sidecar(self) -> Path:
        """The edit file (colour pins etc.) beside the colour photo, once it is written."""
        return sidecar_for(self.output)

    def record(self, path: Path, st: os.stat_result) -> Record:
        return Record(path.name, self.input_key, self.input_size, self.input_mtime_ns,
                      st.st_size, st.st_mtime_ns, self.settings)


#: An output's edit file: photo_color.jpg -> photo_color.jpg.tinct.json (core.hints writes it).
SIDECAR_SUFFIX = ".tinct.json"


def sidecar_for(output: str | Path) -> Path:
    """Where the edit file of an output goes: beside it, ``<output name>.tinct.json``.

    The whole name, suffix included: cam.jpg's and cam.png's outputs (cam_color.jpg,
    cam_color.png) each get their own (earlier versions used the stem, so the second
    overwrote the first; those files are still found by ``core.hints.find_sidecar``)."""
    out = Path(output)
    return out.with_name(out.name + SIDECAR_SUFFIX)


def describe_settings_change(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """'strength 1.0, now 1.5; other colour pins': how a rerun's settings differ."""
    parts = []
    for key in ("category", "strength", "routing"):
        if old.get(key) != new.get(key):
            parts.append(f"{key} {old.get(key)}, now {new.get(key)}")
    if old.get("pins") != new.get("pins"):
        parts.append("other colour pins")
    if ("repair" in old) != ("repair" in new):
        parts.append("repaired now" if "repair" in new else "not repaired now")
    elif old.get("repair") != new.get("repair"):
        parts.append("other repair strokes")
    return "; ".join(parts) or "other settings"


@dataclass(frozen=True)
class PassedOver:
    """A folder entry that was not taken as a photo, and why."""

    path: Path
    reason: str


@dataclass
class OutputPlan:
    targets: list[Target] = field(default_factory=list)
    problems: list[tuple[Path, str]] = field(default_factory=list)  # inputs that cannot run
    passed_over: list[PassedOver] = field(default_factory=list)
    originals: Originals = field(default_factory=Originals)
    folders: list[Path] = field(default_factory=list)  # every output folder of the run

    def passed_over_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.passed_over:
            counts[p.reason] = counts.get(p.reason, 0) + 1
        return counts


def mirror_folder(folder: str | Path, output_dir: str | Path) -> Path:
    """Where a folder's photos go: ``<output dir>/<folder's name>/`` (its tree mirrored
    below), so two input folders never mix; the app names it before a batch starts."""
    return Path(output_dir) / Path(folder).name


def plan_outputs(
    inputs: Sequence[str | Path],
    output_dir: str | Path,
    *,
    fmt: str | None = None,
    pattern: str = DEFAULT_PATTERN,
    recursive: bool = False,
    compare: bool = False,
    overwrite: bool = False,
    source_formats: Mapping[Path, str] | None = None,
    settings: Callable[[Path], dict[str, Any]] | None = None,
) -> OutputPlan:
    """Plan files and folders into ``output_dir``; a folder's tree is mirrored under
    ``output_dir/<folder name>/``."""
    out_root = Path(output_dir)
    pairs: list[tuple[Path, Path]] = []
    problems: list[tuple[Path, str]] = []
    passed: list[PassedOver] = []
    for raw in inputs:
        src = Path(raw)
        if src.is_dir():
            mirror = mirror_folder(src, out_root)
            skip = _nested_output(mirror, src)
            try:
                files, over, bad = list_folder(src, recursive, exclude=skip)
            except OSError as e:
                problems.append((src, _reason("cannot read the folder", e)))
                continue
            pairs += [(p, mirror / p.parent.relative_to(src)) for p in files]
            passed += over
            problems += bad
            continue
        reason = _file_problem(src)
        if reason:
            problems.append((src, reason))
        else:
            pairs.append((src, out_root))
    plan = plan_files(pairs, fmt=fmt, pattern=pattern, compare=compare, overwrite=overwrite,
                      source_formats=source_formats, settings=settings)
    plan.problems[:0] = problems
    plan.passed_over[:0] = passed
    return plan


def plan_files(
    pairs: Sequence[tuple[str | Path, str | Path]],
    *,
    fmt: str | None = None,
    pattern: str = DEFAULT_PATTERN,
    compare: bool = False,
    overwrite: bool = False,
    source_formats: Mapping[Path, str] | None = None,
    originals: Iterable[str | Path] = (),
    settings: Callable[[Path], dict[str, Any]] | None = None,
) -> OutputPlan:
    """Plan each (input file, output folder) pair; the heart of :func:`plan_outputs`.

    ``originals``: more paths to protect besides the inputs (the app's other photos).
    ``settings``: what each input is to be made with; an output the ledger says was
    made with other settings is redone (a rerun with new pins or strength is not
    "already done").
    Raises ValueError for a bad pattern or format (a usage error, before any work).
    """
    output_path("photo.jpg", ".", "png", pattern)  # a bad pattern fails before any work
    output_format(Path("x.png"), fmt)
    plan = OutputPlan()
    seen: set[str] = set()
    entries: list[tuple[str, Path, Path]] = []
    given: dict[str, int] = {}  # report in the order given (a folder's files sorted)
    for raw_in, raw_dir in pairs:
        src = Path(raw_in)
        key = _norm(src)
        if key in seen:  # the same photo named twice (a file and its folder): once
            continue
        seen.add(key)
        given[key] = len(given)
        entries.append((key, src, Path(raw_dir)))
    plan.originals = Originals([*(e[1] for e in entries), *originals])
    entries.sort(key=lambda e: e[0])  # names go out in this order: input order does not matter

    ledgers: dict[Path, Ledger] = {}

    def ledger(folder: Path) -> Ledger:
        if folder not in ledgers:
            clean_temp_files(folder)
            ledgers[folder] = Ledger(folder)
            plan.folders.append(folder)
        return ledgers[folder]

    taken: set[str] = set()
    targets: list[Target] = []
    for key, src, out_dir in entries:
        size, mtime = -1, -1
        with suppress(OSError):
            st = os.stat(src)
            size, mtime = st.st_size, st.st_mtime_ns
        key_fmt = output_format(src, fmt, (source_formats or {}).get(src))
        base = output_path(src, out_dir, key_fmt, pattern)
        targets.append(Target(src, base, key_fmt, output_path(src, out_dir, key_fmt,
                                                             COMPARE_PATTERN) if compare else None,
                              input_key=key, input_size=size, input_mtime_ns=mtime))
        ledger(out_dir)

    # Pass 1: inputs that Tinct wrote before keep their names (stable across reruns).
    claims: dict[int, list[Path | None]] = {}
    for i, t in enumerate(targets):
        led = ledgers[t.output.parent]
        got: list[Path | None] = []
        for base in t.outputs():
            got.append(_own_name(led, t, base, taken, plan.originals))
        claims[i] = got
        for p in got:
            if p is not None:
                taken.add(_norm(p))
    # Pass 2: everything else gets the first free name, in sorted input order.
    for i, t in enumerate(targets):
        led = ledgers[t.output.parent]
        states: list[str] = []
        notes: list[str] = []
        final: list[Path] = []
        if settings is not None:
            t.settings = settings(t.input)
        for base, own in zip(t.outputs(), claims[i], strict=True):
            if own is not None:
                rec = led.owner(own.name)
                if rec is not None:
                    t.replaces[own.name] = (rec.size, rec.mtime_ns)
                if rec is None and os.path.lexists(own):  # Tinct's output, cut short since
                    st = os.stat(own, follow_symlinks=False)
                    t.replaces[own.name] = (st.st_size, st.st_mtime_ns)
                    states.append(REDO)
                    notes.append(f"{own.name} was damaged (empty or truncated): redone")
                elif rec is None:
                    states.append(NEW)  # recorded for this input, file gone: write again
                elif overwrite:
                    states.append(REDO)
                elif (rec.input_size, rec.input_mtime_ns) != (t.input_size, t.input_mtime_ns):
                    states.append(REDO)
                    notes.append(f"{t.input.name} changed since {own.name} was made: redone")
                elif (t.settings is not None and rec.settings is not None
                      and rec.settings != t.settings):
                    states.append(REDO)
                    notes.append(f"{own.name} was made with other settings "
                                 f"({describe_settings_change(rec.settings, t.settings)}): "
                                 "redone")
                else:
                    states.append(DONE)
                final.append(own)
                continue
            path, why = _free_name(base, taken, plan.originals, led)
            taken.add(_norm(path))
            final.append(path)
            states.append(NEW)
            if why:
                notes.append(f"{base.name} {why}: written as {path.name}")
        t.output = final[0]
        if t.compare is not None:
            t.compare = final[1]
        t.state = DONE if all(s == DONE for s in states) else (
            REDO if any(s == REDO for s in states) else NEW)
        t.note = "; ".join(notes)
    targets.sort(key=lambda t: given[t.input_key])
    plan.targets = targets
    return plan


def _family(base: Path) -> re.Pattern[str]:
    return re.compile(re.escape(base.stem) + r"(?:_(\d+))?" + re.escape(base.suffix))


def _own_name(led: Ledger, t: Target, base: Path, taken: set[str],
              originals: Originals) -> Path | None:
    """The name this input was written under before (the base name's family), if any."""
    names = led.by_input.get(t.input_key)
    if not names:
        return None
    family = _family(base)
    best: tuple[int, Path] | None = None
    for name in set(names):
        m = family.fullmatch(name)
        if m is None or (m.group(1) is not None and int(m.group(1)) < 2):
            continue
        path = base.with_name(name)
        if _norm(path) in taken or path in originals:
            continue
        rec = led.owner(name)
        if rec is None and os.path.lexists(path) and not _damaged(path):
            continue  # changed since Tinct wrote it (the user's edit?): theirs now
        if rec is not None and rec.input != t.input_key:
            continue  # another photo's valid output (its record is newer)
        n = int(m.group(1) or 1)
        if best is None or n < best[0]:
            best = (n, path)
    return None if best is None else best[1]


def _damaged(path: Path) -> bool:
    """True for a file that is empty or does not decode: garbage, not someone's edit."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    if st.st_size == 0:
        return True
    try:
        load_photo(path)
    except PhotoError as e:
        return e.reason.startswith(("file is damaged", "not an image", "file is empty"))
    except (MemoryError, ValueError):
        return False
    return False


def _free_name(base: Path, taken: set[str], originals: Originals,
               led: Ledger) -> tuple[Path, str]:
    """The first name of ``base``'s family nobody has: (path, why the plain one was not)."""
    why = ""
    n = 1
    path = base
    while True:
        if _norm(path) in taken:
            why = why or "is the name of another photo of this run"
        elif path in originals:
            why = why or "is an original"
        elif os.path.lexists(path):
            if not why:
                rec = led.owner(path.name)
                why = ("exists and is not Tinct's output of this photo" if rec is None
                       else f"is Tinct's output of {rec.input}" if os.path.exists(rec.input)
                       else f"is Tinct's output of {rec.input} (moved or gone since)")
        else:
            return path, why
        n += 1
        path = base.with_name(f"{base.stem}_{n}{base.suffix}")


def _nested_output(mirror: Path, src: Path) -> Path | None:
    """``mirror`` (resolved) when it is a sub-folder of the input folder ``src``: it
    holds results of an earlier run, not photos to colour again."""
    mirror, src = mirror.resolve(), src.resolve()
    return mirror if mirror != src and mirror.is_relative_to(src) else None


def _link_problem(e: OSError) -> str:
    """Why a link cannot be followed: a loop is not a missing file."""
    if e.errno == errno.ELOOP:
        return "link loop: the link points (through others) back to itself"
    return "broken link: it points to a missing file"


def _file_problem(path: Path) -> str | None:
    """Why an input named on its own cannot even be tried (None: try it)."""
    try:
        st = os.stat(path)
    except FileNotFoundError as e:
        if os.path.islink(path):
            return _link_problem(e)
        return "file not found"
    except OSError as e:
        if e.errno == errno.ELOOP:
            return _link_problem(e)
        return _reason("cannot read the file", e)
    if not stat.S_ISREG(st.st_mode):
        return f"not a regular file ({_kind(st.st_mode)})"
    return None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a file"


def _reason(what: str, e: OSError) -> str:
    detail = e.strerror or str(e) or type(e).__name__
    return f"{what} ({detail[:1].lower() + detail[1:]})"


def is_photo_name(name: str) -> bool:
    return Path(name).suffix.lower() in SUPPORTED_SUFFIXES and not name.startswith(".")


def list_folder(
    folder: str | Path, recursive: bool = False, exclude: Path | None = None
) -> tuple[list[Path], list[PassedOver], list[tuple[Path, str]]]:
    """The photos of a folder (sorted), the entries passed over, and photo-named entries
    that are broken (a dangling link named like a photo is a photo that failed).

    Raises OSError when ``folder`` itself cannot be listed.
    """
    root = Path(folder)
    files: list[Path] = []
    passed: list[PassedOver] = []
    broken: list[tuple[Path, str]] = []
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            if d == root:
                raise
            passed.append(PassedOver(d, _reason("cannot read the folder", e)))
            continue
        led: Ledger | None = None
        subdirs: list[Path] = []
        for e in entries:
            name = e.name
            if name == LEDGER_NAME or is_temp_file(name):
                continue  # Tinct's own bookkeeping
            p = Path(e.path)
            try:
                is_link = e.is_symlink()
                st = e.stat()  # follows links
            except OSError as err:
                if is_photo_name(name):
                    broken.append((p, _link_problem(err)))
                else:
                    passed.append(PassedOver(p, _link_problem(err).split(":")[0]))
                continue
            if stat.S_ISDIR(st.st_mode):
                if is_link:
                    passed.append(PassedOver(p, "link to a folder (not followed)"))
                elif not recursive:
                    passed.append(PassedOver(p, "sub-folder (use --recursive)"))
                elif exclude is not None and p.resolve() == exclude:
                    passed.append(PassedOver(p, "Tinct's output folder"))
                else:
                    subdirs.append(p)
                continue
            if not stat.S_ISREG(st.st_mode):
                passed.append(PassedOver(p, f"not a regular file ({_kind(st.st_mode)})"))
                continue
            if name.startswith("."):
                passed.append(PassedOver(p, "hidden file"))
                continue
            if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                passed.append(PassedOver(p, "not a photo file"))
                continue
            if led is None:
                led = Ledger(d)
            if led.by_name and not is_link and led.owner(name, st) is not None:
                passed.append(PassedOver(p, "Tinct output"))
                continue
            files.append(p)
        stack.extend(reversed(subdirs))
    files.sort(key=lambda p: p.relative_to(root).parts)
    return files, passed, broken


def describe_passed_over(counts: Mapping[str, int]) -> str:
    """'3 passed over (2 not a photo file, 1 link to a folder (not followed))'."""
    total = sum(counts.values())
    if not total:
        return ""
    parts = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items(),
                                                               key=lambda kv: -kv[1]))
    return f"{total} passed over ({parts})"


def as_dict(target: Target) -> dict[str, Any]:
    """A picklable/JSON-able view (for engines that ship targets elsewhere)."""
    return {"input": str(target.input), "output": str(target.output), "fmt": target.fmt,
            "compare": None if target.compare is None else str(target.compare),
            "state": target.state, "note": target.note}
