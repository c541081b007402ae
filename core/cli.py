"""Tinct's command line: the headless twin of the GUI.

``python main.py colorize INPUT... --output DIR`` colorizes files and folders;
``prepare``, ``train`` and ``evaluate`` rebuild the models. Exit codes:
0 all inputs succeeded, 1 some failed (the rest are still written),
2 usage error, 3 no trained models installed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from core.categories import CATEGORIES

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_NO_MODELS = 0, 1, 2, 3


def _strength(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError("strength must be between 0 and 2")
    return value


def _quality(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError("quality must be between 1 and 100")
    return value


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
    c.add_argument("--format", dest="fmt", choices=("png", "jpg", "tiff", "webp"))
    c.add_argument("--quality", type=_quality, default=92, help="JPEG/WebP quality 1..100")
    c.add_argument("--recursive", "-r", action="store_true", help="descend into sub-folders")
    c.add_argument("--report", type=Path, help="write a JSON report here")
    c.add_argument("--overwrite", action="store_true", help="redo outputs that exist")
    c.add_argument("--models", type=Path, help="models folder (default: the shipped one)")
    c.add_argument("--architecture", help="colorizer architecture of the models folder")
    c.set_defaults(func=cmd_colorize)

    from core.training import commands

    commands.add_subcommands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


class _ProgressLine:
    """A one-line progress bar on a terminal; silent when piped."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, p) -> None:
        if not self.tty or p.total == 0:
            return
        width = 30
        filled = int(width * p.done / p.total)
        eta = f" ~{p.eta:.0f}s left" if p.eta is not None else ""
        name = Path(p.current).name[:30] if p.current else "done"
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total}{eta} {name:<30}"
        )
        if p.done == p.total:
            self.stream.write("\n")
        self.stream.flush()


def cmd_colorize(args: argparse.Namespace) -> int:
    from core.batch import ColorizeOptions, run_batch
    from core.engine import Colorizer
    from core.export import ExportOptions
    from core.store import ModelStoreError

    try:
        colorizer = Colorizer(args.models, architecture=args.architecture)
        _ = colorizer.info  # no models, or an unknown architecture: say so now
    except ModelStoreError as exc:
        print(f"tinct: {exc}", file=sys.stderr)
        return EXIT_NO_MODELS
    args.output.mkdir(parents=True, exist_ok=True)
    report = run_batch(
        args.inputs,
        args.output,
        colorizer,
        ColorizeOptions(args.category, args.strength, args.routing),
        ExportOptions(fmt=args.fmt, quality=args.quality, overwrite=args.overwrite),
        recursive=args.recursive,
        progress=_ProgressLine(),
    )
    for item in report.failed:
        print(f"failed: {item.error}", file=sys.stderr)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.report.with_name(f".{args.report.name}.tmp")
        tmp.write_text(json.dumps([i.to_report() for i in report.items], indent=2) + "\n")
        os.replace(tmp, args.report)
    n = len(report.items)
    print(
        f"{len(report.written)} colorized, {len(report.skipped)} already done, "
        f"{len(report.failed)} failed of {n} -> {args.output}",
        file=sys.stderr,
    )
    return EXIT_SOME_FAILED if report.failed else EXIT_OK
