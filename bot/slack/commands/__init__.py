"""`/conductor`: one listener. A command that changes something (`start`, `cancel`, `standup`,
`away`, `reload`) is carried out before Slack has its answer (see `bot.slack.acks`), so a
command Slack got 200 for is never lost to a process killed a moment later. The other
commands only read, and are answered the same way (one path for all). The private answer
follows; a form (`start` missing inputs, `diagnose`) opens afterwards, with the command's
trigger: it changes nothing until it is submitted.

The listener only reads the command and calls a use case; what is decided, and who may, is
the use cases' (`bot.usecases`), and what the person reads is `replies`'.

Unreadable input gets a short explanation and the help, never an error page; a request
without the fields Slack always sends is answered 400 (`payload.problem`). Text a person
typed is escaped wherever it is shown back, so it can never ping or link."""

from __future__ import annotations

from datetime import date

from slack_bolt import App

from bot.slack.acks import Later, Note, decide_now_tell_later
from bot.slack.blocks import forms
from bot.slack.blocks.insights import render_insights
from bot.slack.commands import replies
from bot.slack.commands.parse import Command, CommandError, parse_command
from bot.slack.commands.payload import Typed, is_slash_command, problem, read_command
from bot.slack.lookup import PayloadGuard
from bot.usecases import UseCases
from bot.usecases.results import NeedsInputs, Refused

FORM_LATE = "The form could not open in time; please try the command again."


def register(app: App) -> None:
    app.use(PayloadGuard("slash command", is_slash_command, problem))
    decide_now_tell_later(app.command("/conductor"), "/conductor", read_command, conductor_command)


def conductor_command(typed: Typed, doors: UseCases) -> Later:
    """One `/conductor …`: parsed, carried out, answered privately."""
    try:
        command = parse_command(typed.text)
    except CommandError as exc:
        return Later.telling(typed, f"{exc}.\n\n{replies.HELP}")
    key = f"command:{typed.trigger_id}"
    match command.verb:
        case "diagnose":
            return Later.opening(typed, typed.trigger_id, forms.diagnose_form(), FORM_LATE)
        case "start":
            return start(typed, command, doors, key)
        case "reload":
            return reload(typed, doors)
        case "insights":
            return insights(typed, command, doors)
        case _:
            return Later.telling(typed, answer(typed, command, doors, key))


def start(typed: Typed, command: Command, doors: UseCases, key: str) -> Later:
    if not command.args:
        return Later.telling(typed, "Which workflow? `/conductor start <workflow> [name=value ...]` "
                                    "(see `/conductor list`).")
    workflow_id = command.args[0]
    started = doors.start_by_command(workflow_id, typed.user, dict(command.options), key=key, channel=typed.channel)
    if isinstance(started, NeedsInputs):
        form = forms.start_form(started.workflow_id, started.title, started.inputs, given=started.given or None)
        return Later.opening(typed, typed.trigger_id, form, FORM_LATE)
    return Later.telling(typed, replies.started(workflow_id, started))


def reload(typed: Typed, doors: UseCases) -> Later:
    """Problems go to the admin who asked and, by DM, to the other admins: a refused file keeps
    its previous version running, and someone has to fix it."""
    reloaded = doors.reload(typed.user)
    if isinstance(reloaded, Refused):
        return Later.telling(typed, replies.sentence(reloaded.text))
    others = tuple(Note(admin, replies.reload_problems_for_admins(typed.user, reloaded.problems))
                   for admin in reloaded.told)
    return Later((Note(typed.user, replies.reloaded(reloaded), typed.where), *others))


def insights(typed: Typed, command: Command, doors: UseCases) -> Later:
    """`insights [workflow]`: the advisories and figures, privately, in Block Kit."""
    found = doors.insights(typed.user, command.args[0] if command.args else None)
    if isinstance(found, Refused):
        return Later.telling(typed, replies.sentence(found.text))
    fallback, blocks = render_insights(found)
    return Later((Note(typed.user, fallback, typed.where, tuple(blocks)),))


def answer(typed: Typed, command: Command, doors: UseCases, key: str) -> str:
    """The private answer to every other command."""
    user = typed.user
    match command.verb:
        case "help":
            return replies.HELP
        case "list":
            return replies.workflow_list(doors.startable())
        case "runs":
            return replies.run_list(doors.active_runs(user))
        case "board":
            return replies.board(doors.board(user, command.args[0] if command.args else None))
        case "mine":
            return replies.waiting_list(doors.mine(user))
        case "status":
            if not command.args:
                return replies.run_list(doors.active_runs(user))
            found = doors.run_status(user, command.args[0])
            return replies.sentence(found.text) if isinstance(found, Refused) else replies.status(found)
        case "cancel":
            if not command.args:
                return "Which run? `/conductor cancel <run>`"
            decided = doors.cancel(command.args[0], user, " ".join(command.args[1:]), key=key)
            return replies.cancelled(command.args[0], decided)
        case "standup":
            return standup(user, command.args, doors)
        case "away":
            return away(user, command.args, doors)
        case _:
            return f"`{replies.escape(command.verb)}` is not available here yet.\n\n{replies.HELP}"


def standup(user: str, args: list[str], doors: UseCases) -> str:
    """`standup pause|resume|skip [workflow]`: leads steer a stand-up's schedule."""
    if not args or args[0] not in ("pause", "resume", "skip"):
        return "Use `/conductor standup pause|resume|skip [workflow]`."
    scheduled, standups = doors.scheduled_workflows()
    if len(args) > 1:
        workflow_id = args[1]
    elif len(standups) == 1:
        workflow_id = standups[0]
    else:
        return f"Which one? `/conductor standup {args[0]} <workflow>` (scheduled: {', '.join(scheduled) or 'none'})."
    steered = doors.steer_standup(user, args[0], workflow_id)
    return replies.sentence(steered.text) if isinstance(steered, Refused) else replies.steered(steered)


def away(user: str, args: list[str], doors: UseCases) -> str:
    """`away 2026-03-02..2026-03-06`, `away 2026-03-02`, `away off`, or `away` to list."""
    if not args:
        return replies.away_days(doors.away_days(user))
    if args[0].lower() in ("off", "back", "clear"):
        return replies.back(doors.back(user))
    first, _, last = args[0].partition("..")
    try:
        starts, ends = date.fromisoformat(first), date.fromisoformat(last or first)
    except ValueError as exc:
        return replies.unreadable_period(str(exc))
    marked = doors.away(user, starts, ends)
    if isinstance(marked, Refused):
        return replies.unreadable_period(marked.text)
    return replies.away_set(marked)
