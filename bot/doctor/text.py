"""Every word `conductor doctor` prints: each function gives one check's line (name, what was
found, and for a problem its fix). The checks decide; only this module speaks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.definitions.problems import Problem
from bot.doctor.check import Check, failed, noted, passed, skipped
from bot.doctor.needs import Escalation, Place, Use
from bot.doctor.slack_api import NoAnswer, Reply

DOCTOR_CRASHED = "please report it, with this line"
NETWORK_FIX = "check SLACK_API_URL and the network (proxy, firewall)"
REINSTALL = ("add it to the app's Bot Token Scopes (OAuth & Permissions, or oauth_config.scopes.bot "
             "in bot/slack/manifest.yml) and reinstall the app")
APP_TOKEN_FIX = ("generate an app-level token with connections:write (Basic Information → "
                 "App-Level Tokens) and set SLACK_APP_TOKEN to it")
UPGRADE = "run `conductor db upgrade`"
START_CLOCK = "start `conductor clock` (or `conductor serve` with its clock)"


def _places(places: Iterable[Place]) -> str:
    return ", ".join(dict.fromkeys(place.where for place in places))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def no_answer(failure: NoAnswer) -> str:
    if failure.timeout is not None:
        return f"no answer within {failure.timeout:g} s"
    if failure.status is not None:
        return f"Slack answered HTTP {failure.status}" + (f" ({failure.reason})" if failure.reason else "")
    return failure.reason or "no answer"


def crashed(name: str, exc: BaseException) -> Check:
    return failed(name, f"could not be checked: {type(exc).__name__}: {exc}", DOCTOR_CRASHED)


# --- workflows ------------------------------------------------------------------------------
def workflows_loaded(folder: str, files: int, ids: list[str]) -> Check:
    return passed("workflows", f"{_plural(files, 'file')} in {folder} loaded: {', '.join(ids)}")


def workflows_folder_missing(folder: str) -> Check:
    return failed("workflows", f"folder {folder} not found", "set WORKFLOWS_DIR to the folder of your workflow files")


def workflows_none(folder: str) -> Check:
    return failed("workflows", f"no workflow files (*.yaml, *.yml) in {folder}",
                  "add one (the examples in the repository's workflows/ folder are made to be copied)")


def workflow_problem(problem: Problem) -> Check:
    name = f"workflow {problem.path}:{problem.line}:{problem.column}"
    if problem.is_error:
        return failed(name, f"{problem.code} {problem.message}",
                      "fix it: the file is left out until then (`conductor validate` lists every problem)")
    return noted(name, f"{problem.code} {problem.message}")


# --- the bot token --------------------------------------------------------------------------
def token_missing() -> Check:
    return failed("token", "SLACK_BOT_TOKEN is not set",
                  "set it to the app's Bot User OAuth Token (xoxb-…, under OAuth & Permissions)")


def token_unreachable(url: str, failure: NoAnswer) -> Check:
    return failed("token", f"cannot reach Slack at {url}: {no_answer(failure)}", NETWORK_FIX)


def token_refused(error: str) -> Check:
    if error == "not_allowed_token_type":
        return failed("token", "SLACK_BOT_TOKEN is not a bot token (not_allowed_token_type)",
                      "use the Bot User OAuth Token (xoxb-…), not an app-level token")
    return failed("token", f"Slack refused SLACK_BOT_TOKEN ({error})",
                  "copy the Bot User OAuth Token again from OAuth & Permissions (reinstalling the app issues a new one)")


def token_not_a_bot(user: str) -> Check:
    return failed("token", f"SLACK_BOT_TOKEN belongs to @{user}, a person, not the app's bot",
                  "use the Bot User OAuth Token (xoxb-…)")


def token_ok(user: str, user_id: str, team: str, team_id: str) -> Check:
    return passed("token", f"bot @{user} ({user_id}) in team {team} ({team_id})")


def workspace_skipped() -> Check:
    return skipped("workspace", "scopes, channels, people and user groups are checked once the token works")


# --- scopes ---------------------------------------------------------------------------------
def scopes_unknown() -> Check:
    return noted("scopes", "Slack did not say which scopes the token has (no x-oauth-scopes header); not checked")


def scopes_ok(count: int) -> Check:
    return passed("scopes", f"all {count} needed are granted")


def scope_missing(scope: str, why: str, required: bool) -> Check:
    detail = f"not granted; needed {why}"
    if required:
        return failed(f"scope {scope}", detail, REINSTALL)
    return noted(f"scope {scope}", detail + " (the manifest asks for it; no workflow uses it yet)", REINSTALL)


# --- channels -------------------------------------------------------------------------------
def _cannot(reply: Reply) -> tuple[str, str]:
    if reply.unreachable is not None:
        return no_answer(reply.unreachable), NETWORK_FIX
    if reply.error == "missing_scope":
        needed = reply.data.get("needed") or "a scope"
        return f"the token lacks {needed}", f"grant {needed} (see the scope lines)"
    return f"Slack answered {reply.error}", "run conductor doctor again; if it stays, check the app's installation"


def channels_none() -> Check:
    return passed("channels", "no workflow names one (runs are conducted where /conductor start is typed)")


def channels_unchecked(reply: Reply) -> Check:
    reason, fix = _cannot(reply)
    return failed("channels", f"cannot be checked: {reason}", fix)


def _uses(places: list[Place]) -> str:
    words = {Use.CHANNEL: "runs of", Use.ESCALATION: "escalations of", Use.POST: "posts of"}
    named = [f"{words.get(p.use, 'used by')} {p.workflow}" if p.workflow else f"the {p.where} setting"
             for p in places]
    return ", ".join(dict.fromkeys(named))


def channel_ok(ref: str, channel_id: str, places: list[Place]) -> Check:
    return passed(f"channel {ref}", f"the bot is in it ({channel_id}; {_uses(places)})")


def channel_direct(ref: str) -> Check:
    return noted(f"channel {ref}", "a direct message conversation; not checked")


def channel_not_found(ref: str, places: list[Place], bot: str) -> Check:
    return failed(f"channel {ref}", "not found",
                  f"create it (if it is private, invite @{bot} to it), or fix {_places(places)}")


def channel_archived(ref: str, places: list[Place]) -> Check:
    return failed(f"channel {ref}", "archived", f"unarchive it, or name another channel in {_places(places)}")


def channel_not_member(ref: str, name: str | None, bot: str) -> Check:
    where = f"#{name}" if name else ref
    return failed(f"channel {ref}", "the bot is not in it: thread replies would not reach it",
                  f"invite it: `/invite @{bot}` in {where}")


# --- people and user groups -----------------------------------------------------------------
def people_none() -> Check:
    return passed("people", "no workflow names a user or user group by ID")


def users_unchecked(reply: Reply) -> Check:
    reason, fix = _cannot(reply)
    return failed("users", f"cannot be checked: {reason}", fix)


def user_ok(user_id: str, user: dict[str, Any]) -> Check:
    real = user.get("real_name") or (user.get("profile") or {}).get("real_name") or user.get("name") or user_id
    return passed(f"user {user_id}", f"{real} (@{user.get('name') or user_id})")


def user_not_found(user_id: str, places: list[Place]) -> Check:
    return failed(f"user {user_id}", "not found in this workspace",
                  f"copy the member ID from the person's profile (⋮ → Copy member ID) into {_places(places)}")


def user_deactivated(user_id: str, places: list[Place]) -> Check:
    return failed(f"user {user_id}", "deactivated", f"name someone else in {_places(places)}")


def groups_unchecked(reply: Reply) -> Check:
    reason, fix = _cannot(reply)
    return failed("user groups", f"cannot be checked: {reason}", fix)


def group_ok(group_id: str, handle: str, members: int) -> Check:
    return passed(f"user group {group_id}", f"@{handle}, {_plural(members, 'member')}")


def group_empty(group_id: str, handle: str) -> Check:
    return noted(f"user group {group_id}", f"@{handle} has no members: nobody in it can be asked")


def group_not_found(group_id: str, places: list[Place]) -> Check:
    return failed(f"user group {group_id}", "not found in this workspace",
                  f"create it, or copy the group's ID (S…) from its page in Slack into {_places(places)}")


def group_disabled(group_id: str, handle: str, places: list[Place]) -> Check:
    return failed(f"user group {group_id}", f"@{handle} is disabled",
                  f"enable it, or name another group in {_places(places)}")


# --- escalation -----------------------------------------------------------------------------
def escalation_setting_invalid(value: str) -> Check:
    return failed("escalation", f"ESCALATION_CHANNEL `{value}` is not a channel", "write #name or a channel ID (C…)")


def escalation_nothing(setting: str | None) -> Check:
    said = f"ESCALATION_CHANNEL is {setting}; " if setting else ""
    return passed("escalation", f"{said}no workflow has an automation to escalate")


def escalation_ok(escalations: list[Escalation]) -> Check:
    return passed("escalation", ", ".join(f"{e.workflow} → {e.channel}" for e in escalations))


def escalation_to_run_channel(e: Escalation) -> Check:
    return noted(f"escalation of {e.workflow}",
                 f"no escalation_channel and ESCALATION_CHANNEL is not set: failing automations go to its runs' channel {e.run_channel}",
                 f"set ESCALATION_CHANNEL, or escalation_channel: in {e.where}")


def escalation_missing(e: Escalation) -> Check:
    return failed(f"escalation of {e.workflow}",
                  "no escalation channel: it has automations, but no escalation_channel, no channel, and ESCALATION_CHANNEL is not set",
                  f"set ESCALATION_CHANNEL, or escalation_channel: in {e.where}")


# --- secrets and credentials ----------------------------------------------------------------
def secrets_none() -> Check:
    return passed("secrets", "no workflow refers to one")


def secrets_set(names: list[str]) -> Check:
    return passed("secrets", f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} set")


def secret_missing(name: str, places: list[Place]) -> Check:
    return failed(f"secret {name}", f"not set (used at {_places(places)})",
                  f"set the environment variable {name} for every bot process (`conductor serve` and `conductor clock`)")


def signing_secret_set() -> Check:
    return passed("signing secret", "SLACK_SIGNING_SECRET is set (HTTP mode checks every request with it)")


def signing_secret_missing(socket_mode: bool) -> Check:
    detail = "SLACK_SIGNING_SECRET is not set: fine for Socket Mode; over HTTP every request would be refused"
    return noted("signing secret", detail, None if socket_mode else "set it from Basic Information → App Credentials for HTTP mode")


def socket_mode_off() -> Check:
    return noted("Socket Mode", "not configured (SLACK_APP_TOKEN is not set): Slack must reach POST /slack/events over HTTP")


def socket_mode_not_app_token() -> Check:
    return failed("Socket Mode", "SLACK_APP_TOKEN is not an app-level token (xapp-…)", APP_TOKEN_FIX)


def socket_mode_unreachable(failure: NoAnswer) -> Check:
    return failed("Socket Mode", f"cannot reach Slack: {no_answer(failure)}", NETWORK_FIX)


def socket_mode_refused(error: str) -> Check:
    if error in ("invalid_auth", "not_authed", "token_revoked", "not_allowed_token_type", "missing_scope"):
        return failed("Socket Mode", f"Slack refused SLACK_APP_TOKEN ({error})", APP_TOKEN_FIX)
    return failed("Socket Mode", f"Slack could not open a connection ({error})",
                  "turn Socket Mode on in the app's settings, then run conductor doctor again")


def socket_mode_ok() -> Check:
    return passed("Socket Mode", "the app token opens a connection")


# --- the database and its clock -------------------------------------------------------------
def database_file_missing(path: str) -> Check:
    return failed("database", f"{path} does not exist", f"{UPGRADE} (it creates it), or set DATABASE_URL")


def database_unreachable(where: str, reason: str) -> Check:
    return failed("database", f"cannot connect to {where}: {reason}", "check DATABASE_URL and that the server is up")


def database_empty(where: str) -> Check:
    return failed("database", f"{where} has no Conductor tables yet", UPGRADE)


def database_behind(where: str, current: str, head: str | None) -> Check:
    return failed("database", f"{where} is at revision {current}, the newest is {head}", UPGRADE)


def database_unknown_revision(where: str, current: str) -> Check:
    return failed("database", f"{where} is at revision {current}, which this release does not know",
                  "run the newer release that migrated it (or restore a backup)")


def database_ok(where: str, revision: str) -> Check:
    return passed("database", f"{where} is at the newest revision ({revision})")


def clock_unchecked() -> Check:
    return skipped("clock", "checked once the database is reachable and migrated")


def clock_in_memory() -> Check:
    return skipped("clock", "an in-memory SQLite database lives in one process, which is its own clock")


def clock_leads(holding: str) -> Check:
    return passed("clock", f"a clock leads (it holds {holding})")


def clock_missing() -> Check:
    return failed("clock", "no clock leads", START_CLOCK)


def advisory_lock(schema: str) -> str:
    return f"the advisory lock of schema {schema}"
