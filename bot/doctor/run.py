"""`conductor doctor`: every check in order, each line printed as soon as it is known."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from bot.definitions.loader import Catalog
from bot.doctor import text
from bot.doctor.check import Check
from bot.doctor.database import check_database
from bot.doctor.deployment import check_escalation, check_secrets, load_workflows
from bot.doctor.needs import Needs, workflow_needs
from bot.doctor.report import exit_status, format_check
from bot.doctor.slack_api import slack_client
from bot.doctor.slack_app import (
    Identity,
    check_scopes,
    check_signing_secret,
    check_socket_mode,
    check_token,
)
from bot.doctor.workspace import check_channels, check_people
from bot.settings import Settings, admin_ids


def run_doctor(settings: Settings, echo: Callable[[str], object], *, environ: Mapping[str, str] | None = None) -> int:
    """Check the workspace and the deployment; print one line per check; 1 if any failed."""
    environ = os.environ if environ is None else environ
    results: list[Check] = []

    def report(name: str, produce: Callable[[], list[Check]]) -> None:
        try:
            checks = produce()
        except Exception as exc:  # noqa: BLE001 - a check that breaks is one failed line, never a traceback
            checks = [text.crashed(name, exc)]
        for check in checks:
            results.append(check)
            echo(format_check(check))

    catalog = Catalog()

    def workflows() -> list[Check]:
        nonlocal catalog
        checks, catalog = load_workflows(settings.workflows_dir)
        return checks

    report("workflows", workflows)
    needs = Needs()

    def named() -> list[Check]:
        nonlocal needs
        needs = workflow_needs(catalog, escalation_channel=settings.escalation_channel, admins=admin_ids(settings))
        return []

    report("workflows", named)
    client = slack_client(settings)
    identity: Identity | None = None

    def token() -> list[Check]:
        nonlocal identity
        check, identity = check_token(settings, client)
        return [check]

    report("token", token)
    if identity is not None:
        bot = identity
        report("scopes", lambda: check_scopes(bot, needs))
        report("channels", lambda: check_channels(client, needs, bot))
        report("people", lambda: check_people(client, needs))
    else:
        report("workspace", lambda: [text.workspace_skipped()])
    report("escalation", lambda: check_escalation(needs, settings.escalation_channel))
    report("secrets", lambda: check_secrets(needs, environ))
    report("signing secret", lambda: [check_signing_secret(settings)])
    report("Socket Mode", lambda: [check_socket_mode(settings)])
    report("database", lambda: check_database(settings.database_url))
    return exit_status(results)
