"""The side panel's sections: what was detected, how to colour, how to save.

Each section is a small widget that shows state handed to it and reports
the user's choices through signals; none of them talks to the workers, so
the window decides what a change means (re-render, save, remember).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QPainter, QPaintEvent, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.categories import CATEGORIES
from core.export import ExportOptions
from core.outputs import DEFAULT_PATTERN
from gui import theme
from gui.settings import Settings


def took(seconds: float) -> str:
    """How long a step took, readable at both ends: '85 ms', '1.4 s'."""
    return f"{seconds * 1000:.0f} ms" if seconds < 0.995 else f"{seconds:.1f} s"


#: How the category statuses read in tooltips.
STATUS_TIPS = {
    "own model": "Coloured by a model trained on {cat} photos.",
    "universal model": "No {cat} model trained yet: the universal model colours it.",
    "no model yet": "No model for {cat} yet (no training photos), and no universal model "
    "to stand in, so it cannot be chosen.",
}
FORMATS = (("As original", ""), ("PNG", "png"), ("JPEG", "jpg"), ("TIFF", "tiff"),
           ("WebP", "webp"))
LOSSY = ("", "jpg", "webp")


def title(name: str) -> str:
    """A category as people read it ("dog" -> "Dog")."""
    return name[:1].upper() + name[1:]


def section(text: str) -> tuple[QWidget, QVBoxLayout]:
    """A titled block of the side panel."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(14, 10, 14, 12)
    layout.setSpacing(8)
    label = QLabel(text.upper())
    label.setObjectName("sectionTitle")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.85)
    label.setFont(font)
    layout.addWidget(label)
    return box, layout


def _compact(combo: QComboBox) -> None:
    """Let a combo box shrink with the side panel instead of forcing it wider."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(6)


def separator() -> QFrame:
    line = QFrame()
    line.setObjectName("separator")
    line.setFrameShape(QFrame.Shape.NoFrame)
    return line


# --------------------------------------------------------------------------- confidence


class ConfidenceBars(QWidget):
    """Every category's probability as a sorted horizontal bar; the chosen one marked."""

    ROW = 14

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, float]] = []
        self._chosen: str | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.ROW * len(CATEGORIES) + 4)

    def set_data(self, confidences: dict[str, float], chosen: str | None) -> None:
        self._rows = sorted(confidences.items(), key=lambda kv: kv[1], reverse=True)
        self._chosen = chosen
        self.setToolTip(
            "\n".join(f"{title(c)}: {p:.1%}" for c, p in self._rows[:5]) if self._rows else ""
        )
        self.update()

    @property
    def rows(self) -> list[tuple[str, float]]:
        """(category, probability), most likely first: what the bars show."""
        return list(self._rows)

    @property
    def chosen(self) -> str | None:
        return self._chosen

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(240, self.ROW * len(CATEGORIES) + 4)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        base = QFont(self.font())
        base.setPointSizeF(base.pointSizeF() * 0.9)
        bold = QFont(base)
        bold.setWeight(QFont.Weight.DemiBold)
        name_w, pct_w = 84, 44
        bar_left = name_w + 6
        bar_w = max(20, self.width() - bar_left - pct_w - 4)
        ghost = not self._rows  # before any result: the categories, with empty bars
        rows = self._rows or [(c, 0.0) for c in CATEGORIES]
        for i, (cat, prob) in enumerate(rows):
            y = 2 + i * self.ROW
            chosen = cat == self._chosen
            p.setFont(bold if chosen else base)
            p.setPen(theme.TEXT if chosen else theme.MUTED.darker(140) if ghost else theme.MUTED)
            label = ("● " if chosen else "") + title(cat)
            p.drawText(QRectF(0, y, name_w, self.ROW), Qt.AlignmentFlag.AlignVCenter, label)
            track = QRectF(bar_left, y + 5, bar_w, self.ROW - 10)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.BASE)
            p.drawRoundedRect(track, 3, 3)
            if ghost:
                continue
            fill = QRectF(track.left(), track.top(), max(2.0, bar_w * prob), track.height())
            p.setBrush(theme.ACCENT if chosen else theme.RAISED.lighter(150))
            p.drawRoundedRect(fill, 3, 3)
            p.setPen(theme.TEXT if chosen else theme.MUTED)
            p.drawText(QRectF(self.width() - pct_w, y, pct_w, self.ROW),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"{prob:.0%}")
        p.end()


class ConfidencePanel(QWidget):
    """"Detected scene": the classifier's verdict and every category's bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box, layout = section("Detected scene")
        self.summary = QLabel("No photo yet")
        self.summary.setWordWrap(True)
        self.bars = ConfidenceBars()
        layout.addWidget(self.summary)
        layout.addWidget(self.bars)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(box)

    def show_result(self, confidences: dict[str, float], chosen: str | None, auto: bool) -> None:
        self.bars.set_data(confidences, chosen)
        if not confidences:
            self.summary.setText("Not colorized yet")
            return
        top = max(confidences, key=confidences.__getitem__)
        if auto:
            self.summary.setText(f"Looks like <b>{title(top)}</b> ({confidences[top]:.0%})")
        else:
            self.summary.setText(
                f"Looks like {title(top)} ({confidences[top]:.0%}); "
                f"coloured as <b>{title(chosen or top)}</b> (your choice)"
            )

    def clear(self, text: str = "No photo yet") -> None:
        self.bars.set_data({}, None)
        self.summary.setText(text)


# --------------------------------------------------------------------------- category


class CategoryPanel(QWidget):
    """Per-photo colour settings: category (Auto or by hand), strength, routing."""

    category_changed = Signal(str)
    strength_changed = Signal(float)
    routing_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box, layout = section("Colour")
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)

        self.combo = QComboBox()
        self.combo.addItem("Auto", "auto")
        for cat in CATEGORIES:
            self.combo.addItem(title(cat), cat)
        self.combo.setItemData(0, "Let Tinct recognise the scene and pick the models.",
                               Qt.ItemDataRole.ToolTipRole)
        self.combo.setMaxVisibleItems(len(CATEGORIES) + 1)
        _compact(self.combo)
        self.combo.currentIndexChanged.connect(self._on_combo)
        form.addRow("Category", self.combo)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 200)
        self.slider.setSingleStep(5)
        self.slider.setPageStep(25)
        self.slider.setValue(100)
        self.slider.setToolTip("How strong the colours are: 0% keeps the photo gray, "
                               "100% is the model's colour, 200% doubles it.")
        self.strength_label = QLabel("100%")
        self.strength_label.setMinimumWidth(38)
        self.strength_label.setAlignment(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        )
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.strength_label)
        form.addRow("Strength", row)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(140)
        self._debounce.timeout.connect(self._emit_strength)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(self._emit_strength)

        self.soft = QPushButton("Blend")
        self.soft.setToolTip("Soft routing: blend the colorizers of the most likely categories.")
        self.hard = QPushButton("Single model")
        self.hard.setToolTip("Hard routing: use only the most likely category's colorizer.")
        self._routing = QButtonGroup(self)
        self._routing.setExclusive(True)
        row = QHBoxLayout()
        row.setSpacing(0)
        for name, button in (("segmentLeft", self.soft), ("segmentRight", self.hard)):
            button.setObjectName(name)
            button.setCheckable(True)
            self._routing.addButton(button)
            row.addWidget(button, 1)
        self.soft.setChecked(True)
        self._routing.buttonToggled.connect(self._on_routing)
        form.addRow("Routing", row)
        layout.addLayout(form)

        self.info = QLabel("")
        self.info.setObjectName("hint")
        self.info.setWordWrap(True)
        self.note = QLabel("")
        self.note.setObjectName("note")
        self.note.setWordWrap(True)
        self.note.hide()
        layout.addWidget(self.info)
        layout.addWidget(self.note)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(box)

    # -- state in ----------------------------------------------------------
    def set_category_status(self, status: dict[str, str]) -> None:
        """Enable categories that have a model; say in the tooltip which one colours it."""
        model = self.combo.model()
        assert isinstance(model, QStandardItemModel)
        for row in range(1, self.combo.count()):
            cat = str(self.combo.itemData(row))
            state = status.get(cat, "no model yet")
            item = model.item(row)
            item.setEnabled(state != "no model yet")
            item.setToolTip(STATUS_TIPS.get(state, state).format(cat=cat))
            suffix = {"universal model": "  (universal)", "no model yet": "  (no model yet)"}
            item.setText(title(cat) + suffix.get(state, ""))

    def is_enabled(self, category: str) -> bool:
        model = self.combo.model()
        assert isinstance(model, QStandardItemModel)
        row = self.combo.findData(category)
        return row >= 0 and model.item(row).isEnabled()

    def tooltip(self, category: str) -> str:
        row = self.combo.findData(category)
        return str(self.combo.itemData(row, Qt.ItemDataRole.ToolTipRole) or "")

    def show_photo(self, category: str, strength: float, routing: str) -> None:
        """Show a photo's settings without emitting change signals."""
        for widget in (self.combo, self.slider, self._routing):
            widget.blockSignals(True)
        try:
            self.combo.setCurrentIndex(max(0, self.combo.findData(category)))
            self.slider.setValue(round(strength * 100))
            self.strength_label.setText(f"{round(strength * 100)}%")
            (self.soft if routing == "soft" else self.hard).setChecked(True)
        finally:
            for widget in (self.combo, self.slider, self._routing):
                widget.blockSignals(False)
        self._debounce.stop()

    def show_detected(self, category: str | None) -> None:
        self.combo.setItemText(0, f"Auto ({title(category)})" if category else "Auto")

    def show_models(self, weights: dict[str, float], notes: list[str], seconds: float) -> None:
        if weights:
            used = ", ".join(f"{title(m)} {w:.0%}" for m, w in weights.items())
            self.info.setText(f"Coloured by: {used}  ·  {took(seconds)}")
        else:
            self.info.setText("")
        self.note.setText("\n".join(n[:1].upper() + n[1:] for n in notes))
        self.note.setVisible(bool(notes))

    # -- user input ---------------------------------------------------------------
    @property
    def category(self) -> str:
        return str(self.combo.currentData())

    @property
    def strength(self) -> float:
        return self.slider.value() / 100.0

    @property
    def routing(self) -> str:
        return "soft" if self.soft.isChecked() else "hard"

    def choose(self, category: str) -> None:
        """Pick a category as the user would (emits category_changed)."""
        self.combo.setCurrentIndex(self.combo.findData(category))

    def _on_combo(self, _index: int) -> None:
        self.category_changed.emit(self.category)

    def _on_slider(self, value: int) -> None:
        self.strength_label.setText(f"{value}%")
        self._debounce.start()

    def _emit_strength(self) -> None:
        self._debounce.stop()
        self.strength_changed.emit(self.strength)

    def _on_routing(self, _button: object, checked: bool) -> None:
        if checked:
            self.routing_changed.emit(self.routing)


# --------------------------------------------------------------------------- export


class ExportPanel(QWidget):
    """Format, quality, destination and naming of saved results; remembered in Settings."""

    save_clicked = Signal()
    save_all_clicked = Signal()

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        box, layout = section("Export")
        form = QFormLayout()
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)

        self.format = QComboBox()
        for label, key in FORMATS:
            self.format.addItem(label, key)
        self.format.setCurrentIndex(max(0, self.format.findData(settings.export_format)))
        _compact(self.format)
        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(settings.export_quality)
        self.quality.setMinimumWidth(58)
        self.quality.setToolTip("JPEG and WebP quality (PNG and TIFF are lossless).")
        self.quality_label = QLabel("Quality")
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.format, 1)
        row.addWidget(self.quality_label)
        row.addWidget(self.quality)
        form.addRow("Format", row)

        self.folder = QLineEdit(settings.export_dir)
        self.folder.setPlaceholderText("Next to the original")
        self.folder.setClearButtonEnabled(True)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose the folder colour photos are saved in")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow("Save to", row)

        self.pattern = QLineEdit(settings.export_pattern)
        self.pattern.setToolTip("File name: {name} is the original's name, {ext} its extension.")
        form.addRow("Name", self.pattern)
        layout.addLayout(form)

        self.keep_metadata = QCheckBox("Keep EXIF and colour profile")
        self.keep_metadata.setChecked(settings.keep_metadata)
        self.side_by_side = QCheckBox("Side-by-side before/after image")
        self.side_by_side.setChecked(settings.side_by_side)
        layout.addWidget(self.keep_metadata)
        layout.addWidget(self.side_by_side)

        self.save_button = QPushButton("Save")
        self.save_button.setObjectName("primary")
        self.save_button.setToolTip("Save the colour photo (Ctrl+S)")
        self.save_all_button = QPushButton("Save All")
        self.save_all_button.setToolTip("Save every colorized photo (Ctrl+Shift+S)")
        self.save_button.clicked.connect(self.save_clicked)
        self.save_all_button.clicked.connect(self.save_all_clicked)
        # The buttons live in the side panel's footer, always in view (see buttons()).
        self._buttons = QWidget()
        self._buttons.setObjectName("saveBar")
        row = QHBoxLayout(self._buttons)
        row.setContentsMargins(14, 10, 14, 10)
        row.addWidget(self.save_button, 1)
        row.addWidget(self.save_all_button, 1)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(box)

        self.format.currentIndexChanged.connect(self._remember)
        self.quality.valueChanged.connect(self._remember)
        self.folder.textChanged.connect(self._remember)
        self.pattern.textChanged.connect(self._remember)
        self.keep_metadata.toggled.connect(self._remember)
        self.side_by_side.toggled.connect(self._remember)
        self._remember()

    def buttons(self) -> QWidget:
        """Save / Save All, for a footer that does not scroll away."""
        return self._buttons

    def options(self, overwrite: bool = False) -> ExportOptions:
        fmt = str(self.format.currentData()) or None
        return ExportOptions(
            fmt=fmt,
            quality=self.quality.value(),
            pattern=self.pattern.text().strip() or DEFAULT_PATTERN,
            keep_metadata=self.keep_metadata.isChecked(),
            overwrite=overwrite,
            side_by_side=self.side_by_side.isChecked(),
        )

    def destination(self) -> Path | None:
        text = self.folder.text().strip()
        return Path(text).expanduser() if text else None

    def pattern_error(self) -> str | None:
        """Why the name pattern cannot name files, or None when it can."""
        from core.outputs import output_path

        pattern = self.pattern.text().strip() or DEFAULT_PATTERN
        if "{name}" not in pattern:
            return "The name must contain {name}, or every photo would get the same file name."
        try:
            output_path("photo.jpg", ".", "png", pattern)
        except ValueError as exc:
            return str(exc)
        return None

    def set_photo_available(self, has_result: bool, any_result: bool) -> None:
        self.save_button.setEnabled(has_result)
        self.save_all_button.setEnabled(any_result)

    def _browse(self) -> None:
        start = self.folder.text() or self.settings.open_dir
        folder = QFileDialog.getExistingDirectory(self, "Save colour photos in", start)
        if folder:
            self.folder.setText(folder)

    def _remember(self) -> None:
        s = self.settings
        s.export_format = str(self.format.currentData())
        s.export_quality = self.quality.value()
        s.export_dir = self.folder.text().strip()
        s.export_pattern = self.pattern.text().strip() or DEFAULT_PATTERN
        s.keep_metadata = self.keep_metadata.isChecked()
        s.side_by_side = self.side_by_side.isChecked()
        lossy = str(self.format.currentData()) in LOSSY
        self.quality.setEnabled(lossy)
        self.quality_label.setEnabled(lossy)
        error = self.pattern_error()
        self.pattern.setProperty("invalid", error is not None)
        self.pattern.setToolTip(error or "File name: {name} is the original's name, "
                                "{ext} its extension.")
        self.pattern.style().unpolish(self.pattern)
        self.pattern.style().polish(self.pattern)
