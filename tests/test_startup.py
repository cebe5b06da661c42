"""Start-up problems as an operator meets them: `conductor serve` / `clock` as real processes,
each problem one line naming the setting and the fix, exit status 2, no traceback; and the
embedded SQLite default bringing its own schema up to date, also when two processes start
at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.migrate import current, downgrade, head
from tests.fakeslack import FakeSlack
from tests.slack.signed import SIGNING_SECRET

BROKEN = "id: broken\nsteps:\n  - id: a\n    uses: conductor/nothing\n  - id: a\n    ask: nobody\n"


def conductor(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, list[str], str]:
    """Run `conductor ARGS`; returns (exit status, its `conductor:` lines, all of standard error)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT", "LOG_"))}
    done = subprocess.run([sys.executable, "-m", "bot.cli", *args], env={**base, **env}, capture_output=True,
                          text=True, timeout=timeout)
    return done.returncode, [line for line in done.stderr.splitlines() if line.startswith("conductor: ")], done.stderr


@pytest.fixture
def slack():
    with FakeSlack(token="xoxb-test") as fake:
        yield fake


@pytest.fixture
def base_env(tmp_path: Path, slack: FakeSlack) -> dict[str, str]:
    folder = tmp_path / "wf"
    folder.mkdir()
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "WORKFLOWS_DIR": str(folder),
            "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.url, "PORT": str(_free_port())}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _one_line(result: tuple[int, list[str], str], starts: str, *needles: str) -> str:
    status, lines, stderr = result
    assert status == 2, stderr
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    line = lines[0]
    assert line.startswith(f"conductor: {starts}"), line
    for needle in needles:
        assert needle in line, line
    return line


def test_missing_bot_token(base_env):
    env = {k: v for k, v in base_env.items() if k != "SLACK_BOT_TOKEN"}
    _one_line(conductor(["serve"], env), "SLACK_BOT_TOKEN: not set", "OAuth & Permissions")


def test_token_slack_refuses(base_env):
    _one_line(conductor(["serve"], {**base_env, "SLACK_BOT_TOKEN": "xoxb-revoked"}),
              "SLACK_BOT_TOKEN: Slack refused the token (invalid_auth)")


def test_slack_unreachable(base_env):
    _one_line(conductor(["serve"], {**base_env, "SLACK_API_URL": f"http://127.0.0.1:{_free_port()}/api/"}),
              "SLACK_API_URL: cannot reach Slack")


def test_missing_signing_secret_in_http_mode(base_env):
    env = {k: v for k, v in base_env.items() if k != "SLACK_SIGNING_SECRET"}
    _one_line(conductor(["serve"], env), "SLACK_SIGNING_SECRET: not set", "--socket")


def test_socket_mode_without_app_token(base_env):
    _one_line(conductor(["serve", "--socket"], base_env), "SLACK_APP_TOKEN: not set")


@pytest.mark.parametrize("url", ["nonsense", "mysql://root@localhost/db"])
def test_unreadable_database_url(base_env, url):
    _one_line(conductor(["serve"], {**base_env, "DATABASE_URL": url}), "DATABASE_URL: ")


def test_unreachable_database(base_env):
    url = f"postgresql://conductor:hunter2@127.0.0.1:{_free_port()}/conductor"
    line = _one_line(conductor(["serve"], {**base_env, "DATABASE_URL": url}), "DATABASE_URL: cannot connect",
                     "start the database")
    assert "hunter2" not in line


def test_sqlite_file_in_a_missing_folder(base_env, tmp_path):
    _one_line(conductor(["serve"], {**base_env, "DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'c.db'}"}),
              "DATABASE_URL: the folder of the SQLite file")


def test_port_in_use(base_env):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _one_line(conductor(["serve"], {**base_env, "PORT": str(port)}), f"PORT: port {port} is in use")


def test_missing_workflows_folder(base_env, tmp_path):
    _one_line(conductor(["serve"], {**base_env, "WORKFLOWS_DIR": str(tmp_path / "nowhere")}),
              "WORKFLOWS_DIR: the folder")


def test_workflows_with_errors_list_their_places(base_env):
    Path(base_env["WORKFLOWS_DIR"], "broken.yaml").write_text(BROKEN)
    status, lines, stderr = conductor(["clock"], base_env)
    assert status == 2 and len(lines) == 1 and "Traceback" not in stderr
    assert lines[0].startswith("conductor: WORKFLOWS_DIR: ")
    places = [line.strip() for line in stderr.splitlines() if line.startswith("  ")]
    assert places and all(":" in place and "broken.yaml:" in place for place in places), stderr


@pytest.mark.parametrize(("name", "value"), [("PORT", "eighty"), ("LOG_LEVEL", "loud")])
def test_an_invalid_setting(base_env, name, value):
    _one_line(conductor(["serve"], {**base_env, name: value}), f"{name}: the value")


def test_debug_shows_the_traceback(base_env):
    env = {k: v for k, v in base_env.items() if k != "SLACK_SIGNING_SECRET"}
    status, _, stderr = conductor(["--debug", "serve"], env)
    assert status != 0 and "Traceback" in stderr and "StartupProblem" in stderr


@pytest.mark.postgres
def test_postgres_behind_is_refused_with_the_command(base_env, migrated_db_url):
    if not migrated_db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite migrates itself")
    downgrade(migrated_db_url, "0003")
    _one_line(conductor(["serve"], {**base_env, "DATABASE_URL": migrated_db_url}),
              "DATABASE_URL: the database is at revision 0003", "conductor db upgrade")
    assert current(migrated_db_url) == "0003"  # refused, not migrated behind the operator's back


def test_two_processes_bring_a_new_sqlite_file_to_head_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'both.db'}"
    code = "import sys; from bot.preflight import ensure_schema; ensure_schema(sys.argv[1])"
    processes = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True)
                 for _ in range(3)]
    outputs = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert current(url) == head()


def test_an_older_sqlite_file_is_brought_up_to_date(tmp_path):
    from bot.preflight import ensure_schema
    from bot.store.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0002")
    ensure_schema(url)
    assert current(url) == head()
