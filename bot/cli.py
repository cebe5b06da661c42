"""`conductor` — the command line: check, explain and draw workflows, migrate the database."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import click

from bot.definitions.four_questions import QUESTIONS, recommend
from bot.definitions.problems import CODES, summary_line
from bot.settings import Settings

YES_NO = click.Choice(["yes", "no"], case_sensitive=False)
STARTUP_PROBLEM_EXIT = 2
T = TypeVar("T")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="conductor", prog_name="conductor")
@click.option("--debug", is_flag=True, help="Show the traceback of a start-up problem instead of one line.")
@click.pass_context
def main(context: click.Context, debug: bool) -> None:
    """Conductor: conduct hybrid workflows of people and automations in Slack."""
    context.obj = {"debug": debug}


def _debugging() -> bool:
    context = click.get_current_context(silent=True)
    while context is not None:
        if isinstance(context.obj, dict) and context.obj.get("debug"):
            return True
        context = context.parent
    return False


def started(start: Callable[[], T]) -> T:
    """Run `start`; a start-up problem is one line on standard error and exit status 2 (the
    whole traceback with `conductor --debug`)."""
    from bot.preflight import StartupProblem

    try:
        return start()
    except StartupProblem as problem:
        if _debugging():
            raise
        click.echo(f"conductor: {problem.line()}", err=True)
        for detail in problem.details:
            click.echo(f"  {detail}", err=True)
        sys.exit(STARTUP_PROBLEM_EXIT)


def get_settings() -> Settings:
    """The process's settings; an invalid one is a start-up problem (one line, exit 2)."""
    from bot.preflight import read_settings
    from bot.settings import get_settings as cached

    return started(lambda: read_settings(cached))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--codes", is_flag=True, help="List every problem code and what it means.")
def validate(paths: tuple[str, ...], codes: bool) -> None:
    """Check workflow files (default: WORKFLOWS_DIR) and print every problem.

    Each problem is printed as `path:line:col: CODE message`; exit status 1 when there is an
    error (warnings alone exit 0).
    """
    from bot.definitions.loader import load_paths

    if codes:
        for code, meaning in CODES.items():
            click.echo(f"{code}  {meaning}")
        return
    catalog = load_paths(list(paths) or [get_settings().workflows_dir])
    for problem in catalog.problems:
        click.echo(problem.format())
    if catalog.files == 0:
        click.echo("no workflow files found (*.yaml, *.yml)", err=True)
        sys.exit(1)
    click.echo(summary_line(catalog.problems, catalog.files))
    sys.exit(0 if catalog.ok else 1)


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
def schema(output: str | None) -> None:
    """Print the JSON Schema of the workflow language (for editors)."""
    from bot.definitions.schema import workflow_json_schema_text

    text = workflow_json_schema_text()
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@main.command()
@click.option("--subjective", type=YES_NO, help=QUESTIONS[0][1])
@click.option("--variable", type=YES_NO, help=QUESTIONS[1][1])
@click.option("--repetitive", type=YES_NO, help=QUESTIONS[2][1])
@click.option("--consistency-critical", "consistency_critical", type=YES_NO, help=QUESTIONS[3][1])
def diagnose(**answers: str | None) -> None:
    """Should people do a step, or code? Answer four questions and get a recommendation.

    Give the answers as flags, or answer the questions you left out when asked.
    """
    values: dict[str, bool] = {}
    for name, question in QUESTIONS:
        answer = answers.get(name)
        if answer is None:
            if not _stdin_is_terminal():
                raise click.UsageError(f"--{name.replace('_', '-')} yes|no is needed when not asked interactively")
            answer = click.prompt(question, type=YES_NO)
        values[name] = answer.lower() == "yes"
    advice = recommend(**values)
    click.echo(f"Recommendation: {advice.label}")
    click.echo(advice.reason)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def diagram(path: str) -> None:
    """Print a workflow as a Mermaid flowchart (people and code in separate swimlanes)."""
    from bot.definitions.diagram import to_mermaid
    from bot.definitions.loader import load_paths

    catalog = load_paths([path])
    if not catalog.workflows:
        for problem in catalog.problems:
            click.echo(problem.format(), err=True)
        sys.exit(1)
    (loaded,) = catalog.workflows.values()
    click.echo(to_mermaid(loaded.workflow), nl=False)


@main.command()
@click.option("--port", type=int, default=None, help="HTTP port (default: PORT, 3000).")
@click.option("--threads", default=8, show_default=True, help="Requests served at once.")
@click.option("--no-clock", "no_clock", is_flag=True, help="Serve Slack only (extra web processes).")
@click.option("--socket", "socket_mode", is_flag=True, help="Use Socket Mode (SLACK_APP_TOKEN) instead of HTTP.")
def serve(port: int | None, threads: int, no_clock: bool, socket_mode: bool) -> None:
    """Serve Slack: POST /slack/events and GET /healthz, with the clock and the messenger.

    With the clock (the default) this process also fires timers, runs automations and
    delivers messages when it leads; with --no-clock it only answers Slack.
    """
    from bot.processes.serve import run_serve

    settings = get_settings()
    sys.exit(started(lambda: run_serve(settings, port=port or settings.port, threads=threads,
                                       with_clock=not no_clock, socket_mode=socket_mode)))


@main.command()
@click.option("--workers", default=8, show_default=True, help="Automations run at once.")
def clock(workers: int) -> None:
    """Run the clock alone: timers, scheduled runs and automations.

    On PostgreSQL one clock leads at a time; a second waits as a standby and takes over
    within seconds when the leader stops. On SQLite run one clock process.
    """
    from bot.preflight import check_bot_token, ensure_schema, load_workflows
    from bot.processes.clock import run_clock
    from bot.slack.client import make_client

    settings = get_settings()

    def start() -> int:
        ensure_schema(settings.database_url)
        catalog = load_workflows(settings.workflows_dir)
        check_bot_token(settings, make_client(settings), required=False)
        return run_clock(settings, workers=workers, catalog=catalog)

    sys.exit(started(start))


@main.command()
@click.option("--workflows", "workflows_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of workflow files (default: WORKFLOWS_DIR, workflows).")
@click.option("--as", "as_user", default=None, help="Act as this person from the start (@name).")
@click.option("--script", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Play the lines of FILE instead of a terminal; exit 1 when an :expect fails.")
@click.option("--db", "database_url", default=None, help="Keep the rehearsal in this database (default: a throwaway SQLite file).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]), default=None,
              help="Start the rehearsal's clock at this UTC time (default: now).")
@click.option("--live-http", is_flag=True, help="Really send `http:` steps (default: made-up outputs, nothing sent).")
@click.option("--color/--no-color", default=None, help="Colour (default: when the terminal has it).")
def shell(workflows_dir: str | None, as_user: str | None, script: str | None, database_url: str | None,
          start: datetime | None, live_http: bool, color: bool | None) -> None:
    """Rehearse workflows in a local Slack at this terminal: no workspace, no tokens.

    Type /conductor commands as any person, press buttons by number, fill forms, reply in
    threads, and move time with :wait 2h. Type :help inside for everything.
    """
    from bot.shell.terminal import run_shell

    sys.exit(run_shell(workflows_dir=workflows_dir or get_settings().workflows_dir, database_url=database_url,
                       as_user=as_user, script=script, start=start.replace(tzinfo=UTC) if start else None,
                       live_http=live_http, color=color))


@main.command()
def doctor() -> None:
    """Check the Slack workspace and the deployment; one line per check, exit 1 if any fails.

    Checks the token, its scopes, the channels, people and user groups the workflows name,
    the escalation channel, the workflows' secrets, the database and its clock, and with
    SLACK_APP_TOKEN the Socket Mode connection.
    """
    from bot.doctor import run_doctor

    sys.exit(run_doctor(get_settings(), click.echo))


@main.command()
@click.option("--workflow", "workflow_id", default=None, help="Only this workflow.")
@click.option("--since", default="90d", show_default=True, help="Runs started this long ago or later (90d, 2w, 12h).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
@click.option("--min-runs", default=20, show_default=True, type=click.IntRange(min=1),
              help="Fewer runs than this: say so instead of asserting a rate.")
@click.option("--now", "at", type=click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"]), default=None,
              hidden=True, help="Report as of this UTC time (default: now).")
def insights(workflow_id: str | None, since: str, fmt: str, min_runs: int, at: datetime | None) -> None:
    """Which steps belong to people and which to code, from the recorded history.

    Per automated step: tries, retries, escalations, take-overs, skips, failure causes,
    durations. Per person step: handling time, reassignments, "Need help", rejection loops,
    and whether a small rule reproduces the answers. Per phase: where the time goes. Then
    advisories, each with its evidence.
    """
    from bot.insights.command import run_insights

    click.echo(started(lambda: run_insights(get_settings(), workflow_id=workflow_id, since=since, fmt=fmt,
                                            min_runs=min_runs, now=at.replace(tzinfo=UTC) if at else None)),
               nl=False)


@main.group()
def db() -> None:
    """Database migrations (DATABASE_URL)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    from bot.preflight import parse_database_url
    from bot.store.migrate import upgrade

    url = get_settings().database_url
    started(lambda: parse_database_url(url))
    upgrade(url, revision)
    click.echo(f"database at {revision}")


@db.command("current")
def db_current() -> None:
    """Print the database's current revision."""
    from bot.store.migrate import current

    click.echo(current(get_settings().database_url) or "empty (run `conductor db upgrade`)")


# --- history: the stand-up report and the event log (bot/history) ----------------------------
PRIVATE_HELP = ("Admins only: also the values people and automations handed off, answers and errors "
                "(this command reads with the database's own credentials).")


def _history_engine():  # -> sqlalchemy.Engine, imported only when used
    """The database to read; SQLite brought to the newest schema, an older PostgreSQL refused."""
    from bot.preflight import ensure_schema
    from bot.store.db import make_engine

    url = get_settings().database_url
    started(lambda: ensure_schema(url))
    return make_engine(url)


def _duration(context: click.Context, param: click.Parameter, value: str) -> str:
    from bot.definitions.values import parse_duration

    try:
        parse_duration(value)
    except ValueError:
        raise click.BadParameter(f"`{value}` is not a duration: write 30d, 2w or 12h") from None
    return value


def _write(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


@main.group()
def report() -> None:
    """Reports read from the history (DATABASE_URL)."""


@report.command("standups")
@click.option("--workflow", "workflow_id", default=None, help="Only this workflow's stand-ups.")
@click.option("--since", default="30d", show_default=True, callback=_duration, help="Runs started this long ago or later (30d, 2w, 12h).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option("--include-private", is_flag=True, help=PRIVATE_HELP)
def report_standups(workflow_id: str | None, since: str, fmt: str, output: str | None, include_private: bool) -> None:
    """One row per person and stand-up day: answered, late, away, missing (or pending), and
    the blockers they raised."""
    from bot.history.exports import standup_report

    _write(standup_report(_history_engine(), now=datetime.now(UTC), since=since, workflow_id=workflow_id,
                          fmt=fmt, include_private=include_private), output)


@main.group()
def history() -> None:
    """The history of runs (DATABASE_URL)."""


@history.command("export")
@click.option("--workflow", "workflow_id", default=None, help="Only this workflow's runs.")
@click.option("--since", default="90d", show_default=True, callback=_duration, help="Runs started this long ago or later (90d, 2w).")
@click.option("--format", "fmt", type=click.Choice(["ocel", "xes", "csv"]), required=True,
              help="OCEL 2.0 JSON, XES (one trace per run) or CSV (one event per line).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file instead of stdout.")
@click.option("--include-private", is_flag=True, help=PRIVATE_HELP)
def history_export(workflow_id: str | None, since: str, fmt: str, output: str | None, include_private: bool) -> None:
    """The history as a process-mining event log: runs, steps, people and workflow versions."""
    from bot.history.exports import history_export as export

    _write(export(_history_engine(), now=datetime.now(UTC), since=since, workflow_id=workflow_id,
                  fmt=fmt, include_private=include_private), output)


if __name__ == "__main__":  # pragma: no cover
    main()


# Shadow runs, cases and promotion: `cases export`, `replay`, `promote`, `demote`.
from bot.shadow.commands import COMMANDS as _SHADOW_COMMANDS  # noqa: E402

for _command in _SHADOW_COMMANDS:
    main.add_command(_command)
