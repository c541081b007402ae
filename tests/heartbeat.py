"""How long the GUI thread was kept from running its events, by us and not by the machine.

A timer on the GUI thread beats every few milliseconds; a late beat is a
stall. On a busy shared machine (CI: two cores, other jobs) beats are also
late because the scheduler gave the CPU to another process, which says
nothing about the app. Linux reports per thread how long it waited, ready to
run, for a CPU (``/proc/self/task/<tid>/schedstat``, "run-queue wait"). A
stall is counted as the late time minus:

* the GUI thread's own run-queue wait (the machine was busy), and
* the longest run-queue wait of any other thread of this process in that
  gap (the thread holding the GIL was itself waiting for a CPU).

What remains is time the GUI thread spent running its own code or blocked
on the process itself (the GIL held by a worker's long C call, a lock):
exactly what freezes the window whatever the load. Without schedstat
(macOS, Windows, kernels without it) ``corrected`` is None and callers fall
back to comparing with an idle baseline measured in the same run.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer

TASKS = "/proc/self/task"


def _run_queue_wait(tid: int) -> int | None:
    """Nanoseconds thread ``tid`` has waited for a CPU while runnable (None: unknown)."""
    try:
        with open(f"{TASKS}/{tid}/schedstat", "rb") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


def available() -> bool:
    """Whether this system reports run-queue waits per thread."""
    return _run_queue_wait(threading.get_native_id()) is not None


@dataclass
class Beat:
    at: float  # perf_counter seconds
    own_wait: int  # ns the GUI thread waited for a CPU, so far
    others: dict[int, int] = field(default_factory=dict)  # tid -> ns waited, so far


class Heartbeat(QObject):
    """Start it on the GUI thread, do the work, stop it, read ``worst()``."""

    def __init__(self, interval_ms: int = 10, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.interval = interval_ms / 1000.0
        self.beats: list[Beat] = []
        self._tid = threading.get_native_id()
        self._schedstat = available()
        self._tids: list[int] = []
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        self.beats.clear()
        self._timer.start()
        self._beat()

    def stop(self) -> None:
        self._beat()
        self._timer.stop()

    def _beat(self) -> None:
        now = time.perf_counter()
        if not self._schedstat:
            self.beats.append(Beat(now, 0))
            return
        if len(self.beats) % 20 == 0:  # threads come and go (model loading starts pools)
            try:
                self._tids = [int(t) for t in os.listdir(TASKS) if int(t) != self._tid]
            except OSError:
                self._tids = []
        others = {}
        for tid in self._tids:
            wait = _run_queue_wait(tid)
            if wait is not None:
                others[tid] = wait
        self.beats.append(Beat(now, _run_queue_wait(self._tid) or 0, others))

    # -- results -----------------------------------------------------------------
    def gaps(self) -> list[float]:
        """Raw lateness of each beat, seconds (machine load included)."""
        return [max(0.0, b.at - a.at - self.interval) for a, b in zip(self.beats, self.beats[1:])]

    def corrected(self) -> list[float] | None:
        """Lateness of each beat minus the run-queue waits (None without schedstat)."""
        if not self._schedstat:
            return None
        out = []
        for a, b in zip(self.beats, self.beats[1:]):
            late = b.at - a.at - self.interval
            own = (b.own_wait - a.own_wait) / 1e9
            holder = max(((b.others[t] - a.others[t]) / 1e9 for t in b.others if t in a.others),
                         default=0.0)
            out.append(max(0.0, late - own - holder))
        return out

    def worst(self) -> float:
        """The longest stall the app caused itself, seconds (raw when uncorrectable)."""
        values = self.corrected()
        if values is None:
            values = self.gaps()
        return max(values, default=0.0)

    def describe(self) -> str:
        raw = max(self.gaps(), default=0.0)
        corrected = self.corrected()
        fixed = f", {max(corrected, default=0.0) * 1000:.0f} ms without machine load" \
            if corrected is not None else " (no schedstat: load not subtracted)"
        return f"{len(self.beats)} beats, worst {raw * 1000:.0f} ms late{fixed}"
