"""Undo and redo of per-photo changes: category, strength, scene mix, colour pins, Reset,
and closing photos (Delete: the photo comes back with its pins).

Everything a user can change about how one photo is coloured lives in one
immutable :class:`Edit`; an undo step stores each touched photo's Edit before
and after, so one step can cover several selected photos and any new kind of
change (colour pins) is undoable by adding a field here, not a new command.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack


@dataclass(frozen=True)
class Edit:
    """How one photo is coloured; ``Edit()`` is what Reset returns to."""

    category: str = "auto"
    strength: float = 1.0
    routing: str = "soft"  # "soft": blend similar scenes; "hard": the top scene only
    pins: tuple[Any, ...] = ()  # colour pins (issue 10): immutable pin objects, stored as is
    repair: bool = False  # repair the print before colouring it (issue 23, core.repair)
    repair_strokes: tuple[Any, ...] = ()  # brush strokes on the repair mask (core.repair.Stroke)


class EditTarget(Protocol):
    """What the history needs from the session."""

    def edit_of(self, item_id: int) -> Edit | None: ...

    def apply_edit(self, item_id: int, edit: Edit) -> None: ...


_MERGE_IDS: dict[str, int] = {}


def _merge_id(key: str | None) -> int:
    """QUndoCommand.id() is an int: one small number per merge key, -1 for none."""
    if key is None:
        return -1
    return _MERGE_IDS.setdefault(key, len(_MERGE_IDS) + 1)


class EditCommand(QUndoCommand):
    """Set some photos' Edits; undo puts the earlier ones back."""

    def __init__(
        self,
        target: EditTarget,
        before: dict[int, Edit],
        after: dict[int, Edit],
        text: str,
        merge_key: str | None = None,
        applied: Signal | None = None,
    ) -> None:
        super().__init__(text)
        self.target = target
        self.applied = applied
        self.before = before
        self.after = after
        self._id = _merge_id(merge_key)

    def redo(self) -> None:
        for item_id, edit in self.after.items():
            self.target.apply_edit(item_id, edit)
        if self.applied is not None:
            self.applied.emit(self.ids)

    def undo(self) -> None:
        for item_id, edit in self.before.items():
            self.target.apply_edit(item_id, edit)
        if self.applied is not None:
            self.applied.emit(self.ids)

    def id(self) -> int:  # noqa: A003 - Qt API
        return self._id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API
        """A drag (same merge key, same photos) is one step: keep the first 'before'."""
        if not isinstance(other, EditCommand) or other.after.keys() != self.after.keys():
            return False
        self.after = other.after
        self.setText(other.text())
        return True

    @property
    def ids(self) -> list[int]:
        return list(self.after)


class RemoveCommand(QUndoCommand):
    """Close photos; undo opens them again where they were, with their edits and pins."""

    def __init__(self, session: Any, ids: list[int], text: str,
                 applied: Signal | None = None) -> None:
        super().__init__(text)
        self.session = session
        self.ids = ids
        self.applied = applied
        self.removed: list[tuple[int, Any]] = []

    def redo(self) -> None:
        self.removed = [r for r in (self.session.remove(i) for i in self.ids) if r is not None]

    def undo(self) -> None:
        back = [item.id for _, item in self.removed]
        for index, item in reversed(self.removed):
            self.session.restore(index, item)
        self.removed = []
        if self.applied is not None and back:
            self.applied.emit(back)  # the window shows the photo that came back


class History(QObject):
    """The window's undo stack of per-photo edits."""

    applied = Signal(list)  # ids of the photos an undo/redo/change just touched

    def __init__(self, target: EditTarget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.target = target
        self.stack = QUndoStack(self)

    def change(
        self, ids: Iterable[int], text: str, merge_key: str | None = None, **fields: Any
    ) -> bool:
        """Change ``fields`` of these photos' Edits as one undo step (False: nothing changed)."""
        before: dict[int, Edit] = {}
        after: dict[int, Edit] = {}
        for item_id in ids:
            edit = self.target.edit_of(item_id)
            if edit is None:
                continue
            new = replace(edit, **fields)
            if new != edit:
                before[item_id], after[item_id] = edit, new
        if not after:
            return False
        self.stack.push(EditCommand(self.target, before, after, text, merge_key, self.applied))
        return True

    def reset(self, ids: Iterable[int]) -> bool:
        """Back to Auto, 100%, similar scenes, no pins (one undo step)."""
        default = Edit()
        return self.change(ids, "Reset", **{f: getattr(default, f) for f in _FIELDS})

    def remove(self, ids: Iterable[int], names: list[str]) -> bool:
        """Close these photos as one undo step (the session must have remove/restore)."""
        ids = list(ids)
        if not ids:
            return False
        text = f"Remove {names[0]}" if len(ids) == 1 else f"Remove {len(ids)} photos"
        self.stack.push(RemoveCommand(self.target, ids, text, self.applied))
        return True

    def undo(self) -> None:
        self.stack.undo()

    def redo(self) -> None:
        self.stack.redo()

    def command(self, index: int) -> EditCommand | None:
        found = self.stack.command(index)
        return found if isinstance(found, EditCommand) else None


_FIELDS = ("category", "strength", "routing", "pins")
