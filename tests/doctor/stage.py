"""A workspace for `conductor doctor` to examine: two workflow files, and a local Slack that
has everything they name (or, with `plant`, lacks what a test takes out)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bot.doctor import run_doctor
from bot.localslack import LocalSlack
from bot.localslack.scopes import manifest_scopes
from bot.settings import Settings

BLOG = """\
id: blog
name: Blog article
channel: "#content"
escalation_channel: "#content-ops"
roles:
  editor: [U01EDITOR]
  writers: [S01WRITERS]
conductor: editor
steps:
  - id: draft
    ask: writers
    prompt: Please draft it
    outputs:
      doc_url: {type: url}
  - id: publish
    http:
      url: https://cms.example.com/api/articles
      headers: {Authorization: "Bearer ${{ secrets.CMS_TOKEN }}"}
"""

STANDUP = """\
id: daily
channel: C0STANDUP
roles:
  team: [U02ANA, U03BEN]
steps:
  - id: standup
    participants: [team]
    questions:
      - {id: yesterday, text: What did you finish?}
    window: {opens: "09:00", closes: "11:30"}
"""

WORKFLOWS = {"blog.yaml": BLOG, "daily.yaml": STANDUP}
PEOPLE = {"U01EDITOR": {"real_name": "Maria Editor"}, "U02ANA": {"real_name": "Ana Lima"},
          "U03BEN": {"real_name": "Ben Okafor"}}
CHANNELS = {"#content": None, "#content-ops": None, "#standup": "C0STANDUP"}  # name -> id
# What the manifest asks for, and channels:read, with which the doctor sees channels.
GRANTED = manifest_scopes() | {"channels:read"}
SECRETS = {"CMS_TOKEN": "cms-s3cret-value"}


def workspace(*, lacking: Iterable[str] = (), **kwargs: Any) -> LocalSlack:
    """A local Slack (not started) with the people, group and channels the workflows name,
    less each `#channel`, `S…` group or `scope:name` in `lacking`."""
    lacking = set(lacking)
    fake = LocalSlack(users=PEOPLE, groups={"S01WRITERS": ["U01EDITOR", "U02ANA"]},
                      group_handles={"S01WRITERS": "writers"}, team_id="T0001", team_name="Acme",
                      bot_user_id="U0BOT", bot_name="conductor",
                      scopes=GRANTED - lacking, **kwargs)
    for group in lacking & set(fake.groups):
        del fake.groups[group]
    for name, channel_id in CHANNELS.items():
        if name not in lacking:
            fake.add_channel(name, channel_id=channel_id)
    return fake


def write_workflows(folder: Path, workflows: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in (WORKFLOWS if workflows is None else workflows).items():
        (folder / name).write_text(source)
    return folder


def settings_for(slack: LocalSlack | str, database_url: str, folder: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url, "workflows_dir": str(folder), "slack_bot_token": "xoxb-test",
        "slack_signing_secret": "signing-secret", "slack_app_token": None, "escalation_channel": None,
        "admins": "", "slack_api_url": slack if isinstance(slack, str) else slack.url,
    }
    return Settings(**{**values, **extra})


def doctor(settings: Settings, environ: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Run the doctor; its exit status and its lines."""
    lines: list[str] = []
    status = run_doctor(settings, lines.append, environ=SECRETS if environ is None else environ)
    return status, lines


def line(lines: list[str], start: str) -> str:
    """The one line starting with `start`."""
    found = [text for text in lines if text.startswith(start)]
    assert len(found) == 1, (start, lines)
    return found[0]
