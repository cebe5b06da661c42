"""`/conductor`: one listener. A command that changes something (`start`, `cancel`, `standup`,
`away`, `reload`) is carried out before Slack has its answer (see `bot.slack.acks`), so a
command Slack got 200 for is never lost to a process killed a moment later. The other
commands only read, and are answered the same way (one path for all). The private answer
follows; a form (`start` missing inputs, `diagnose`) opens afterwards, with the command's
trigger: it changes nothing until it is submitted.

Unreadable input gets a short explanation and the help, never an error page; a request
without the fields Slack always sends is answered 400 (`payload.problem`). Text a person
typed is escaped wherever it is shown back, so it can never ping or link."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from slack_bolt import App
from sqlalchemy import select

from bot.engine import events as ev
from bot.engine.away import add_away, away_periods, clear_away
from bot.engine.machine import may
from bot.engine.queries import board, summarize, waiting_on
from bot.engine.schedules import set_schedule
from bot.engine.state import RunState
from bot.runtime import Runtime
from bot.settings import admin_ids
from bot.slack.acks import Later, Note, decide_now_tell_later
from bot.slack.blocks import forms
from bot.slack.commands import replies
from bot.slack.commands.parse import Command, CommandError, parse_command
from bot.slack.commands.payload import Typed, is_slash_command, problem, read_command
from bot.slack.lookup import PayloadGuard
from bot.store.models import Run

Notify = Callable[[str, str], None]  # (user, text): a DM to someone other than the asker


def register(app: App, runtime: Runtime) -> None:
    app.use(PayloadGuard("slash command", is_slash_command, problem))

    def decide(typed: Typed) -> Later:
        try:
            parsed = parse_command(typed.text)
        except CommandError as exc:
            return Later.telling(typed, f"{exc}.\n\n{replies.HELP}")
        form = form_for(runtime, parsed)
        if form is not None:
            return Later.opening(typed, typed.trigger_id, form,
                                 "The form could not open in time; please try the command again.")
        others: list[Note] = []  # DMs to others (the other admins, of a refused reload), sent afterwards
        answer = run_command(runtime, parsed, user=typed.user, channel=typed.channel,
                             key=f"command:{typed.trigger_id}",
                             notify=lambda someone, text: others.append(Note(someone, text)))
        return Later((Note(typed.user, answer, typed.where), *others))

    decide_now_tell_later(app.command("/conductor"), "/conductor", read_command, decide)


def form_for(runtime: Runtime, command: Command) -> dict[str, Any] | None:
    """A modal to open instead of answering: the diagnostic, or a start missing inputs."""
    if command.verb == "diagnose":
        return forms.diagnose_form()
    if command.verb == "start" and command.args and command.args[0] in runtime.versions.workflow_ids():
        workflow = runtime.versions.current(command.args[0]).workflow
        missing = [name for name, spec in workflow.inputs.items() if spec.is_required and name not in command.options]
        if missing and workflow.on.command:
            return forms.start_form(workflow.id, workflow.title, workflow.inputs, given=dict(command.options) or None)
    return None


def run_command(runtime: Runtime, command: Command, *, user: str, channel: str, key: str,
                notify: Notify | None = None) -> str:
    """Carry out one command and return the private answer; `notify` tells others (the other
    admins, of a reload that found problems)."""
    service, versions = runtime.service, runtime.versions
    match command.verb:
        case "help":
            return replies.HELP
        case "list":
            items = []
            for workflow_id in versions.workflow_ids():
                workflow = versions.current(workflow_id).workflow
                if workflow.on.command:
                    items.append((workflow_id, workflow.title, list(workflow.inputs)))
            return replies.workflow_list(items)
        case "start":
            if not command.args:
                return "Which workflow? `/conductor start <workflow> [name=value ...]` (see `/conductor list`)."
            workflow_id = command.args[0]
            if workflow_id in versions.workflow_ids() and not versions.current(workflow_id).workflow.on.command:
                return f"`{workflow_id}` is not started by command."
            result = service.start(workflow_id, user, dict(command.options), key=key, channel=channel)
            if result.accepted:
                return f"Started `{workflow_id}` as run `{result.run_id}`."
            if result.status == "duplicate":  # the same request again (its trigger id): told once
                return replies.already_handled("start")
            shown = replies.escape(workflow_id)
            if result.field_errors:
                problems = "\n".join(f"• `{replies.escape(name)}` {replies.escape(why)}"
                                      for name, why in result.field_errors.items())
                return f"Could not start `{shown}`:\n{problems}\nGive them as `name=value`."
            return f"Could not start `{shown}`: {replies.escape(result.reason)}."
        case "runs" | "board" | "mine" | "status":
            with runtime.sessions() as session:
                if command.verb == "runs":
                    return replies.run_list([summarize(session, versions, r) for r in _active(session)])
                if command.verb == "board":
                    return replies.board(board(session, versions, command.args[0] if command.args else None))
                if command.verb == "mine":
                    return replies.waiting_list(waiting_on(session, versions, service.directory, user))
                return _status(session, runtime, command)
        case "cancel":
            if not command.args:
                return "Which run? `/conductor cancel <run>`"
            result = service.handle(command.args[0], ev.Cancel(user, " ".join(command.args[1:])), key=key)
            if result.status == "duplicate":
                return replies.already_handled("cancel")
            shown = replies.escape(command.args[0])
            return f"Run `{shown}` cancelled." if result.accepted else f"Not cancelled: {replies.escape(result.reason)}."
        case "standup":
            return standup_command(runtime, user, command.args)
        case "away":
            return away_command(runtime, user, command.args)
        case "reload":
            return reload_command(runtime, user, notify)
        case _:
            return f"`{command.verb}` is not available here yet.\n\n{replies.HELP}"


def reload_command(runtime: Runtime, user: str, notify: Notify | None) -> str:
    """Load the workflow files again (admins only). Problems go to the admin who asked and, by
    DM, to the other admins: a refused file keeps its previous version running, and someone
    has to fix it."""
    admins = admin_ids(runtime.settings)
    if user not in admins:
        reason = "only Conductor's admins (the `ADMINS` setting) may reload the workflow files"
        runtime.service.record_refusal(user, "Reload", reason)
        return reason[0].upper() + reason[1:] + "."
    catalog = runtime.reload()
    if catalog.ok:
        return f"Reloaded {catalog.files} workflow file(s)."
    listed = replies.problems(p.format() for p in catalog.errors)
    if notify is not None:
        for admin in sorted(admins - {user}):
            notify(admin, f"<@{user}> reloaded the workflow files; some were refused and their previous "
                          f"versions keep running:\n{listed}")
    return f"Some files were refused; their previous versions keep running:\n{listed}"


def standup_command(runtime: Runtime, user: str, args: list[str]) -> str:
    """`standup pause|resume|skip [workflow]`: leads steer a stand-up's schedule."""
    if not args or args[0] not in ("pause", "resume", "skip"):
        return "Use `/conductor standup pause|resume|skip [workflow]`."
    scheduled = [w for w in runtime.versions.workflow_ids() if runtime.versions.current(w).workflow.on.schedule]
    standups = [w for w in scheduled if any(s.kind == "standup" for s in runtime.versions.current(w).workflow.steps)]
    if len(args) > 1:
        workflow_id = args[1]
    elif len(standups) == 1:
        workflow_id = standups[0]
    else:
        return f"Which one? `/conductor standup {args[0]} <workflow>` (scheduled: {', '.join(scheduled) or 'none'})."
    if workflow_id not in scheduled:
        return f"`{replies.escape(workflow_id)}` has no schedule."
    workflow = runtime.versions.current(workflow_id).workflow
    if not may(workflow, None, user, "cancel", runtime.service.directory):
        reason = f"only the leads of `{workflow_id}` (who may cancel its runs) may {args[0]} it"
        runtime.service.record_refusal(user, f"Standup{args[0].capitalize()}", reason, workflow_id=workflow_id)
        return reason[0].upper() + reason[1:] + "."
    match args[0]:
        case "pause":
            set_schedule(runtime.engine, workflow_id, user, paused=True)
            return f"`{workflow_id}` is paused: no scheduled runs until `/conductor standup resume {workflow_id}`."
        case "resume":
            set_schedule(runtime.engine, workflow_id, user, paused=False, skip_next=False)
            return f"`{workflow_id}` runs on schedule again."
        case _:
            set_schedule(runtime.engine, workflow_id, user, skip_next=True)
            return f"The next scheduled run of `{workflow_id}` will be skipped."


def away_command(runtime: Runtime, user: str, args: list[str]) -> str:
    """`away 2026-03-02..2026-03-06`, `away 2026-03-02`, `away off`, or `away` to list."""
    today = datetime.now(UTC).date()
    if not args:
        periods = away_periods(runtime.engine, user, today)
        if not periods:
            return "You are not marked away. `/conductor away 2026-03-02..2026-03-06` to set it."
        return "You are away " + ", ".join(f"{a:%a %d %b}–{b:%a %d %b}" if a != b else f"{a:%a %d %b}" for a, b in periods) + "."
    if args[0].lower() in ("off", "back", "clear"):
        count = clear_away(runtime.engine, user, today)
        return f"Welcome back: {count} away period(s) removed." if count else "You were not marked away."
    first, _, last = args[0].partition("..")
    try:
        starts, ends = date.fromisoformat(first), date.fromisoformat(last or first)
        add_away(runtime.engine, user, starts, ends)
    except ValueError as exc:
        return f"Could not read that ({replies.escape(exc)}): write `/conductor away 2026-03-02..2026-03-06` (first and last day)."
    return f"Marked away {starts:%a %d %b}–{ends:%a %d %b}: stand-ups will not ask or remind you."


def _active(session: Any) -> list[Run]:
    return list(session.execute(select(Run).where(Run.status.in_(("running", "waiting"))).order_by(Run.created_at)).scalars())


def _status(session: Any, runtime: Runtime, command: Command) -> str:
    if not command.args:
        runs = _active(session)
        return replies.run_list([summarize(session, runtime.versions, r) for r in runs])
    run = session.get(Run, command.args[0])
    if run is None:
        return f"There is no run `{replies.escape(command.args[0])}`."
    workflow = runtime.versions.by_row(session, run.workflow_version_id).workflow
    state = RunState.from_json(run.state)
    steps = [(workflow.step(s).title, st.status.value) for s, st in state.steps.items()]
    return replies.status(summarize(session, runtime.versions, run), steps)
