"""Everything the GUI remembers between runs, behind one class.

Keys, types and defaults live only here, so the panels cannot drift apart
and tests can point the whole app at a throw-away file (``TINCT_SETTINGS``
or ``Settings(path)``) instead of the user's real settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

#: Environment variable naming an INI file to use instead of the user's settings.
SETTINGS_ENV = "TINCT_SETTINGS"

ORGANIZATION = "Tinct"
APPLICATION = "Tinct"


class Settings:
    """Typed access to the persisted GUI state (folders, export options, layout)."""

    def __init__(self, path: str | Path | None = None):
        if path is None:
            self._q = QSettings(
                QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
            )
        else:
            self._q = QSettings(str(path), QSettings.Format.IniFormat)

    @classmethod
    def from_env(cls) -> Settings:
        """The user's settings, or the file named by ``TINCT_SETTINGS`` (tests, kiosks)."""
        path = os.environ.get(SETTINGS_ENV)
        return cls(path or None)

    @property
    def file_name(self) -> str:
        return self._q.fileName()

    def sync(self) -> None:
        self._q.sync()

    # -- typed helpers --------------------------------------------------
    def _str(self, key: str, default: str = "") -> str:
        value = self._q.value(key, default)
        return str(value) if value is not None else default

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self._q.value(key, default))
        except (TypeError, ValueError):
            return default

    def _bool(self, key: str, default: bool) -> bool:
        value = self._q.value(key, default)
        if isinstance(value, str):  # INI files hand booleans back as text
            return value.strip().lower() in ("true", "1", "yes", "on")
        return bool(value)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self._q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # -- folders --------------------------------------------------------
    @property
    def open_dir(self) -> str:
        """Where File > Open starts: the folder of the last photos opened."""
        return self._str("folders/open")

    @open_dir.setter
    def open_dir(self, value: str) -> None:
        self._q.setValue("folders/open", value)

    @property
    def batch_input_dir(self) -> str:
        return self._str("batch/input")

    @batch_input_dir.setter
    def batch_input_dir(self, value: str) -> None:
        self._q.setValue("batch/input", value)

    @property
    def batch_output_dir(self) -> str:
        return self._str("batch/output")

    @batch_output_dir.setter
    def batch_output_dir(self, value: str) -> None:
        self._q.setValue("batch/output", value)

    @property
    def batch_recursive(self) -> bool:
        return self._bool("batch/recursive", False)

    @batch_recursive.setter
    def batch_recursive(self, value: bool) -> None:
        self._q.setValue("batch/recursive", bool(value))

    # -- export ---------------------------------------------------------
    @property
    def export_dir(self) -> str:
        """Destination folder of Save; empty means next to each original."""
        return self._str("export/folder")

    @export_dir.setter
    def export_dir(self, value: str) -> None:
        self._q.setValue("export/folder", value)

    @property
    def export_format(self) -> str:
        """'' (same kind as the original) or one of core.photo.OUTPUT_FORMATS."""
        return self._str("export/format")

    @export_format.setter
    def export_format(self, value: str) -> None:
        self._q.setValue("export/format", value)

    @property
    def export_quality(self) -> int:
        return min(100, max(1, self._int("export/quality", 92)))

    @export_quality.setter
    def export_quality(self, value: int) -> None:
        self._q.setValue("export/quality", int(value))

    @property
    def export_pattern(self) -> str:
        from core.outputs import DEFAULT_PATTERN  # the one default name, core's

        return self._str("export/pattern", DEFAULT_PATTERN) or DEFAULT_PATTERN

    @export_pattern.setter
    def export_pattern(self, value: str) -> None:
        self._q.setValue("export/pattern", value)

    @property
    def keep_metadata(self) -> bool:
        return self._bool("export/keep_metadata", True)

    @keep_metadata.setter
    def keep_metadata(self, value: bool) -> None:
        self._q.setValue("export/keep_metadata", bool(value))

    @property
    def side_by_side(self) -> bool:
        return self._bool("export/side_by_side", False)

    @side_by_side.setter
    def side_by_side(self, value: bool) -> None:
        self._q.setValue("export/side_by_side", bool(value))

    # -- window layout --------------------------------------------------
    def layout(self, name: str) -> QByteArray | None:
        """Saved geometry/state blob: 'geometry', 'state', 'main_split', 'view_split'."""
        return self._bytes(f"window/{name}")

    def set_layout(self, name: str, blob: QByteArray) -> None:
        self._q.setValue(f"window/{name}", blob)
