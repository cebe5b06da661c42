"""The App Home's "Insights" part through the real app over signed HTTP: the advisories, one
line each with its evidence, for the workflow's conductor and for admins; nothing for others."""

from __future__ import annotations

import itertools
import json

from tests.fakeslack import FakeSlack
from tests.polling import wait_for
from tests.slack.signed import event
from tests.slack.test_insights_command import ADMIN, BYSTANDER, CONDUCTOR, MEMBER, live  # noqa: F401 (a fixture)

EVENTS = itertools.count(1)


def home_of(url: str, fake: FakeSlack, user: str) -> dict:
    before = len(fake.calls_to("views.publish"))
    opened = {"type": "event_callback", "event_id": f"Ev-home-{next(EVENTS)}", "team_id": "T0FAKETEAM",
              "api_app_id": "A0APP", "event": {"type": "app_home_opened", "user": user, "tab": "home"}}
    assert event(url, opened)[0] == 200
    published = wait_for(lambda: [c.params for c in fake.calls_to("views.publish")[before:]
                                  if c.params.get("user_id") == user], 5)
    view = published[0]["view"]
    return json.loads(view) if isinstance(view, str) else view


def headers(view: dict) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]


def insights_part(view: dict) -> list[dict]:
    blocks = view["blocks"]
    start = next(n for n, b in enumerate(blocks) if b["type"] == "header" and b["text"]["text"] == "Insights")
    rest = blocks[start + 1:]
    end = next((n for n, b in enumerate(rest) if b["type"] in ("header", "divider")), len(rest))
    return rest[:end]


def test_the_conductor_and_an_admin_see_the_advisories_one_line_each(live):  # noqa: F811
    url, fake, _, runs = live
    for user in (CONDUCTOR, ADMIN):
        view = home_of(url, fake, user)
        assert len(view["blocks"]) <= 100
        assert headers(view)[-1] == "Insights", user
        part = insights_part(view)
        assert part and all(b["type"] == "section" for b in part)
        line = next(b["text"]["text"] for b in part if "wait longest" in b["text"]["text"])
        assert "*review*" in line and "not enough runs yet" in line
        assert "of 2 runs" in line  # the evidence: how many of the runs looked at
        assert "\n" not in line.strip()  # one line, no suggestion block


def test_others_get_no_insights_part(live):  # noqa: F811
    url, fake, _, _ = live
    for user in (MEMBER, BYSTANDER):
        view = home_of(url, fake, user)
        assert "Insights" not in headers(view), user
        assert "wait longest" not in json.dumps(view)
