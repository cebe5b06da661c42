"""What the deployment gives the workflows: the folder loads, failing automations have a channel
to escalate to, and every secret the workflows refer to is set (its value is never shown)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.definitions.loader import Catalog, load_paths
from bot.doctor import text
from bot.doctor.check import Check
from bot.doctor.needs import Needs, channel_ref, is_channel


def load_workflows(folder: str) -> tuple[list[Check], Catalog]:
    """Load the folder as the app does; one line per problem, or one line for the lot."""
    if not os.path.isdir(folder):
        return [text.workflows_folder_missing(folder)], Catalog()
    catalog = load_paths([folder])
    if catalog.files == 0:
        return [text.workflows_none(folder)], catalog
    checks = [text.workflow_problem(problem) for problem in catalog.problems]
    if catalog.workflows:
        checks.insert(0, text.workflows_loaded(folder, catalog.files, sorted(catalog.workflows)))
    return checks, catalog


def check_escalation(needs: Needs, setting: str | None) -> list[Check]:
    """Each workflow with automations has somewhere to hand their failures to people."""
    if setting and not is_channel(setting):
        return [text.escalation_setting_invalid(setting)]
    if not needs.escalations:
        return [text.escalation_nothing(channel_ref(setting) if setting else None)]
    checks = []
    for escalation in needs.escalations:
        if escalation.channel is None:
            make = text.escalation_to_run_channel if escalation.run_channel else text.escalation_missing
            checks.append(make(escalation))
    return checks or [text.escalation_ok(needs.escalations)]


def check_secrets(needs: Needs, environ: Mapping[str, str]) -> list[Check]:
    """Set and not empty, as `bot.automations.secrets` reads them when a step runs."""
    if not needs.secrets:
        return [text.secrets_none()]
    missing = [text.secret_missing(name, places) for name, places in sorted(needs.secrets.items())
               if not environ.get(name)]
    present = sorted(name for name in needs.secrets if environ.get(name))
    return missing + ([text.secrets_set(present)] if present else [])
