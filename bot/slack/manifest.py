"""The Slack app's manifest (`manifest.yml` beside this file), as the rest of Conductor reads
it: the bot scopes it asks for, which `conductor doctor` checks a token against and the local
Slack grants by default."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ruamel.yaml import YAML

MANIFEST = Path(__file__).resolve().parent / "manifest.yml"


@lru_cache(maxsize=1)
def bot_scopes() -> tuple[str, ...]:
    """The bot scopes the manifest asks for, in its order."""
    data = YAML(typ="safe").load(MANIFEST.read_text(encoding="utf-8"))
    return tuple(data["oauth_config"]["scopes"]["bot"])
