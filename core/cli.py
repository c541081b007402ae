"""Tinct's command line: the headless twin of the GUI.

``python main.py colorize INPUT... --output DIR`` colorizes files and folders;
``prepare``, ``train`` and ``evaluate`` rebuild the models. Exit codes:
0 all inputs succeeded, 1 some failed (the rest are still written; also a
full disk, which stops the batch), 2 usage error (also ``--engine ray`` without
Ray installed, or no cluster at ``--address``), 3 no usable models (none
installed, or the encoder/classifier missing or damaged), 130/143/129 stopped by
Ctrl+C/SIGTERM/SIGHUP (the terminal closed) after the current photo (the summary and
report say what was done).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from core.backend import BACKENDS
from core.categories import CATEGORIES

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_NO_MODELS = 0, 1, 2, 3
EXIT_SIGNAL = 128  # + the signal: 130 for Ctrl+C (SIGINT), 143 for SIGTERM, 129 for SIGHUP
#: What stops a batch after the photo in progress: Ctrl+C, a kill, a closed terminal.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, n))


def _number(text: str, kind: type, message: str) -> float:
    """``text`` as a number, or argparse's usage error in the flag's own words (argparse
    would otherwise say 'invalid _quality value')."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{message}, not {text!r}") from None
    if kind is float and value != value:  # nan
        raise argparse.ArgumentTypeError(f"{message}, not {text!r}")
    return value


def _strength(text: str) -> float:
    value = _number(text, float, "strength must be a number from 0 to 2")
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError("strength must be between 0 and 2")
    return value


def _quality(text: str) -> int:
    value = int(_number(text, int, "quality must be a whole number from 1 to 100"))
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("quality must be between 1 and 100")
    return value


def _positive(text: str) -> int:
    value = int(_number(text, int, "must be a whole number, at least 1"))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _fraction(text: str) -> float:
    value = _number(text, float, "must be a number from 0 to 64")
    if not 0.0 <= value <= 64.0:
        raise argparse.ArgumentTypeError("must be between 0 and 64")
    return value


def _format(text: str) -> str:
    """An output format as people write it: jpg or jpeg, tif or tiff, any case."""
    from core.photo import OUTPUT_FORMATS, normalize_format

    key = normalize_format(text)
    if key is None:
        raise argparse.ArgumentTypeError(f"unknown format {text!r}; choose one of "
                                         f"{', '.join(OUTPUT_FORMATS)} (or jpeg, tif)")
    return key


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tinct", description="Colorize black-and-white photos."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    c = sub.add_parser("colorize", help="colorize photos and folders")
    c.add_argument("inputs", nargs="+", metavar="INPUT", help="photo files and/or folders")
    c.add_argument("--output", "-o", required=True, type=Path, help="output folder")
    c.add_argument("--category", default="auto", choices=("auto", *CATEGORIES))
    c.add_argument("--strength", type=_strength, default=1.0, help="colour strength 0..2")
    c.add_argument("--routing", choices=("soft", "hard"), default="soft")
    c.add_argument("--format", dest="fmt", type=_format, metavar="{png,jpg,tiff,webp}",
                   help="output format (default: the input's family); jpeg and tif work too")
    c.add_argument("--quality", type=_quality, default=92, help="JPEG/WebP quality 1..100")
    c.add_argument("--recursive", "-r", action="store_true", help="descend into sub-folders")
    c.add_argument("--report", type=Path, help="write a JSON report here")
    c.add_argument("--hints", type=Path, metavar="HINTS.json",
                   help='colour pins per photo: {"scan.jpg": [{"x": 120, "y": 40, '
                        '"color": "#2a3f8f"}]} (keys: the input path as given, or its name)')
    c.add_argument("--overwrite", action="store_true", help="redo outputs that exist")
    c.add_argument("--repair", action="store_true",
                   help="repair scratches, cracks, dust, tears, stains and fading before "
                        "colouring (the report says what was found)")
    c.add_argument("--models", type=Path, help="models folder (default: the shipped one)")
    c.add_argument("--architecture", help="colorizer architecture of the models folder")
    r = c.add_argument_group("cluster", "run the batch on Ray (pip install -e \".[cluster]\")")
    r.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: this process; ray: a Ray Data pipeline (docs/cluster.md)")
    r.add_argument("--address", help="Ray cluster to join: auto or HOST:PORT "
                                     "(default: start Ray on this machine)")
    r.add_argument("--workers", type=_positive, default=1, help="colorizer actors (default 1)")
    r.add_argument("--gpus-per-worker", type=_fraction, default=0.0,
                   help="GPUs per actor, e.g. 1 or 0.5 (default 0: CPU)")
    r.add_argument("--batch-size", type=_positive, default=8,
                   help="photos per encoder pass in an actor (default 8)")
    c.add_argument("--backend", choices=BACKENDS, default=None,
                   help="litert: LiteRT on the CPU (no TensorFlow import); tf: Keras on "
                   "TensorFlow (GPU); auto (default): TensorFlow where a GPU is present")
    c.set_defaults(func=cmd_colorize)

    e = sub.add_parser("export-litert",
                       help="export a models folder's Keras models to LiteRT (.tflite)")
    e.add_argument("--models", type=Path, help="models folder (default: the shipped one)")
    e.add_argument("--weights", choices=("float16", "float32"), default="float16",
                   help="how the .tflite files store weights (float16: half the size)")
    e.add_argument("--half-keras", action="store_true",
                   help="first store the .keras files' weights as float16 too (shipping)")
    e.set_defaults(func=cmd_export_litert)

    from core.training import commands

    commands.add_subcommands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


class _Progress:
    """tqdm's bar on a terminal (stderr); silent when piped."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.bar = None

    def __call__(self, p) -> None:
        if p.total == 0 or not self.stream.isatty():
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=p.total, unit="photo", file=self.stream, leave=True,
                            dynamic_ncols=True)
        self.bar.n = p.done
        self.bar.set_postfix_str(Path(p.current).name[:30] if p.current else "done")
        if p.done == p.total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class _Report:
    """The --report file, rewritten atomically as photos finish (at most once a second),
    so a run that is stopped or killed leaves a report of what it did."""

    def __init__(self, path: Path | None, passed_over: list):
        self.path = path
        self.items: list = []
        self.passed_over = passed_over
        self._last = 0.0

    def add(self, item) -> None:
        self.items.append(item)
        if self.path is not None and time.monotonic() - self._last >= 1.0:
            try:
                self.write()
            except OSError:  # (a full disk, say) the batch goes on; the last write tells
                self._last = time.monotonic()

    def write(self) -> None:
        if self.path is None:
            return
        from core.filesafe import atomic_json

        atomic_json(self.path, [i.to_report() for i in (*self.items, *self.passed_over)])
        self._last = time.monotonic()


def _folder_problem(path: Path, what: str) -> str | None:
    """Why ``path`` cannot become a folder Tinct writes in (None: it can)."""
    if path.exists() and not path.is_dir():
        return f"{what} {path} is a file, not a folder"
    p = path
    while not os.path.lexists(p):
        p = p.parent
    if not p.is_dir():
        return f"{what} {path}: {p} is {'a broken link' if p.is_symlink() else 'a file'}, " \
               "not a folder"
    if not os.access(p, os.W_OK | os.X_OK):
        return f"{what} {path}: cannot write in {p} (permission denied)"
    return None


def _probe(folder: Path, what: str, target: Path) -> str | None:
    """Create ``folder`` and write a file in it: catches read-only disks and the like."""
    from core.filesafe import Staged

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with Staged(folder / ".probe"):
            pass
    except OSError as e:
        return f"{what} {target}: cannot write in {folder} ({e.strerror or e})"
    return None


#: A --report file larger than this is not one Tinct wrote for a batch (not read to check).
_REPORT_CHECK_BYTES = 256 << 20


def _is_report(path: Path) -> bool:
    """Whether ``path`` holds a JSON report of an earlier run (a list of objects with
    an 'input'), or nothing: the only files --report may replace."""
    import json

    try:
        st = path.stat()
        if st.st_size == 0:
            return True
        if st.st_size > _REPORT_CHECK_BYTES:
            return False
        with open(path, "rb") as f:
            if f.read(1).lstrip() not in (b"[", b""):
                return False  # a photo, a text: not worth parsing
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, list) and all(isinstance(i, dict) and "input" in i for i in data)


def _report_problem(report: Path, plan: object, hints: Path | None) -> str | None:
    """Why the --report file must not be written (None: it may): it would replace a
    photo, the hints, a file of the batch's own or a file that is not a report."""
    from core.filesafe import is_temp_file
    from core.outputs import LEDGER_NAME, sidecar_for

    what = f"--report {report}"
    if report.name == LEDGER_NAME or is_temp_file(report.name):
        return f"{what}: that name is Tinct's own bookkeeping file; choose another name"
    if report in plan.originals:  # type: ignore[attr-defined]
        return f"{what} is one of the input photos; the report needs a name of its own " \
               "(e.g. --report report.json)"
    if hints is not None and os.path.exists(report) and os.path.samefile(report, hints):
        return f"{what} is the --hints file; choose another name for the report"
    real = os.path.realpath(report)
    for t in plan.targets:  # type: ignore[attr-defined]
        for out in (*t.outputs(), sidecar_for(t.output)):
            if os.path.realpath(out) == real:
                return f"{what} is where {t.input.name}'s result goes; choose another name"
    if os.path.lexists(report) and not _is_report(report):
        return f"{what} exists and is not a Tinct report (not replaced: a photo or " \
               "another file); choose a new name, e.g. --report report.json"
    return None


def _usage(message: str) -> int:
    print(f"tinct: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_colorize(args: argparse.Namespace) -> int:
    from core.batch import BatchReport, ColorizeOptions, plan_batch, run_batch
    from core.cluster import ClusterError
    from core.engine import Colorizer
    from core.export import ExportOptions
    from core.outputs import describe_passed_over
    from core.store import ModelStoreError, UnknownArchitectureError

    out: Path = args.output
    problem = _folder_problem(out, "--output")
    if problem is None and args.report is not None:
        if args.report.is_dir():
            problem = f"--report {args.report} is a folder, not a file"
        else:
            problem = _folder_problem(args.report.parent, "--report folder")
    if problem:
        return _usage(problem)
    export = ExportOptions(fmt=args.fmt, quality=args.quality, overwrite=args.overwrite)
    if args.engine == "ray":
        from core.cluster import require_ray

        try:
            require_ray()
        except ClusterError as exc:
            return _usage(str(exc))
    hints = None
    if args.hints is not None:
        from core.hints import HintsError, load_hints

        try:
            hints = load_hints(args.hints)
        except HintsError as exc:
            return _usage(str(exc))
    try:
        colorizer = Colorizer(args.models, architecture=args.architecture, backend=args.backend)
        _ = colorizer.info  # no models, or an unknown architecture: say so now
        missing = colorizer.store.missing_files(colorizer.architecture)
    except UnknownArchitectureError as exc:
        return _usage(str(exc))
    except ModelStoreError as exc:
        print(f"tinct: {exc}", file=sys.stderr)
        return EXIT_NO_MODELS
    for key, path in missing:
        if key in ("encoder", "classifier"):
            print(f"tinct: {path}: the {key} named in the model manifest is missing; "
                  "no photo can be colorized", file=sys.stderr)
            return EXIT_NO_MODELS
        uses = ("categories without a model of their own fail" if key.endswith("/universal")
                else "its category uses the universal model")
        print(f"tinct: warning: {path}: model file named in the manifest is missing; {uses}",
              file=sys.stderr)

    stop: dict[str, int] = {}

    def on_signal(signum: int, _frame: object) -> None:
        if stop:
            raise KeyboardInterrupt  # a second one: stop now
        stop["signal"] = signum
        with contextlib.suppress(RuntimeError, OSError):  # stderr may be mid-write
            print("\ntinct: stopping after the current photo (Ctrl+C again to stop now)",
                  file=sys.stderr)

    handlers = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    progress = _Progress()
    options = ColorizeOptions(args.category, args.strength, args.routing, hints=hints,
                              repair=args.repair)
    try:
        try:
            plan = plan_batch(args.inputs, out, export, args.recursive, options)
        except ValueError as exc:
            return _usage(str(exc))
        problem = None
        if args.report is not None:
            problem = _report_problem(args.report, plan, args.hints)
        problem = problem or _probe(out, "--output", out)
        if problem is None and args.report is not None:
            problem = _probe(args.report.parent, "--report", args.report)
        if problem:
            return _usage(problem)
        report_file = _Report(args.report, BatchReport([], passed_over=plan.passed_over)
                              .passed_over_items())
        try:
            report_file.write()
        except OSError as exc:
            return _usage(f"--report {args.report}: cannot write it ({exc.strerror or exc})")
        runner = run_batch
        if args.engine == "ray":
            from functools import partial

            from core.cluster import run_cluster

            runner = partial(run_cluster, workers=args.workers,
                             gpus_per_worker=args.gpus_per_worker,
                             batch_size=args.batch_size, address=args.address)
        try:
            report = runner(
                args.inputs, out, colorizer,
                options, export,
                recursive=args.recursive, progress=progress,
                cancelled=lambda: bool(stop), on_item=report_file.add, plan=plan,
            )
        except ClusterError as exc:  # --engine ray: no Ray, or no cluster at --address
            return _usage(str(exc))
        except KeyboardInterrupt:  # stopped mid-photo: what was done still counts
            stop.setdefault("signal", signal.SIGINT)
            stop["now"] = 1
            report = BatchReport(list(report_file.items), cancelled=True,
                                 passed_over=plan.passed_over)
            report.not_started = len(plan.targets) + len(plan.problems) - len(report.items)
        progress.close()
        try:
            report_file.write()
        except OSError as exc:
            print(f"tinct: --report {args.report}: cannot write it ({exc.strerror or exc})",
                  file=sys.stderr)
    finally:
        progress.close()
        for sig, old in handlers.items():
            signal.signal(sig, old)
    # Matched against the plan here: with --engine ray the pins are looked up in the workers.
    for key in hints.unused(t.input for t in plan.targets) if hints is not None else ():
        print(f"tinct: warning: {args.hints}: {key!r} matches no input photo", file=sys.stderr)
    _print_backend_notes(colorizer.store.notes)
    for item in report.failed:
        if item.error != report.stopped:  # that one is told once, below
            print(f"failed: {item.error}", file=sys.stderr)
    for item in report.items:
        if item.warning:
            print(f"tinct: warning: {item.warning}", file=sys.stderr)
    n = len(report.items)
    line = (f"{len(report.written)} colorized, {len(report.skipped)} already done, "
            f"{len(report.failed)} failed of {n} -> {out}")
    extra = describe_passed_over(report.passed_over_counts())
    if extra:
        line += f"; {extra}"
    if report.cancelled:
        line += f"; stopped by {signal.Signals(stop['signal']).name}: " \
                f"{report.not_started} not started"
    print(line, file=sys.stderr)
    if "now" in stop:
        print("tinct: stopped at once: a photo being written at that moment may be there "
              "too (complete, never half-written); a rerun finishes the rest",
              file=sys.stderr)
    if report.stopped:
        print(f"tinct: the batch stopped: {report.stopped}; {report.not_started} photo"
              f"{'s' if report.not_started != 1 else ''} not started (run it again to "
              "finish)", file=sys.stderr)
    if report.cancelled:
        return EXIT_SIGNAL + stop["signal"]
    if report.stopped and not report.disk_full and not report.internal_error:
        return EXIT_NO_MODELS
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


def _print_backend_notes(notes: list[str]) -> None:
    """What ran on TensorFlow instead of LiteRT (``store.notes``): one line, the models
    and why, then what to do."""
    if not notes:
        return
    what = "; ".join(notes[:2]) + ("; ..." if len(notes) > 2 else "")
    models = "1 model" if len(notes) == 1 else f"{len(notes)} models"
    print(f"tinct: {models} ran on TensorFlow, not LiteRT ({what}): export them with "
          "`python main.py export-litert`", file=sys.stderr)


def cmd_export_litert(args: argparse.Namespace) -> int:
    """Write a .tflite beside every .keras of a models folder, list them, check parity."""
    from core.litert import export_models
    from core.store import ModelStoreError, models_dir_from_env

    root = args.models or models_dir_from_env()
    try:
        def say(key: str) -> None:
            print(f"exporting {key}", file=sys.stderr)

        if args.half_keras:
            from core.litert import ship

            if args.weights != "float16":
                return _usage("--half-keras ships float16 weights: leave out --weights")
            parity = ship(root, progress=say)
        else:
            parity = export_models(root, weights=args.weights, progress=say)
    except ModelStoreError as exc:
        print(f"tinct: {exc}", file=sys.stderr)
        return EXIT_NO_MODELS
    worst = max(parity.items(), key=lambda kv: kv[1]["max_abs_diff"] / max(
        kv[1]["max_abs_output"], 1e-12))
    print(f"{len(parity)} models exported to {root} ({args.weights} weights); largest "
          f"difference from Keras: {worst[1]['max_abs_diff']:.3g} of outputs up to "
          f"{worst[1]['max_abs_output']:.3g} ({worst[0]})", file=sys.stderr)
    return EXIT_OK
