"""The commands of shadow runs, cases and promotion, added to `conductor` by `bot/cli.py`:
`cases export`, `replay`, `promote` and `demote`. The work is in `bot.shadow.command`."""

from __future__ import annotations

import sys

import click

from bot.settings import Settings


def get_settings() -> Settings:
    """The process's settings, read as every command reads them (a start-up problem: exit 2)."""
    from bot.cli import get_settings as settings

    return settings()


@click.group()
def cases() -> None:
    """Cases: take-overs of escalated automations, and shadows that disagreed."""


@cases.command("export")
@click.argument("workflow_id")
@click.argument("step_id")
@click.option("-o", "--output", "out", type=click.Path(file_okay=False), default=None,
              help="Folder to write to (default: cases/WORKFLOW/STEP).")
@click.option("--all", "every", is_flag=True, help="Every comparison recorded, agreements too.")
def cases_export(workflow_id: str, step_id: str, out: str | None, every: bool) -> None:
    """Write a step's cases as JSON fixtures, one file each."""
    from bot.shadow.command import export

    for line in export(get_settings(), workflow_id, step_id, out, every):
        click.echo(line)


@click.command()
@click.argument("workflow_id")
@click.argument("step_id")
@click.option("--with", "spec", required=True, help="The candidate: `package.module:function`, or a command.")
@click.option("--cases", "fixtures", type=click.Path(file_okay=False, exists=True), default=None,
              help="Replay exported fixtures from this folder (default: the cases in the database).")
@click.option("--all", "every", is_flag=True, help="Replay every comparison recorded, agreements too.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds each case may take.")
def replay(workflow_id: str, step_id: str, spec: str, fixtures: str | None, every: bool, timeout: float) -> None:
    """Run a candidate against a step's recorded cases, offline; print agreement and the disagreements.

    Exit 0 when every case agrees, 1 otherwise. Nothing is sent: `http` is stood in.
    """
    from bot.shadow.command import CommandProblem
    from bot.shadow.command import replay as run_replay

    try:
        lines, status = run_replay(get_settings(), workflow_id, step_id, spec, fixtures, every, timeout)
    except CommandProblem as problem:
        raise click.ClickException(str(problem)) from None
    for line in lines:
        click.echo(line)
    sys.exit(status)


@click.command()
@click.argument("workflow_id")
@click.argument("step_id")
@click.option("--min-agreement", default=95.0, show_default=True, type=click.FloatRange(0, 100),
              help="Percent the agreement's Wilson 95% lower bound must reach.")
@click.option("--min-runs", default=20, show_default=True, type=click.IntRange(min=1), help="Comparisons needed.")
def promote(workflow_id: str, step_id: str, min_agreement: float, min_runs: int) -> None:
    """Print the YAML change that makes a person step its shadow automation (escalating to the
    same people); refuse, with the figures, until the shadow has agreed often enough."""
    from bot.shadow.command import CommandProblem
    from bot.shadow.command import promote as run_promote
    from bot.shadow.promote import Refused

    try:
        click.echo(run_promote(get_settings(), workflow_id, step_id, min_agreement / 100, min_runs), nl=False)
    except (CommandProblem, Refused) as problem:
        raise click.ClickException(str(problem)) from None


@click.command()
@click.argument("workflow_id")
@click.argument("step_id")
@click.option("--ask", default=None, help="Who does it by hand (default: whom it escalates to).")
def demote(workflow_id: str, step_id: str, ask: str | None) -> None:
    """Print the YAML change that hands an automation back to people, keeping it as the shadow."""
    from bot.shadow.command import CommandProblem
    from bot.shadow.command import demote as run_demote
    from bot.shadow.promote import Refused

    try:
        click.echo(run_demote(get_settings(), workflow_id, step_id, ask), nl=False)
    except (CommandProblem, Refused) as problem:
        raise click.ClickException(str(problem)) from None


COMMANDS = (cases, replay, promote, demote)
