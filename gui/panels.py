"""The side panel's sections: what was detected, how to colour, how to save.

Each section is a small widget that shows state handed to it and reports
the user's choices through signals; none of them talks to the workers, so
the window decides what a change means (re-render, save, remember).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent
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

from core.categories import CATEGORIES, GENERAL, UNIVERSAL
from core.export import ExportOptions
from core.outputs import DEFAULT_PATTERN
from gui import theme
from gui.choices import CategoryCombo, title
from gui.settings import Settings

__all__ = ["CategoryPanel", "ConfidencePanel", "ExportPanel", "separator", "title", "took"]


def _source(model: str) -> str:
    """Where a colour comes from, in a photographer's words: 'dog photos', 'general photos'."""
    return "general photos" if model == UNIVERSAL else f"{model} photos"


def took(seconds: float) -> str:
    """How long a step took, readable at both ends: '85 ms', '1.4 s'."""
    return f"{seconds * 1000:.0f} ms" if seconds < 0.995 else f"{seconds:.1f} s"


FORMATS = (("As original", ""), ("PNG", "png"), ("JPEG", "jpg"), ("TIFF", "tiff"),
           ("WebP", "webp"))
LOSSY = ("", "jpg", "webp")


def section(text: str, corner: QWidget | None = None) -> tuple[QWidget, QVBoxLayout]:
    """A titled block of the side panel (``corner``: a small button right of the title)."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(14, 10, 14, 12)
    layout.setSpacing(8)
    label = QLabel(text.upper())
    label.setObjectName("sectionTitle")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.85)
    label.setFont(font)
    if corner is None:
        layout.addWidget(label)
    else:
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(label, 1)
        row.addWidget(corner)
        layout.addLayout(row)
    return box, layout


def _lines(label: QLabel, n: int) -> None:
    """Reserve ``n`` lines for a wrapping label so the panel does not jump between photos."""
    label.setMinimumHeight(label.fontMetrics().lineSpacing() * n + 2)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)


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
    """The likeliest scenes as sorted horizontal bars (all of them on request)."""

    TOP = 4  # rows shown until "Show all"
    #: The scene names are never smaller than this (they were ~8 px on a small screen).
    MIN_POINTS = 9.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label_font = QFont(self.font())
        self.label_font.setPointSizeF(max(self.MIN_POINTS, self.font().pointSizeF() * 0.9))
        #: one scene's row: the label's height and a little air
        self.row_height = max(14, QFontMetrics(self.label_font).height() + 3)
        self._rows: list[tuple[str, float]] = []
        self._chosen: str | None = None
        self._limit: int | None = self.TOP
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._resize()

    def set_limit(self, limit: int | None) -> None:
        """Show the top ``limit`` scenes (None: every one)."""
        self._limit = limit
        self._resize()
        self.update()

    @property
    def shown(self) -> int:
        """How many rows are drawn."""
        total = len(self._rows) or len(CATEGORIES)
        return total if self._limit is None else min(self._limit, total)

    def _resize(self) -> None:
        self.setFixedHeight(self.row_height * self.shown + 4)

    def set_data(self, confidences: dict[str, float], chosen: str | None) -> None:
        self._rows = sorted(confidences.items(), key=lambda kv: kv[1], reverse=True)
        self._chosen = chosen
        self._resize()
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
        return QSize(240, self.row_height * self.shown + 4)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        base = QFont(self.label_font)
        bold = QFont(base)
        bold.setWeight(QFont.Weight.DemiBold)
        name_w, pct_w = 84, 44
        bar_left = name_w + 6
        bar_w = max(20, self.width() - bar_left - pct_w - 4)
        ghost = not self._rows  # before any result: the categories, with empty bars
        rows = self._rows or [(c, 0.0) for c in CATEGORIES]
        if self._chosen and self._limit is not None:  # the scene used always shows
            top = rows[: self._limit]
            if all(c != self._chosen for c, _ in top):
                top = top[:-1] + [r for r in rows if r[0] == self._chosen]
            rows = top
        for i, (cat, prob) in enumerate(rows[: self.shown]):
            y = 2 + i * self.row_height
            chosen = cat == self._chosen
            p.setFont(bold if chosen else base)
            p.setPen(theme.TEXT if chosen else theme.MUTED.darker(140) if ghost else theme.MUTED)
            label = ("● " if chosen else "") + title(cat)
            p.drawText(QRectF(0, y, name_w, self.row_height), Qt.AlignmentFlag.AlignVCenter, label)
            track = QRectF(bar_left, y + 5, bar_w, self.row_height - 10)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.BASE)
            p.drawRoundedRect(track, 3, 3)
            if ghost:
                continue
            fill = QRectF(track.left(), track.top(), max(2.0, bar_w * prob), track.height())
            p.setBrush(theme.ACCENT if chosen else theme.RAISED.lighter(150))
            p.drawRoundedRect(fill, 3, 3)
            p.setPen(theme.TEXT if chosen else theme.MUTED)
            p.drawText(QRectF(self.width() - pct_w, y, pct_w, self.row_height),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, f"{prob:.0%}")
        p.end()


class ConfidencePanel(QWidget):
    """"Detected scene": the classifier's verdict and every category's bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        box, layout = section("Detected scene")
        self.summary = QLabel("No photo yet")
        self.summary.setWordWrap(True)
        _lines(self.summary, 2)
        self.bars = ConfidenceBars()
        self.more = QPushButton()
        self.more.setObjectName("linkButton")
        self.more.setFlat(True)
        self.more.setCursor(Qt.CursorShape.PointingHandCursor)
        self.more.clicked.connect(self.toggle_all)
        self._sync_more()
        layout.addWidget(self.summary)
        layout.addWidget(self.bars)
        layout.addWidget(self.more, 0, Qt.AlignmentFlag.AlignLeft)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(box)

    @property
    def showing_all(self) -> bool:
        return self.bars.shown > ConfidenceBars.TOP

    def toggle_all(self) -> None:
        """Show every scene's bar, or only the likeliest few again."""
        self.bars.set_limit(ConfidenceBars.TOP if self.showing_all else None)
        self._sync_more()

    def _sync_more(self) -> None:
        self.more.setText("Show fewer" if self.showing_all
                          else f"Show all {len(CATEGORIES)} scenes")

    def show_result(self, confidences: dict[str, float], chosen: str | None, auto: bool) -> None:
        self.bars.set_data(confidences, chosen)
        if not confidences:
            self.summary.setText("Not colorized yet")
            return
        top = max(confidences, key=confidences.__getitem__)
        sure = f"{confidences[top]:.0%} sure"  # how sure the scene is, not the colour mix
        if chosen == GENERAL and auto:  # none of the scenes it knows: say so, not a guess
            self.summary.setText("<b>General photo</b>: not one of the scenes Tinct knows")
            return
        seen = f"Looks like <b>{title(top)}</b>" if confidences[top] >= 0.5 else \
            f"Perhaps <b>{title(top)}</b>"
        if auto:
            self.summary.setText(f"{seen} ({sure})")
        else:
            self.summary.setText(f"{seen} ({sure}); colorized as <b>"
                                 f"{title(chosen or top)}</b> (your choice)")

    def clear(self, text: str = "No photo yet") -> None:
        self.bars.set_data({}, None)
        self.summary.setText(text)


# --------------------------------------------------------------------------- category


class CategoryPanel(QWidget):
    """Per-photo colour settings: scene (Auto or by hand), strength, scene mix, Reset."""

    category_changed = Signal(str)
    strength_changed = Signal(float)
    routing_changed = Signal(str)
    reset_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("linkButton")
        self.reset_button.setFlat(True)
        self.reset_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.reset_button.setToolTip("Back to Auto, 100%, similar scenes (Ctrl+Z undoes it)")
        self.reset_button.clicked.connect(self.reset_clicked)
        box, layout = section("Colour", self.reset_button)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(8)

        self.combo = CategoryCombo()
        self.combo.currentIndexChanged.connect(self._on_combo)
        form.addRow("Scene", self.combo)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 200)
        self.slider.setSingleStep(5)
        self.slider.setPageStep(25)
        self.slider.setValue(100)
        self.slider.setToolTip("How strong the colours are: 0% keeps the photo gray, "
                               "100% is Tinct's colour, 200% doubles it.")
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
        self.slider.sliderPressed.connect(self._on_slider_pressed)
        #: While the slider is dragged: a key shared by the drag's changes (one undo step).
        self.gesture: str | None = None
        self._gestures = 0

        self.soft = QPushButton("Similar scenes")
        self.soft.setToolTip("Mix the colours of the scenes this photo most resembles "
                             "(safer when it is hard to tell).")
        self.hard = QPushButton("This scene only")
        self.hard.setToolTip("Use only the colours of the scene it looks most like "
                             "(bolder, can be wrong).")
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
        form.addRow("Colours of", row)
        layout.addLayout(form)

        self.info = QLabel("")
        self.info.setObjectName("hint")
        self.info.setWordWrap(True)
        _lines(self.info, 2)
        self.note = QLabel("")
        self.note.setObjectName("note")
        self.note.setWordWrap(True)
        self.note.hide()
        self.targets = QLabel("")
        self.targets.setObjectName("note")
        self.targets.hide()
        layout.addWidget(self.targets)
        layout.addWidget(self.info)
        layout.addWidget(self.note)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(box)

    # -- state in ----------------------------------------------------------
    def set_category_status(self, status: dict[str, str]) -> None:
        """Enable scenes that have colours; say in the tooltip where they come from."""
        self.combo.set_status(status)

    def is_enabled(self, category: str) -> bool:
        return self.combo.is_enabled(category)

    def tooltip(self, category: str) -> str:
        return self.combo.tooltip(category)

    def show_photo(self, category: str, strength: float, routing: str) -> None:
        """Show a photo's settings without emitting change signals."""
        for widget in (self.combo, self.slider, self._routing):
            widget.blockSignals(True)
        try:
            self.combo.setCurrentIndex(max(0, self.combo.findData(category)))
            # A strength still being chosen (slider moved, change not sent yet) is kept:
            # a re-render finishing meanwhile must not swallow it.
            if not self._debounce.isActive() and not self.slider.isSliderDown():
                self.slider.setValue(round(strength * 100))
                self.strength_label.setText(f"{round(strength * 100)}%")
            (self.soft if routing == "soft" else self.hard).setChecked(True)
        finally:
            for widget in (self.combo, self.slider, self._routing):
                widget.blockSignals(False)

    def forget_pending(self) -> None:
        """Another photo is shown: a strength not sent yet belonged to the last one."""
        self._debounce.stop()

    def show_targets(self, count: int) -> None:
        """Changes apply to every selected photo: say how many when more than one."""
        self.targets.setText(f"Changes apply to {count} selected photos" if count > 1 else "")
        self.targets.setVisible(count > 1)

    def show_detected(self, category: str | None) -> None:
        self.combo.setItemText(0, f"Auto ({title(category)})" if category else "Auto")

    def show_models(self, weights: dict[str, float], notes: list[str], seconds: float) -> None:
        if weights:
            mix = ", ".join(f"{_source(m)} {w:.0%}" for m, w in weights.items())
            self.info.setText(f"Colours from {mix}")
            self.info.setToolTip(f"Colorized in {took(seconds)}")
        else:
            self.info.setText("")
            self.info.setToolTip("")
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
        if not self.slider.isSliderDown():
            self.gesture = None  # the drag is over: the next change is a new undo step

    def _on_slider_pressed(self) -> None:
        self._gestures += 1
        self.gesture = f"strength-drag-{self._gestures}"

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
        self.side_by_side = QCheckBox("Also save a before/after comparison")
        self.side_by_side.setToolTip("An extra image with the original and the colour photo "
                                     "side by side; the colour photo is saved as usual.")
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
