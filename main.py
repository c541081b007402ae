"""Tinct: `python main.py` opens the app; `python main.py colorize ...` runs headless."""

from __future__ import annotations

import sys


def main() -> int:
    if len(sys.argv) == 1 or sys.argv[1] == "gui":
        from gui.app import run

        return run(sys.argv[2:] if len(sys.argv) > 1 else [])
    from core.cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
