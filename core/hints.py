"""Colour pins on disk: the CLI's ``--hints`` file and the sidecar beside an output.

``--hints HINTS.json`` maps an input path (as given, or just its file name) to
its pins::

    {"scan_012.jpg": [{"x": 120, "y": 40, "color": "#2a3f8f"}]}

A sidecar ``<output stem>.tinct.json`` records how an output was made (input,
category, strength, routing, pins), so the edit can be reopened in the app
and changed later.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.outputs import SIDECAR_SUFFIX, sidecar_for
from core.pins import Pin, PinError, pins_from_json

__all__ = ["SIDECAR_SUFFIX", "EditRecord", "Hints", "HintsError", "find_sidecar", "load_hints",
           "read_sidecar", "sidecar_path", "write_sidecar"]

#: At most this many edit files of a folder are read when looking for a photo's one.
SIDECAR_SCAN_LIMIT = 200

SIDECAR_FORMAT = "tinct-edit/1"


class HintsError(ValueError):
    """The hints file as a whole cannot be used (unreadable, not JSON, wrong shape)."""


@dataclass(eq=False)
class Hints:
    """The pins of a hints file, looked up per input photo."""

    source: Path
    entries: dict[str, Any]  # key as written -> raw JSON list (validated per photo)
    used: set[str] = field(default_factory=set)

    def pins_for(self, path: str | Path) -> list[Pin]:
        """The pins for one input; PinError (naming the key) when they are bad.

        A key matches the path as given, the same file by another spelling, or
        (if no key does) the file name alone.
        """
        p = Path(path)
        key = self._key_for(p)
        if key is None:
            return []
        self.used.add(key)
        try:
            return pins_from_json(self.entries[key])
        except PinError as exc:
            raise PinError(f"{self.source} [{key!r}]: {exc}") from None

    def unused(self, inputs: Iterable[str | Path] | None = None) -> list[str]:
        """Keys that match none of ``inputs`` (a typo the user should hear about).

        Without ``inputs``: the keys no ``pins_for`` call has used in this process.
        """
        if inputs is None:
            return [k for k in self.entries if k not in self.used]
        matched = {self._key_for(Path(p)) for p in inputs}
        return [k for k in self.entries if k not in matched]

    def _key_for(self, p: Path) -> str | None:
        if str(p) in self.entries:
            return str(p)
        try:
            resolved = p.resolve()
        except OSError:
            resolved = None
        for k in self.entries:
            if "/" in k or "\\" in k:
                try:
                    if resolved is not None and Path(k).resolve() == resolved:
                        return k
                except OSError:
                    continue
        return p.name if p.name in self.entries else None


#: A hints file (or an edit file) larger than this is refused unread: a real one for a
#: whole archive is a few MB (MAX_PINS pins of ~50 bytes per photo).
MAX_FILE_BYTES = 64 << 20


def _read_json(src: Path, what: str) -> Any:
    """The JSON of a small regular file; HintsError names the file and the reason (a FIFO
    or a device would block or never end, nesting beyond Python's stack would crash)."""
    import os
    import stat

    try:
        st = os.stat(src)
    except FileNotFoundError:
        raise HintsError(f"{src}: {what} not found") from None
    except OSError as exc:
        raise HintsError(f"{src}: cannot read the {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO"
                if stat.S_ISFIFO(st.st_mode) else "a device or other special file")
        raise HintsError(f"{src}: the {what} must be a file, not {kind}")
    if st.st_size > MAX_FILE_BYTES:
        raise HintsError(f"{src}: the {what} is {st.st_size / 2**20:.0f} MB; at most "
                         f"{MAX_FILE_BYTES >> 20} MB")
    try:
        with open(src, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise HintsError(f"{src}: cannot read the {what} ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise HintsError(f"{src}: the {what} is over {MAX_FILE_BYTES >> 20} MB")
    try:
        return json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HintsError(f"{src}: not valid JSON ({exc})") from None
    except RecursionError:
        raise HintsError(f"{src}: not a {what}: its JSON is nested too deeply") from None


def load_hints(path: str | Path) -> Hints:
    """Read a hints file; HintsError says what is wrong with it."""
    src = Path(path)
    data = _read_json(src, "hints file")
    if not isinstance(data, dict):
        raise HintsError(f"{src}: must map photo paths or names to lists of pins, "
                         f'e.g. {{"scan.jpg": [{{"x": 120, "y": 40, "color": "#2a3f8f"}}]}}')
    from core.pins import MAX_PINS

    for key, value in data.items():
        if not isinstance(value, list):
            raise HintsError(f"{src} [{key!r}]: must be a list of pins, not {value!r}"[:300])
        if len(value) > MAX_PINS:
            raise HintsError(f"{src} [{key!r}]: {len(value)} colour pins; at most {MAX_PINS} "
                             "on one photo")
    return Hints(src, data)


# --------------------------------------------------------------------------- sidecar


def sidecar_path(output: str | Path) -> Path:
    """Where the sidecar of an output goes (the output plan's name for it)."""
    return sidecar_for(output)


@dataclass(frozen=True)
class EditRecord:
    """What a sidecar holds: enough to make the same output again, or change it."""

    input: str
    output: str
    category: str = "auto"
    strength: float = 1.0
    routing: str = "soft"
    pins: tuple[Pin, ...] = ()
    repair: bool = False  # the print was repaired before colouring (core.repair)
    repair_strokes: tuple[Any, ...] = ()  # the user's brush strokes on the repair mask

    def to_json(self) -> dict[str, Any]:
        out = {
            "format": SIDECAR_FORMAT,
            "input": self.input,
            "output": self.output,
            "category": self.category,
            "strength": self.strength,
            "routing": self.routing,
            "pins": [p.to_json() for p in self.pins],
        }
        if self.repair or self.repair_strokes:  # older readers ignore what they do not know
            out["repair"] = self.repair
            out["repair_strokes"] = [s.to_json() for s in self.repair_strokes]
        return out

    @classmethod
    def from_json(cls, obj: Any, where: str = "sidecar") -> EditRecord:
        if not isinstance(obj, dict) or obj.get("format") != SIDECAR_FORMAT:
            raise HintsError(f"{where}: not a Tinct edit file ({SIDECAR_FORMAT})")
        try:
            return cls(
                input=str(obj["input"]),
                output=str(obj.get("output", "")),
                category=str(obj.get("category", "auto")),
                strength=float(obj.get("strength", 1.0)),
                routing=str(obj.get("routing", "soft")),
                pins=tuple(pins_from_json(obj.get("pins", []))),
                repair=bool(obj.get("repair", False)),
                repair_strokes=_strokes_from_json(obj.get("repair_strokes", [])),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise HintsError(f"{where}: {exc}") from None


def _strokes_from_json(items: Any) -> tuple[Any, ...]:
    from core.repair import Stroke

    if not isinstance(items, list):
        raise ValueError("repair_strokes must be a list")
    return tuple(Stroke.from_json(x) for x in items)


def sidecar_text(record: EditRecord) -> str:
    return json.dumps(record.to_json(), indent=2) + "\n"


def write_sidecar(path: str | Path, record: EditRecord) -> Path:
    """Write a sidecar atomically (the one writer, core.filesafe). It replaces only an
    earlier Tinct edit file: FileExistsError for anything else at that name (yours)."""
    import errno
    import os

    from core.filesafe import atomic_text

    p = Path(path)
    if os.path.lexists(p):
        try:
            if not p.is_file():
                raise HintsError(f"{p}: not a file")
            read_sidecar(p)
        except HintsError:
            raise FileExistsError(errno.EEXIST, "exists and is not a Tinct edit file",
                                  str(p)) from None
    return atomic_text(p, sidecar_text(record))


def read_sidecar(path: str | Path) -> EditRecord:
    """Read a sidecar; HintsError names the file and the problem."""
    p = Path(path)
    data = _read_json(p, "edit file")
    return EditRecord.from_json(data, str(p))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _names(record: EditRecord, sidecar: Path, photo: Path) -> bool:
    """Whether the edit file ``sidecar`` is about ``photo``: its input or its output."""
    for named in (record.input, record.output):
        if not named:
            continue
        q = Path(named)
        if _same_file(q if q.is_absolute() else sidecar.parent / q, photo):
            return True
        # A relative path as given on the command line, in another working folder:
        # the name alone, for an edit file in the photo's own folder.
        if not q.is_absolute() and q.name == photo.name and sidecar.parent == photo.parent:
            return True
    return False


def find_sidecar(photo: str | Path) -> tuple[Path, EditRecord] | None:
    """The edit file that records how ``photo`` was coloured, so opening it in the app
    brings its pins back; None when there is none.

    The CLI writes ``<output stem>.tinct.json`` beside each pinned output, naming
    its input. So a photo is found either as an output (its own
    ``<stem>.tinct.json`` beside it, which names it) or as the input of an edit
    file in its folder (an output written beside its input, e.g. ``-o .``); of
    several, the newest. Unreadable or foreign edit files are skipped: this is
    a convenience on opening, never an error.
    """
    photo = Path(photo)
    own = sidecar_for(photo)
    found: list[tuple[int, Path, EditRecord]] = []
    try:
        others = sorted(p for p in photo.parent.iterdir()
                        if p.name.endswith(SIDECAR_SUFFIX) and p != own)
    except OSError:
        others = []
    for p in [own, *others[:SIDECAR_SCAN_LIMIT]]:
        try:
            if not p.is_file():
                continue
            record = read_sidecar(p)
            mtime = p.stat().st_mtime_ns
        except (HintsError, OSError):
            continue
        if _names(record, p, photo):
            if p == own:
                return p, record
            found.append((mtime, p, record))
    if not found:
        return None
    _, path, record = max(found, key=lambda t: (t[0], str(t[1])))
    return path, record


def pins_report(pins: Iterable[Pin]) -> list[dict[str, Any]]:
    """The report's form of the pins used: the same objects as the hints file."""
    return [p.to_json() for p in pins]
