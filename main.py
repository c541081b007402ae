"""Tinct: `python main.py [photos...]` opens the app; `python main.py colorize ...` runs headless.

Only a CLI subcommand as the first word starts the CLI; anything else (photos,
folders, a mistyped path, app options such as ``--models DIR``) opens the app,
which shows what it could not open instead of failing with "invalid choice".
"""

from __future__ import annotations

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


def main() -> int:
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        from core.cli import main as cli_main

        print("App: python main.py [photos or folders...] [--models DIR]\n")
        return cli_main(args)
    if args and args[0] in cli_commands():
        from core.cli import main as cli_main

        return cli_main(args)
    from gui.app import run

    return run(args[1:] if args and args[0] == "gui" else args)


if __name__ == "__main__":
    sys.exit(main())
