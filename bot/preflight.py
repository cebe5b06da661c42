"""What a process checks before it starts: the settings, the database, the workflows folder,
Slack's tokens and the port.

Each problem is a `StartupProblem`: one line that names the setting and says how to fix it.
The command line prints that line and exits 2 (`conductor --debug …` shows the traceback
instead). Nothing here starts anything; `serve` and `clock` call these checks first, so a
process either starts whole or says in one line why it cannot.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from bot.definitions.loader import Catalog, load_paths
from bot.observability.logs import quieted
from bot.settings import Settings

log = logging.getLogger("conductor")

MIGRATE_LOCK_SUFFIX = ".migrate.lock"
SLACK_CHECK_TIMEOUT_SECONDS = 10


class StartupProblem(Exception):
    """Why a process cannot start: the setting at fault, what is wrong, and the fix.

    `details` are extra lines (a workflow file's problems) printed after the one line."""

    def __init__(self, setting: str, problem: str, fix: str, details: list[str] | None = None):
        self.setting, self.problem, self.fix = setting, problem, fix
        self.details = details or []
        super().__init__(self.line())

    def line(self) -> str:
        return f"{self.setting}: {self.problem}; {self.fix}"


# --- settings -----------------------------------------------------------------------------------
def read_settings(load: Callable[[], Settings] = Settings) -> Settings:
    """The settings from the environment, or the first invalid one as a `StartupProblem`."""
    try:
        return load()
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first.get("loc") else "settings"
        given = first.get("input")
        shown = f" {given!r}" if isinstance(given, str | int | float) and "TOKEN" not in name and "SECRET" not in name else ""
        raise StartupProblem(name, f"the value{shown} is not valid ({first['msg'].removeprefix('Value error, ')})",
                             f"set {name} to a valid value or unset it for the default") from error


# --- database -----------------------------------------------------------------------------------
def shown_url(url: URL) -> str:
    """The URL as it may be printed: never with its password."""
    return url.render_as_string(hide_password=True)


def parse_database_url(raw: str) -> URL:
    from bot.store.db import normalize_url

    try:
        url = normalize_url(raw)
    except (ArgumentError, ValueError) as error:
        raise StartupProblem("DATABASE_URL", "cannot be read as a database URL",
                             "use sqlite:///conductor.db or postgresql://user@host:5432/dbname") from error
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StartupProblem("DATABASE_URL", f"{backend!r} databases are not supported",
                             "use sqlite:///conductor.db or postgresql://user@host:5432/dbname")
    return url


def _unreachable(url: URL, error: Exception) -> StartupProblem:
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if url.get_backend_name() == "sqlite":
        return StartupProblem("DATABASE_URL", f"cannot open the SQLite file {url.database!r} ({reason})",
                              "create its folder or point DATABASE_URL at a writable path")
    return StartupProblem("DATABASE_URL", f"cannot connect to {shown_url(url)} ({reason})",
                          "start the database or fix DATABASE_URL")


@contextmanager
def _migration_lock(url: URL) -> Iterator[None]:
    """One process at a time migrates a SQLite file: the others wait, then find it at head."""
    database = url.database or ""
    if not database or database == ":memory:":
        yield
        return
    folder = Path(os.path.abspath(database)).parent
    if not folder.is_dir():
        raise StartupProblem("DATABASE_URL", f"the folder of the SQLite file {database!r} does not exist",
                             "create it, or point DATABASE_URL at a file in an existing folder")
    with open(f"{os.path.abspath(database)}{MIGRATE_LOCK_SUFFIX}", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_schema(raw_url: str) -> None:
    """Bring an embedded SQLite database to the newest revision (safely when two processes
    start at once); refuse a PostgreSQL database that is not at it, naming the command that
    migrates it (the Procfile's release phase)."""
    from bot.store.migrate import current, head, upgrade

    url = parse_database_url(raw_url)
    newest = head()
    try:
        if url.get_backend_name() == "sqlite":
            with _migration_lock(url):
                found = current(url)
                if found != newest:
                    upgrade(url)
                    log.info("database migrated from %s to %s", found or "empty", newest)
            return
        found = current(url)
    except (SQLAlchemyError, NoSuchModuleError, OSError) as error:
        raise _unreachable(url, error) from error
    if found is None:
        raise StartupProblem("DATABASE_URL", f"the database {shown_url(url)} has no schema yet",
                             "run `conductor db upgrade` (the Procfile's release phase) first")
    if found != newest:
        raise StartupProblem("DATABASE_URL", f"the database is at revision {found}, this release needs {newest}",
                             "run `conductor db upgrade` (the Procfile's release phase) first")


# --- workflows ----------------------------------------------------------------------------------
def load_workflows(folder: str) -> Catalog:
    """The workflows folder, loaded; a missing folder or any error in it is a problem (the
    file:line:col of each error follows the one line)."""
    path = Path(folder)
    if not path.exists():
        raise StartupProblem("WORKFLOWS_DIR", f"the folder {folder!r} does not exist",
                             "create it with your workflow files, or point WORKFLOWS_DIR at them")
    if not path.is_dir():
        raise StartupProblem("WORKFLOWS_DIR", f"{folder!r} is a file, not a folder",
                             "point WORKFLOWS_DIR at the folder of workflow files")
    if not os.access(path, os.R_OK | os.X_OK):
        raise StartupProblem("WORKFLOWS_DIR", f"the folder {folder!r} cannot be read", "fix its permissions")
    catalog = load_paths([folder])
    errors = catalog.errors
    if errors:
        raise StartupProblem("WORKFLOWS_DIR", f"{len(errors)} error(s) in the workflows in {folder!r}",
                             "fix them (`conductor validate` lists them) and start again",
                             details=[problem.format() for problem in errors])
    return catalog


# --- Slack --------------------------------------------------------------------------------------
def check_bot_token(settings: Settings, client: WebClient, *, required: bool) -> dict[str, str] | None:
    """`auth.test` with the bot token: who the bot is, or a problem. Without a token, a problem
    only when `required` (a clock alone may keep its messages in the outbox)."""
    if settings.slack_bot_token is None:
        if not required:
            return None
        raise StartupProblem("SLACK_BOT_TOKEN", "not set",
                             "copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page "
                             "(or try Conductor without Slack: `conductor shell`)")
    try:
        with quieted("slack_sdk.web.base_client"):  # the SDK logs its own ERROR line; ours says what to do
            answer = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else "error"
        raise StartupProblem("SLACK_BOT_TOKEN", f"Slack refused the token ({code})",
                             "copy the Bot User OAuth Token (xoxb-…) again from your app's OAuth & Permissions page"
                             ) from error
    except OSError as error:
        raise StartupProblem("SLACK_API_URL", f"cannot reach Slack at {settings.slack_api_url} ({error})",
                             "check the network, or fix SLACK_API_URL (leave it unset for Slack itself)") from error
    return {"user_id": str(answer.get("user_id")), "user": str(answer.get("user")), "team": str(answer.get("team"))}


def check_http_mode(settings: Settings) -> None:
    if settings.slack_signing_secret is None or not settings.slack_signing_secret.get_secret_value():
        raise StartupProblem("SLACK_SIGNING_SECRET", "not set, and HTTP mode needs it to verify Slack's requests",
                             "copy it from your app's Basic Information page, or run `conductor serve --socket` "
                             "with SLACK_APP_TOKEN (no public URL needed)")


def check_socket_mode(settings: Settings) -> str:
    if settings.slack_app_token is None or not settings.slack_app_token.get_secret_value():
        raise StartupProblem("SLACK_APP_TOKEN", "not set, and Socket Mode needs it",
                             "create an app-level token (xapp-…) with connections:write on your app's "
                             "Basic Information page")
    token = settings.slack_app_token.get_secret_value()
    if not token.startswith("xapp-"):
        raise StartupProblem("SLACK_APP_TOKEN", "not an app-level token (those start with xapp-)",
                             "create one with connections:write on your app's Basic Information page")
    return token


def socket_mode_refused(error: Exception) -> StartupProblem:
    code = error.response.get("error") if isinstance(error, SlackApiError) and error.response is not None else error
    return StartupProblem("SLACK_APP_TOKEN", f"Slack refused to open a Socket Mode connection ({code})",
                          "check the app-level token has connections:write and Socket Mode is on for the app")


# --- the port -----------------------------------------------------------------------------------
def port_in_use(port: int, error: OSError) -> StartupProblem:
    if error.errno == errno.EADDRINUSE:
        return StartupProblem("PORT", f"port {port} is in use", "stop the process using it, or set PORT to a free port")
    if error.errno == errno.EACCES:
        return StartupProblem("PORT", f"port {port} needs privileges this process lacks", "set PORT above 1024")
    return StartupProblem("PORT", f"cannot listen on port {port} ({error.strerror or error})", "set PORT to a free port")


def check_port_free(port: int, host: str = "0.0.0.0") -> None:
    """Fail early, before anything starts, if the port cannot be listened on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise port_in_use(port, error) from error

