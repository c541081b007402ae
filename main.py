"""Tinct: `python main.py` opens the app; `python main.py colorize ...` runs headless."""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> int:
    args = sys.argv[1:]
    if not args or args[0] == "gui" or Path(args[0]).exists():
        from gui.app import run

        return run(args[1:] if args and args[0] == "gui" else args)
    from core.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
