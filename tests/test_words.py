"""The app's words (issue 22): one spelling, and no engineer-speak in what it shows.

Tinct's UI text spells the noun "colour" and the verb "colorize"; "coloured",
"color(s)" and the engine's own terms (universal model, colorizers, "Models
loaded") never reach a photographer. Checked on every string literal of gui/
that is not a docstring, the style sheet or a status key of core.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

GUI = Path(__file__).resolve().parent.parent / "gui"
BAD = re.compile(r"\bcolou?red\b|\bcolou?ring\b|\bcolors?\b|^colour the\b|\bto colour\b"
                 r"|\buniversal model\b|\bcolorizers?\b|\bmodels loaded\b|\bcolour mix\b",
                 re.IGNORECASE)
#: core.store's category status values: compared against, never shown.
STATUS_KEYS = {"own model", "universal model", "no model yet"}


def _ui_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                          | ast.AsyncFunctionDef)
            and node.body and isinstance(node.body[0], ast.Expr)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docs and " " in node.value and node.value not in STATUS_KEYS]


def test_the_app_says_colour_and_colorize_and_no_engine_words() -> None:
    found = [f"{path.name}:{line}: {text[:80]!r}"
             for path in sorted(GUI.glob("*.py")) if path.name != "theme.py"
             for line, text in _ui_strings(path) if BAD.search(text)]
    assert not found, "\n".join(found)
