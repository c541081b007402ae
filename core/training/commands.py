"""CLI subcommands that rebuild the models: prepare, train, evaluate."""

from __future__ import annotations

import argparse


def add_subcommands(sub: argparse._SubParsersAction) -> None:
    """Registered by core.cli; filled in by the training pipeline."""
