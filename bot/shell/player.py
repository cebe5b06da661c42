"""The people's side of a rehearsal: one typed line at a time, played as the acting person.

`/conductor ...` is a slash command; a number (or `:press <number|label>`) presses a button;
while a modal is open each line answers its current field. Lines starting with `:` steer the
rehearsal itself (who acts, time, failures, expectations). See `HELP`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bot.shell.cast import CastError
from bot.shell.forms import FieldAnswerError, FormFill, Lookup
from bot.shell.rehearsal import Failing
from bot.shell.render import Button, Style, text_of
from bot.shell.screen import Shown
from bot.shell.session import DEFAULT_CHANNEL, Session
from bot.shell.timewords import WaitError, wait_target
from bot.store.models import Run

HELP = """\
  /conductor <command>        as the acting person (try /conductor help)
  <number>  or  :press <n|label> [on "text"]   press a button (the newest with
                              that label, on a message containing text)
  :as @name                   act as someone else        :people   who is here
  :reply <run|workflow|last> <text>   answer in a run's thread
  :dm <text>                  write to Conductor in a DM (stand-up answers)
  :home                       open App Home
  :wait 2h | :wait until tomorrow 09:00   move time; what falls due happens
  :fail <step> [once]         the step's next attempt fails (every try, or one)
  :tz @name Europe/Berlin     move someone to another time zone
  :expect "text"              the last message must contain text (scripts stop if not)
  :seen "text"                something shown since the last action must contain text
  :time  :help  :quit"""

MENTION = re.compile(r"(?<![<\w])@([a-z][a-z0-9._-]*)")
CHANNEL = re.compile(r"(?<![<\w])#([a-z0-9][a-z0-9_-]*)")


class ExpectationFailed(AssertionError):
    """An `:expect` or `:seen` that did not hold; the message says what was there instead."""


class LineError(Exception):
    """A line the shell cannot play (an unknown person, a button not on screen...): said to the
    person at a terminal; a script stops there."""


class Stop(Exception):
    """`:quit`."""


@dataclass
class Player:
    session: Session
    form: FormFill | None = None
    last: Shown | None = None  # the last message shown
    recent: list[Shown] = field(default_factory=list)  # shown since the last action

    @property
    def style(self) -> Style:
        return self.session.style

    def prompt(self) -> str:
        if self.form is not None:
            return "  > "
        return f"{self.session.user.name}> "

    def welcome(self) -> list[str]:
        s = self.session
        lines = [self.style.bold("Conductor shell") + " — a local Slack; nothing leaves this machine.",
                 f"Workflows: {', '.join(s.runtime.versions.workflow_ids()) or 'none'}",
                 f"People: {', '.join(p.mention for p in s.cast.people.values())}",
                 f"You are @{s.user.name}. Time: {self._time()}. Type :help for help."]
        lines += [self.style.error(p) for p in s.problems]
        return lines

    # --- one line ---------------------------------------------------------------------------
    def play(self, line: str) -> list[str]:
        """Play one typed line; returns what to print. Raises ExpectationFailed or Stop."""
        text = line.strip()
        steering = text == ":cancel" or text.startswith((":expect", ":seen"))
        if self.form is not None and not steering:
            return self._answer_field(line)
        if not text or text.startswith("# "):
            return []
        if text.startswith((":expect", ":seen")):
            return self._expect(text)
        self.recent = []
        try:
            if text.startswith("/conductor"):
                return self._command(text[len("/conductor"):].strip())
            if text.isdigit():
                return self._press(text)
            if text.startswith(":"):
                verb, _, rest = text[1:].partition(" ")
                handler = getattr(self, "_do_" + verb.replace("-", "_"), None)
                if handler is None:
                    raise LineError(f"no such shell command :{verb}; :help lists them")
                return handler(rest.strip())
        except (CastError, WaitError, ValueError) as exc:
            raise LineError(str(exc)) from None
        raise LineError("type /conductor …, a button number, or a :command (:help)")

    # --- what the app shows -----------------------------------------------------------------
    def _note(self, text: str) -> str:
        """A line about the form in hand, which `:seen` can check too."""
        self.recent.append(Shown([], text))
        return self.style.error(f"  {text}")

    def _show(self, items: list[Shown]) -> list[str]:
        out: list[str] = []
        for note in self.session.tellings:
            out.append(self.style.dim(f"  ⏱ {note}"))
            self.recent.append(Shown([], note))
        self.session.tellings.clear()
        for item in items:
            out.extend(item.lines)
            self.last = item
            self.recent.append(item)
        return out

    def _after(self, trigger_id: str | None = None) -> list[str]:
        """Let the conductor do what is due, then show what changed (and a modal, if one opened)."""
        self.session.rehearsal.settle()
        out = self._show(self.session.screen.news())
        opened = [o for o in self.session.workspace.opened if trigger_id and o.trigger_id == trigger_id]
        if opened:
            view = self.session.workspace.view(opened[-1].view_id)
            if view is not None:
                out += self._open_form(view)
        return out

    def _open_form(self, view: dict[str, Any]) -> list[str]:
        title = text_of(view.get("title"), self.session.names, Style()) or "Form"
        form = FormFill.open(view)
        out = self._show([self.session.screen.view(f"form “{title}”", view, numbered=False)])
        if not form.inputs:
            return out + [self.style.dim("  (nothing to fill in; closed)")]
        self.form = form
        return out + self._field_prompt()

    def _field_prompt(self) -> list[str]:
        assert self.form is not None
        return ["  " + line for line in self.form.prompt_lines(self.session.names, self.style)]

    # --- people's actions -------------------------------------------------------------------
    def _slack_text(self, text: str) -> str:
        """Typed `@maria` / `#content` as Slack sends them from its client (escaped entities)."""
        def person(match: re.Match[str]) -> str:
            try:
                found = self.session.cast.find(match.group(1))
            except CastError:
                return match.group(0)
            return f"<@{found.id}|{found.name}>"

        def channel(match: re.Match[str]) -> str:
            return f"<#{self.session.channel_id('#' + match.group(1))}|{match.group(1)}>"

        return CHANNEL.sub(channel, MENTION.sub(person, text))

    def _command(self, text: str) -> list[str]:
        s = self.session
        trigger = s.requests.next_id("trig")
        answer = s.requests.command(user=s.user.id, user_name=s.user.name, channel=s.channel_id(DEFAULT_CHANNEL),
                                    text=self._slack_text(text), trigger_id=trigger)
        if answer.status != 200:
            raise LineError(f"the app answered HTTP {answer.status}")
        return self._after(trigger)

    def _button(self, which: str) -> Button:
        buttons = self.session.screen.numbering.buttons
        if which.isdigit():
            if int(which) not in buttons:
                raise ValueError(f"no button [{which}] on screen")
            return buttons[int(which)]
        label, _, context = which.partition(" on ")
        wanted, near = label.strip().strip('"').lower(), context.strip().strip('"').lower()
        for number in sorted(buttons, reverse=True):
            button = buttons[number]
            if button.label.lower() == wanted and near in button.context.lower():
                return button
        raise ValueError(f"no button labelled {which!r} on screen")

    def _press(self, which: str) -> list[str]:
        s = self.session
        button = self._button(which)
        trigger = s.requests.next_id("trig")
        action = button.action
        answer = s.requests.click(user=s.user.id, channel=action.get("channel"), message_ts=action.get("message_ts"),
                                  action=action, trigger_id=trigger, view=action.get("view"))
        out = [self.style.dim(f"  @{s.user.name} pressed [{button.label}]")]
        if answer.status != 200:
            raise LineError(f"the app answered HTTP {answer.status}")
        return out + self._after(trigger)

    def _answer_field(self, line: str) -> list[str]:
        assert self.form is not None
        s = self.session
        lookup = Lookup(user=lambda name: s.cast.find(name).id, channel=s.channel_id, tz=s.user.tz)
        try:
            self.form.answer(line, lookup)
        except FieldAnswerError as exc:
            return [self._note(f"! {exc}")] + self._field_prompt()
        if not self.form.done:
            return self._field_prompt()
        return self._submit()

    def _submit(self) -> list[str]:
        assert self.form is not None
        s = self.session
        self.recent = []
        answer = s.requests.submit(user=s.user.id, view=self.form.view, values=self.form.values)
        body = answer.json() or {}
        if answer.status == 200 and body.get("response_action") == "errors":
            errors = body.get("errors") or {}
            self.form.refused(errors)
            said = "; ".join(f"{field}: {why}" for field, why in errors.items())
            return [self._note(f"The form was not accepted ({said})")] + self._field_prompt()
        self.form = None
        if answer.status != 200:
            raise LineError(f"the app answered HTTP {answer.status}; the form was not taken")
        return [self.style.dim("  (form sent)")] + self._after()

    def _do_cancel(self, rest: str) -> list[str]:
        closed, self.form = self.form is not None, None
        return [self.style.dim("  (form closed, nothing sent)" if closed else "  (no form is open)")]

    def _do_press(self, rest: str) -> list[str]:
        return self._press(rest)

    def _run_thread(self, which: str) -> tuple[str, str]:
        with self.session.runtime.sessions() as db:
            query = select(Run.id, Run.workflow_id, Run.channel, Run.thread_ts).order_by(Run.created_at.desc())
            rows = db.execute(query).all()
        for run_id, workflow_id, channel, thread_ts in rows:
            if which in ("last", run_id, workflow_id):
                if not channel or not thread_ts:
                    raise ValueError(f"run {run_id} has no thread yet")
                return channel, thread_ts
        raise ValueError(f"no run {which!r} (use a run id, a workflow id or `last`)")

    def _do_reply(self, rest: str) -> list[str]:
        which, _, text = rest.partition(" ")
        if not text.strip():
            raise ValueError("write :reply <run|workflow|last> <text>")
        s = self.session
        channel, thread_ts = self._run_thread(which)
        said = s.workspace.say(s.user.id, channel, self._slack_text(text.strip()), thread_ts)
        s.requests.message(user=s.user.id, channel=said["channel"], text=said["text"], ts=said["ts"],
                           thread_ts=thread_ts)
        return [self.style.dim(f"  @{s.user.name} replied in the thread: {text.strip()}")] + self._after()

    def _do_dm(self, rest: str) -> list[str]:
        if not rest:
            raise ValueError("write :dm <text>")
        s = self.session
        said = s.workspace.say(s.user.id, s.workspace.dm_channel(s.user.id), self._slack_text(rest))
        s.requests.message(user=s.user.id, channel=said["channel"], text=said["text"], ts=said["ts"], direct=True)
        return [self.style.dim(f"  @{s.user.name} wrote to Conductor: {rest}")] + self._after()

    def _do_home(self, rest: str) -> list[str]:
        s = self.session
        s.requests.home_opened(user=s.user.id, channel=s.workspace.dm_channel(s.user.id))
        out = self._after()
        home = s.workspace.homes.get(s.user.id)
        if home is None:
            raise LineError("App Home did not open")
        return out + self._show([s.screen.view(f"App Home of @{s.user.name}", home, numbered=True)])

    # --- steering the rehearsal -------------------------------------------------------------
    def _do_as(self, rest: str) -> list[str]:
        self.session.user = self.session.cast.find(rest)
        return [self.style.dim(f"  you are now @{self.session.user.name} ({self.session.user.tz})")]

    def _do_people(self, rest: str) -> list[str]:
        cast = self.session.cast
        lines = [f"  {p.mention:<10} {p.id:<14} {p.tz}" + (f"  in {', '.join(p.groups)}" if p.groups else "")
                 for p in cast.people.values()]
        return lines

    def _do_tz(self, rest: str) -> list[str]:
        name, _, zone = rest.partition(" ")
        person = self.session.cast.move(name, zone.strip())
        self.session.workspace.users[person.id]["tz"] = person.tz
        self.session.refresh_person(person.id)
        return [self.style.dim(f"  @{person.name} now lives in {person.tz}")]

    def _time(self) -> str:
        from zoneinfo import ZoneInfo

        return self.session.clock().astimezone(ZoneInfo(self.session.user.tz)).strftime("%a %d %b %Y %H:%M %Z")

    def _do_time(self, rest: str) -> list[str]:
        return [f"  {self._time()}"]

    def _do_wait(self, rest: str) -> list[str]:
        s = self.session
        target = wait_target(rest, s.clock(), s.user.tz)
        out: list[str] = []
        stops = s.rehearsal.advance(target, after_each=lambda: out.extend(self._show(s.screen.news())))
        out += self._show(s.screen.news())
        return out + [self.style.dim(f"  ⏱ now {self._time()} ({stops} moment(s) fell due)")]

    def _do_fail(self, rest: str) -> list[str]:
        step, _, mode = rest.partition(" ")
        if not step:
            raise ValueError("write :fail <step> [once]")
        self.session.rehearsal.worker.failing[step] = Failing(once=mode.strip() == "once")
        how = "its next try" if mode.strip() == "once" else "every try of its next attempt"
        return [self.style.dim(f"  {step}: {how} will fail")]

    def _do_help(self, rest: str) -> list[str]:
        return HELP.splitlines()

    def _do_quit(self, rest: str) -> list[str]:
        raise Stop

    _do_exit = _do_quit

    def _expect(self, text: str) -> list[str]:
        verb, _, rest = text[1:].partition(" ")
        try:
            wanted = " ".join(shlex.split(rest))
        except ValueError:
            wanted = rest.strip().strip('"')
        if not wanted:
            raise ExpectationFailed(f':{verb} needs a text, like :{verb} "Approved"')
        pool = [self.last] if verb == "expect" and self.last else self.recent if verb == "seen" else []
        if any(wanted.lower() in item.plain.lower() for item in pool):
            return [self.style.good(f"  ✔ {wanted}")]
        shown = "\n".join(item.plain for item in pool) or "(nothing)"
        where = "the last message" if verb == "expect" else "what was shown since the last action"
        raise ExpectationFailed(f"expected {wanted!r} in {where}, which was:\n{shown}")
