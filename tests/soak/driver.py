"""The people of the soak: they start runs with `/conductor`, reply in threads, fill forms and
click buttons, over signed HTTP, while the bot is killed under them.

What they do follows what they would see: a step waiting on them, a form that opened. A
request that fails because the bot is down is sent again as it was (as Slack redelivers an
event; the same ids, so it is applied once); a request that was answered but had no effect
after a while is done again, as a person would, with new ids. Everything they do is counted.

A request answered 200 that then had no effect was lost: Slack never sends it again. Every
request that changes something is decided before its answer, so none of those may be lost
(`LOST`). A click that only opens a form (Submit with outputs, Take over) changes nothing; a
kill between its answer and the form opening loses the form, and the person clicks again
(`LOST_FORM`): counted apart, it is no lost work.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

from sqlalchemy import Engine, text

from bot.slack.blocks import actions as a
from tests.fakeslack import FakeSlack
from tests.slack.signed import event, post, slash_command
from tests.slack.test_blocks import fake_state_from

LEAD = "U0LEAD"
STARTERS = ("U0SOAKANA", "U0SOAKBEN", "U0SOAKCAT", "U0SOAKDAN")
PATIENCE_SECONDS = 3.0  # how long a person waits for an effect before doing it again
RESEND_SECONDS = 0.2  # how soon a request the bot never answered is sent again
LOST = "state-changing requests answered 200, then lost to a kill"
LOST_FORM = "form-opening clicks answered 200, then lost to a kill (clicked again)"
ESCALATION_OUTPUTS = {  # what a person who checked the ledger enters when taking a step over
    "record": lambda key: {"entry": f"entry-{key}"},
    "publish": lambda key: {"url": f"https://example.com/{key}"},
    "sync": lambda key: {"synced": key},
}


@dataclass
class Attempt:
    """The latest thing done about one piece of work (a start, or one step in one state)."""

    resend: Callable[[int], tuple[int, bytes]] | None  # redelivery n -> (HTTP status, body)
    sent_at: float
    answered_by: int | None  # the process life that answered it
    opens_form: bool  # a click that only opens a form; every other request changes state
    redeliveries: int = 0
    view_after: int = 0  # forms opened after this click belong to it


@dataclass
class Driver:
    fake: FakeSlack
    engine: Engine
    ledger: Callable[[], list[dict[str, Any]]]
    rng: Random
    runs_wanted: int
    seed: int
    life: Callable[[], int]  # the current process life (for telling who answered what)
    url: str = ""
    counts: Counter = field(default_factory=Counter)
    attempts: dict[tuple, Attempt] = field(default_factory=dict)
    started: int = 0
    _seq: int = 0
    _views_seen: int = 0
    _views: dict[tuple[str, str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _submitted: set[str] = field(default_factory=set)

    # --- the wire ---------------------------------------------------------------------------
    def _send(self, request: Callable[[int], tuple[int, bytes, float]], opens_form: bool,
              redelivery: int = 0) -> tuple[int, bytes]:
        self.counts["events sent"] += 1
        if redelivery:
            self.counts["redeliveries (bot was down)"] += 1
        try:
            status, body, _ = request(redelivery)
        except (OSError, http.client.HTTPException):
            self.counts["refused or cut off"] += 1
            return 0, b""
        if status != 200:
            self.counts[f"answered {status}"] += 1
            return status, body
        self.counts["answered 200: " + ("form-opening clicks" if opens_form else "state-changing requests")] += 1
        if b"response_action" in body:  # a form the bot sent back with errors: never expected here
            self.counts["answered with form errors"] += 1
        return status, body

    def _do(self, key: tuple, request: Callable[[int], tuple[int, bytes, float]], now: float,
            opens_form: bool = False) -> Attempt:
        """Send a new request for `key`, remembering how to redeliver it."""
        previous = self.attempts.get(key)
        if previous is not None:
            self._redone(previous)
        status, _ = self._send(request, opens_form)
        attempt = Attempt(lambda n: self._send(request, opens_form, n), now, self.life() if status == 200 else None,
                          opens_form, view_after=self._views_seen)
        self.attempts[key] = attempt
        return attempt

    def _redone(self, previous: Attempt) -> None:
        """`previous` had no effect in time and is done again: lost, if an earlier life answered it."""
        self.counts["done again (no effect seen)"] += 1
        if previous.answered_by is not None and previous.answered_by < self.life():
            self.counts[LOST_FORM if previous.opens_form else LOST] += 1

    def _due(self, key: tuple, now: float) -> bool:
        """Whether to act on `key` now: never tried, unanswered (redeliver), or stale (redo)."""
        attempt = self.attempts.get(key)
        if attempt is None:
            return True
        if attempt.answered_by is None and now - attempt.sent_at >= RESEND_SECONDS and attempt.resend is not None:
            attempt.redeliveries += 1
            status, _ = attempt.resend(attempt.redeliveries)
            attempt.sent_at = now
            if status == 200:
                attempt.answered_by = self.life()
            return False
        return now - attempt.sent_at >= PATIENCE_SECONDS

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    # --- what people do ---------------------------------------------------------------------
    def start_runs(self, now: float, seen_tickets: set[int], allowed: int) -> None:
        for ticket in range(min(allowed, self.runs_wanted)):
            if ticket in seen_tickets or not self._due(("start", ticket), now):
                continue
            user = STARTERS[ticket % len(STARTERS)]
            trigger = f"soak-{self.seed}-{ticket}"  # one start request per ticket, however often sent
            self._do(("start", ticket), lambda n, t=ticket, u=user, tr=trigger: slash_command(
                self.url, f"start soak ticket={t}", user=u, channel=f"C0SOAK{t:04d}", trigger=tr,
                headers={"X-Slack-Retry-Num": str(n)} if n else None), now)

    def act(self, now: float, run: dict[str, Any]) -> None:
        """Do whatever `run` waits on from people."""
        state = run["state"]
        for step_id, st in state["steps"].items():
            key = (run["id"], step_id, st["attempt"], st["status"], st["tries"])
            if st["status"] == "waiting_on_person":
                if step_id == "brief" and run["thread_ts"]:
                    if self._due(key, now):
                        self._reply(key, run, st, now)
                elif step_id == "review":
                    self._form(key, run, step_id, a.SUBMIT, a.STEP_FORM, st["assignees"][0],
                               {"score": str(1 + self.rng.randrange(10)), "summary": "Reads well."}, now)
                elif step_id == "approve" and self._due(key, now):
                    self._click(key, run["id"], step_id, a.APPROVE, LEAD, now)
            elif st["status"] == "escalated":
                idem_key = f"{run['id']}:{step_id}:{st['attempt']}"
                took_effect = any(e["key"] == idem_key and e["effect"] == "applied" for e in self.ledger())
                if key not in self.attempts:
                    self.counts["escalations " + ("taken over (had taken effect)" if took_effect else "retried")] += 1
                if took_effect:  # a person checks, sees it done, and completes the step by hand
                    typed = ESCALATION_OUTPUTS[step_id](idem_key)
                    self._form(key, run, step_id, a.TAKE_OVER, a.TAKE_OVER_FORM, LEAD, typed, now)
                elif self._due(key, now):
                    self._click(key, run["id"], step_id, a.RETRY, LEAD, now)

    def _reply(self, key: tuple, run: dict[str, Any], st: dict[str, Any], now: float) -> None:
        n = self._next()
        payload = {"type": "event_callback", "event_id": f"EvSOAK{self.seed}x{n}", "team_id": "T0FAKETEAM",
                   "api_app_id": "A0APP", "event": {
                       "type": "message", "channel": run["channel"], "user": st["assignees"][0],
                       "text": f"Brief for ticket {run['ticket']}", "ts": f"{int(time.time())}.{n:06d}",
                       "thread_ts": run["thread_ts"]}}
        self.counts["thread replies"] += 1
        self._do(key, lambda retry: event(self.url, payload, headers={"X-Slack-Retry-Num": str(retry)} if retry else None),
                 now)

    def _click(self, key: tuple, run_id: str, step_id: str, action_id: str, user: str, now: float,
               opens_form: bool = False) -> Attempt:
        n = self._next()
        payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T0FAKETEAM"},
                   "trigger_id": f"trigSOAK{n}", "channel": {"id": "C0SOAKESC"}, "container": {"type": "message"},
                   "api_app_id": "A0APP", "actions": [{
                       "action_id": action_id, "block_id": "b", "type": "button", "action_ts": f"{int(time.time())}.{n:06d}",
                       "value": a.action_value(run_id, step_id)}]}
        self.counts["button clicks"] += 1
        return self._do(key, lambda retry: _interactive(self.url, payload), now, opens_form)

    def _form(self, key: tuple, run: dict[str, Any], step_id: str, button: str, callback_id: str, user: str,
              typed: dict[str, str], now: float) -> None:
        """Click the button that opens a form, then submit the form once it is open."""
        self._scan_views()
        clicked = self.attempts.get(key)
        opened = self._views.get((run["id"], step_id, callback_id))
        if clicked is not None and opened is not None and opened[0] > clicked.view_after:
            view = opened[1]
            if view["id"] not in self._submitted:
                self._submitted.add(view["id"])
                self.counts["form submissions"] += 1
                payload = {"type": "view_submission", "user": {"id": user}, "team": {"id": "T0FAKETEAM"},
                           "api_app_id": "A0APP", "trigger_id": "trig", "view": {
                               "id": view["id"], "hash": view["hash"], "callback_id": callback_id, "type": "modal",
                               "private_metadata": view["private_metadata"],
                               "state": {"values": fake_state_from(view, typed)}}}
                self._do(key + ("form",), lambda retry: _interactive(self.url, payload), now)
            elif self._due(key + ("form",), now):  # submitted and answered, yet no effect: start over
                self._redone(self.attempts[key + ("form",)])  # the submission was lost, not the click
                del self.attempts[key]
                self._click(key, run["id"], step_id, button, user, now, opens_form=True)
            return
        if self._due(key, now):
            self._click(key, run["id"], step_id, button, user, now, opens_form=True)

    def _scan_views(self) -> None:
        """Forms the bot opened (views.open on the fake), newest per run, step and form."""
        while (view := self.fake.view(f"V{self._views_seen + 1:010d}")) is not None:
            self._views_seen += 1
            meta = a.parse_metadata(view.get("private_metadata"))
            if meta.get("run_id"):
                self._views[(meta["run_id"], meta.get("step_id"), view.get("callback_id"))] = (self._views_seen, view)


def _interactive(url: str, payload: dict[str, Any]) -> tuple[int, bytes, float]:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    return post(url, body, "application/x-www-form-urlencoded")


def read_runs(engine: Engine) -> list[dict[str, Any]]:
    """Every run as people would find it in Slack: id, ticket, state, channel and thread."""
    with engine.connect().execution_options(conductor_read_only=True) as conn:
        rows = conn.execute(text("select id, state, channel, thread_ts, status from runs")).all()
    runs = []
    for run_id, state, channel, thread_ts, status in rows:
        state = json.loads(state) if isinstance(state, str) else state
        runs.append({"id": run_id, "state": state, "channel": channel, "thread_ts": thread_ts, "status": status,
                     "ticket": state["inputs"].get("ticket")})
    return runs
