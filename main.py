"""Tinct: `python main.py [photos...]` opens the app; `python main.py colorize ...` runs headless.

Only a CLI subcommand as the first word starts the CLI; anything else (photos,
folders, a mistyped path, app options such as ``--models DIR``) opens the app,
which shows what it could not open instead of failing with "invalid choice".
"""

from __future__ import annotations

import gc
import sys


def cli_commands() -> set[str]:
    """The CLI's subcommands, from its own parser (cheap: no TensorFlow, no Qt)."""
    import argparse

    from core.cli import build_parser

    parser = build_parser()
    for action in parser._actions:  # argparse keeps subcommands in its private action list
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


#: Set when the CLI ran: the script then exits without interpreter teardown.
_ran_cli = False


def main() -> int:
    global _ran_cli
    args = sys.argv[1:]
    # Imports build hundreds of thousands of long-lived objects; collecting while
    # they are made only walks them again and again. They are frozen out of later
    # collections once imported.
    gc.disable()
    try:
        if args and args[0] in ("-h", "--help"):
            from core.cli import main as cli_main

            print("App: python main.py [photos or folders...] [--models DIR]\n")
            return cli_main(args)
        if args and args[0] in cli_commands():
            from core.cli import main as cli_main

            gc.freeze()
            gc.enable()
            _ran_cli = True
            return cli_main(args)
        from gui.app import run

        gc.freeze()
        gc.enable()
        return run(args[1:] if args and args[0] == "gui" else args)
    finally:
        gc.enable()


def exit_now(code: int) -> None:
    """Exit without tearing the interpreter down (~1 s for TensorFlow's modules).

    Everything Tinct writes is complete (atomic renames) before this point; only
    the standard streams and logging may hold buffered text, so flush them first.
    """
    import contextlib
    import logging
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    code = main()
    if _ran_cli:  # the app instead exits normally: Qt saves its state
        exit_now(code)
    sys.exit(code)
