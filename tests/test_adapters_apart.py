"""Adapters never import each other: the Slack layer, the clock, webhooks, the doctor and the
shell's people-side each reach the rest only through the use cases, the engine and the store.
Only the processes (`bot/processes/`, and the shell's own wiring) put adapters side by side."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
ADAPTERS = ("slack", "scheduling", "webhooks", "doctor", "shell")
# Where adapters are wired together: the processes Conductor runs.
ROOTS = ("processes", "cli.py", "runtime.py", "shell/session.py", "shell/rehearsal.py")
# The Web API client factory (`SLACK_API_URL`, no retries of its own), with which any adapter
# that talks to Slack makes its client, and the app's manifest, which the doctor checks against.
SHARED = ("bot.slack.client", "bot.slack.manifest")


def adapter_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "bot" and parts[1] in ADAPTERS else None


def imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_no_adapter_imports_another():
    crossings = []
    for path in sorted(BOT.rglob("*.py")):
        relative = path.relative_to(BOT).as_posix()
        if relative.startswith(ROOTS):
            continue
        own = adapter_of("bot." + relative.removesuffix(".py").replace("/", "."))
        if own is None:
            continue
        for module in imports(path):
            other = adapter_of(module)
            if other is not None and other != own and not module.startswith(SHARED):
                crossings.append(f"bot/{relative} imports {module}")
    assert crossings == []


def test_the_roots_exist():
    # A renamed root would silently widen what the rule above lets through.
    for root in ROOTS:
        assert (BOT / root).exists(), root
