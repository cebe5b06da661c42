"""The layering of `bot/` (bot/README.md, "The layers"), checked from the imports themselves.

Every module under `bot/` is parsed with `ast`. Every import counts wherever it is written (at
the top, inside a function, under `TYPE_CHECKING`); relative imports are resolved against the
module's package, and `from a import b` counts as importing both `a` and `a.b` (`b` may be a
module).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 400

# The outside world's side: what the engine and the use cases must never reach for.
ADAPTERS = (
    "bot.slack", "bot.shell", "bot.scheduling", "bot.webhooks", "bot.cli", "bot.doctor",
    "bot.localslack", "bot.serve", "bot.processes",
)


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def read_imports(path: Path, module: str) -> set[tuple[int, str]]:
    """(line, module imported) for every import in the file of `module`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[tuple[int, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # `from .x import y`: one dot is this package, each more its parent
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            found.add((node.lineno, source))
            found.update((node.lineno, f"{source}.{alias.name}") for alias in node.names if alias.name != "*")
    return found


MODULES = {module_name(path): path for path in sorted((ROOT / "bot").rglob("*.py"))}
IMPORTS = {module: read_imports(path, module) for module, path in MODULES.items()}


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def modules_under(*packages: str) -> list[str]:
    return [m for m in MODULES if within(m, packages)]


def breaches(module: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    """`path:line imports name` for each import of a forbidden package that is not allowed."""
    path = MODULES[module].relative_to(ROOT)
    return sorted(
        f"{path}:{line} imports {name}"
        for line, name in IMPORTS[module]
        if within(name, forbidden) and not within(name, allowed)
    )


def test_every_layer_is_found():
    for package in ("bot.engine", "bot.usecases", "bot.definitions", "bot.slack"):
        assert len(modules_under(package)) > 1, package


@pytest.mark.parametrize("module", modules_under("bot.engine", "bot.usecases"))
def test_the_engine_and_the_use_cases_import_no_adapter(module):
    assert breaches(module, ADAPTERS) == []


@pytest.mark.parametrize("module", modules_under("bot.definitions"))
def test_the_definitions_import_nothing_of_bot_but_themselves(module):
    assert breaches(module, ("bot",), allowed=("bot.definitions",)) == []


@pytest.mark.parametrize("module", modules_under("bot.engine"))
def test_the_engine_does_not_import_the_use_cases(module):
    assert breaches(module, ("bot.usecases",)) == []


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"over {MAX_LINES} lines: split these by what each part is for"


def test_the_reader_sees_relative_nested_and_type_checking_imports(tmp_path):
    """The rules are only as good as the reader of imports."""
    engine = tmp_path / "bot" / "engine"
    engine.mkdir(parents=True)
    (engine / "__init__.py").write_text("from . import machine\n")
    (engine / "probe.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..slack import app\n"
        "from .machine import advance\n"
        "if TYPE_CHECKING:\n"
        "    import bot.usecases.base\n"
        "def later():\n"
        "    from bot.shell.player import Player\n"
    )
    assert module_name(engine / "__init__.py", tmp_path) == "bot.engine"
    assert module_name(engine / "probe.py", tmp_path) == "bot.engine.probe"
    assert read_imports(engine / "__init__.py", "bot.engine") == {(1, "bot.engine"), (1, "bot.engine.machine")}
    assert read_imports(engine / "probe.py", "bot.engine.probe") == {
        (1, "typing"), (1, "typing.TYPE_CHECKING"),
        (2, "bot.slack"), (2, "bot.slack.app"),
        (3, "bot.engine.machine"), (3, "bot.engine.machine.advance"),
        (5, "bot.usecases.base"),
        (7, "bot.shell.player"), (7, "bot.shell.player.Player"),
    }
    assert within("bot.slack.app", ADAPTERS) and within("bot.slack", ADAPTERS)
    assert not within("bot.slackish", ADAPTERS) and not within("bot.engine", ADAPTERS)
