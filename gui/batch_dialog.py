"""Colorize a whole folder into an output folder, with progress, failures and resume.

A thin window over core.batch.run_batch running in a worker thread: the
dialog is non-modal so the user can keep working on single photos, and
running a batch again resumes it (photos already written are skipped).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.export import ExportOptions
from gui import status as status_widgets
from gui.choices import CategoryCombo
from gui.settings import Settings
from gui.workers import BatchWorker, WorkerThread


def duration(seconds: float) -> str:
    """0:42, 12:05 or 1:02:03: how long, the way a clock shows it."""
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class BatchDialog(QDialog):
    """Batch colorization of a folder: choose, start, watch, cancel, resume."""

    batch_finished = Signal(object)  # core.batch.BatchReport
    progress_text = Signal(str)  # for the main window's status bar while hidden

    def __init__(
        self,
        colorizer: Any,
        settings: Settings,
        export_options: Callable[[], ExportOptions],
        category_status: dict[str, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Batch Colorize")
        self.setMinimumWidth(600)
        self.colorizer = colorizer
        self.settings = settings
        self._export_options = export_options
        self._thread: QThread | None = None
        self._worker: BatchWorker | None = None
        self._started = 0.0
        self.report: Any | None = None  # the last BatchReport
        self.skipped = 0

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        heading = QLabel("Colorize a whole folder")
        heading.setObjectName("heading")
        layout.addWidget(heading)
        form = QFormLayout()
        form.setHorizontalSpacing(10)
        self.input = QLineEdit(settings.batch_input_dir)
        self.input.setPlaceholderText("Folder of black-and-white photos")
        form.addRow("Photos in", self._with_browse(self.input, "Colorize the photos in"))
        self.recursive = QCheckBox("Include sub-folders")
        self.recursive.setChecked(settings.batch_recursive)
        form.addRow("", self.recursive)
        self.repair = QCheckBox("Repair damage first (scratches, dust, tears, fading)")
        self.repair.setToolTip("Each photo's print is repaired before it is colorized; the "
                               "originals are never changed")
        form.addRow("", self.repair)
        self.output = QLineEdit(settings.batch_output_dir)
        self.output.setPlaceholderText("Folder for the colour photos")
        form.addRow("Save to", self._with_browse(self.output, "Save the colour photos in"))
        self.destination = QLabel()  # where exactly: the batch adds a folder of the input's name
        self.destination.setObjectName("hint")
        self.destination.setWordWrap(True)
        form.addRow("", self.destination)
        self.input.textChanged.connect(self.refresh_destination)
        self.output.textChanged.connect(self.refresh_destination)

        self.category = CategoryCombo()
        self.category.set_status(category_status)
        self.strength = QSpinBox()
        self.strength.setRange(0, 200)
        self.strength.setSingleStep(10)
        self.strength.setValue(100)
        self.strength.setSuffix(" %")
        self.strength.setToolTip("Colour strength, 0..200 %")
        self.routing = QComboBox()
        self.routing.addItem("Colours of similar scenes", "soft")
        self.routing.addItem("Colours of this scene only", "hard")
        row = QHBoxLayout()
        row.addWidget(self.category, 1)
        row.addWidget(QLabel("Strength"))
        row.addWidget(self.strength)
        row.addWidget(self.routing)
        form.addRow("Scene", row)
        layout.addLayout(form)

        self.hint = QLabel()
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)

        self.progress = QProgressBar()
        self._idle_progress()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)

        self.failures = QTreeWidget()
        self.failures.setHeaderLabels(["Failed photo", "Reason"])
        self.failures.setRootIsDecorated(False)
        self.failures.setAlternatingRowColors(True)
        self.failures.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.failures.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.failures.header().setStretchLastSection(True)
        self.failures.setMinimumHeight(96)
        layout.addWidget(self.failures, 1)

        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.start_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close")
        self.reveal_button = QPushButton("Show in folder")
        self.reveal_button.setToolTip("Open the folder the colour photos were saved in")
        self.reveal_button.hide()
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.reveal_button.clicked.connect(self._reveal)
        self.done_count = 0  # photos finished (written, skipped or failed) in this run
        self.saved_in: Path | None = None
        buttons.insertWidget(0, self.reveal_button)
        for b in (self.cancel_button, self.close_button, self.start_button):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        self.refresh_hint()
        self.refresh_destination()

    def _with_browse(self, edit: QLineEdit, caption: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        button = QToolButton()
        button.setText("…")

        def browse() -> None:
            folder = QFileDialog.getExistingDirectory(self, caption, edit.text())
            if folder:
                edit.setText(folder)

        button.clicked.connect(browse)
        row.addWidget(edit, 1)
        row.addWidget(button)
        return box

    def refresh_destination(self) -> None:
        """Name the folder the colour photos will be in: <Save to>/<photos' folder name>/
        (core.outputs.mirror_folder), so it is no surprise after the batch."""
        from core.outputs import mirror_folder

        source, dest = self.input.text().strip(), self.output.text().strip()
        if not source or not dest:
            self.destination.setText("")
            return
        folder = mirror_folder(Path(source).expanduser(), Path(dest).expanduser())
        self.destination.setText(f"The colour photos go into {folder} (a folder named "
                                 "after the photos' folder, its sub-folders mirrored)")

    def refresh_hint(self) -> None:
        """Say which export settings the batch uses (they come from the Export panel)."""
        options = self._export_options()
        names = {"png": "PNG", "jpg": "JPEG", "tiff": "TIFF", "webp": "WebP"}
        fmt = names.get(options.fmt or "", "the same format as each original")
        self.hint.setText(
            f"Saved as {fmt}, named “{options.pattern}”"
            f"{', keeping EXIF' if options.keep_metadata else ''} (set in the Export panel). "
            "Photos already in the output folder are skipped, so starting again resumes "
            "an interrupted batch."
        )

    # -- running ---------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def worker(self) -> BatchWorker | None:
        """The running batch's worker (its signals; cancel() is thread-safe)."""
        return self._worker

    def set_input(self, folder: str | Path) -> None:
        self.input.setText(str(folder))

    def set_output(self, folder: str | Path) -> None:
        self.output.setText(str(folder))

    def start(self) -> bool:
        """Start (or resume) the batch; False with the reason shown when it cannot."""
        if self.running:
            return False
        source = Path(self.input.text().strip()).expanduser()
        dest = Path(self.output.text().strip()).expanduser() if self.output.text().strip() else None
        problem = None
        if not self.input.text().strip() or not source.is_dir():
            problem = f"Choose a folder of photos to colorize ({source} is not a folder)."
        elif dest is None:
            problem = "Choose the folder the colour photos are saved in."
        elif self.recursive.isChecked() and dest.resolve().is_relative_to(source.resolve()):
            problem = (f"{dest} is inside {source}: with sub-folders included, the colour "
                       "photos would be colorized again. Choose another output folder.")
        if problem:
            self.summary.setText(problem)
            return False
        assert dest is not None
        from core.batch import ColorizeOptions

        s = self.settings
        s.batch_input_dir, s.batch_output_dir = str(source), str(dest)
        s.batch_recursive = self.recursive.isChecked()
        self.refresh_hint()
        options = ColorizeOptions(
            str(self.category.currentData()), self.strength.value() / 100.0,
            str(self.routing.currentData()), repair=self.repair.isChecked(),
        )
        self.failures.clear()
        self.summary.setText("")
        self.status.setText("Starting…")
        self.progress.setRange(0, 0)  # busy until the photos are counted
        self.progress.setFormat("%v / %m")
        self.progress.setTextVisible(True)
        self.reveal_button.hide()
        self.saved_in = None
        self.done_count = 0
        self._total = 0
        self.skipped = 0
        self.report = None
        self._started = time.monotonic()

        self._worker = BatchWorker(
            self.colorizer, [source], dest, options, self._export_options(),
            self.recursive.isChecked(),
        )
        self._thread = WorkerThread()
        self._thread.setObjectName("tinct-batch")
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.progress.connect(self._on_progress)
        self._worker.item_done.connect(self._on_item)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._set_running(True)
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Stop after the photo being colorized now; what is written stays written."""
        if self._worker is not None:
            self._worker.cancel()
            self.status.setText("Cancelling after the current photo…")
            self.cancel_button.setEnabled(False)

    def _set_running(self, on: bool) -> None:
        self.start_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        for w in (self.input, self.output, self.recursive, self.category, self.strength,
                  self.routing, self.repair):
            w.setEnabled(not on)

    def _idle_progress(self) -> None:
        """No batch yet: an empty bar without a meaningless "0 / 1"."""
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)

    def _on_progress(self, p: Any) -> None:
        self._total = p.total
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(max(p.done, min(self.done_count, p.total)))
        left = f" · about {duration(p.eta)} left" if p.eta is not None else ""
        current = f" · {Path(p.current).name}" if p.current else ""
        self.status.setText(f"{p.done} of {p.total} photos{left}{current}")
        self.progress_text.emit(f"Batch: {p.done} of {p.total}{left}")

    def _on_item(self, item: Any) -> None:
        if item.output is not None or item.error:  # a photo finished (not a planning note)
            self.done_count += 1
            if self._total:
                self.progress.setValue(min(self.done_count, self._total))
        if item.skipped:
            self.skipped += 1
        if item.error:
            name = Path(item.input).name
            reason = item.error
            prefix = f"{item.input}: "
            if reason.startswith(prefix):
                reason = reason[len(prefix):]
            row = QTreeWidgetItem([name, reason])
            row.setToolTip(0, item.input)
            row.setToolTip(1, item.error)
            self.failures.addTopLevelItem(row)

    def _on_failed(self, message: str) -> None:
        self._finish()
        self._idle_progress()
        self.status.setText("")
        self.summary.setText(f"The batch could not run: {message}")

    def _on_finished(self, report: Any) -> None:
        self._finish()
        self.report = report
        total = len(report.items)
        written, skipped, failed = len(report.written), len(report.skipped), len(report.failed)
        took = duration(time.monotonic() - self._started)
        parts = [f"{written} colorized"]
        if skipped:
            parts.append(f"{skipped} skipped (already done)")
        if failed:
            parts.append(f"{failed} failed")
        from core.outputs import describe_passed_over

        over = describe_passed_over(report.passed_over_counts())
        if over:
            parts.append(over)
        self.saved_in = self.output_folder(report)
        where = f" Saved in {self.saved_in}." if self.saved_in else ""
        if report.stopped:  # a full disk or broken models: no later photo could succeed
            self.summary.setText(
                f"Stopped: {report.stopped}. {', '.join(parts)}; {report.not_started} not "
                f"started.{where} Start again to finish: done photos are skipped."
            )
            self.status.setText("Stopped")
            self.progress.setRange(0, max(1, self._total, total))
            self.progress.setValue(total)
        elif report.cancelled:
            self.summary.setText(
                f"Cancelled after {total} photo{'s' if total != 1 else ''}: {', '.join(parts)}."
                f"{where} Start again to resume: finished photos are skipped."
            )
            self.status.setText("Cancelled")
            # the bar agrees with the summary: every photo counted there is done
            self.progress.setRange(0, max(1, self._total, total))
            self.progress.setValue(total)
        else:
            if total == 0:
                self.summary.setText("No photos found in that folder.")
            else:
                self.summary.setText(f"Done in {took}: {', '.join(parts)} of {total}.{where}")
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(total)
            self.status.setText("Finished")
        self.reveal_button.setVisible(self.saved_in is not None)
        self.batch_finished.emit(report)

    def output_folder(self, report: Any) -> Path | None:
        """Where the colour photos went: a folder's batch goes into a sub-folder named
        after it, so the folder to name (and open) is the one holding the outputs."""
        outputs = [Path(i.output).parent for i in report.items if i.output and not i.error]
        if not outputs:
            return None
        common = Path(os.path.commonpath([str(p) for p in outputs]))
        return common

    def _reveal(self) -> None:
        if self.saved_in is not None:
            status_widgets.reveal(self.saved_in, self.summary.setText)

    def _finish(self) -> None:
        thread, self._thread, self._worker = self._thread, None, None
        if thread is not None:
            thread.quit()
            thread.wait()
        self._set_running(False)

    def shutdown(self) -> None:
        """Cancel a running batch and wait for its photo to finish (the app is closing)."""
        worker, thread = self._worker, self._thread
        if worker is not None:
            worker.cancel()
        if thread is not None:
            thread.quit()
            thread.wait()
        self._thread = self._worker = None
