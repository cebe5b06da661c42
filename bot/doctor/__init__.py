"""`conductor doctor`: checks the Slack workspace and the deployment before the team meets the
bot, one line per check (ok, or the problem and its fix).

    check.py       the result of a check          report.py     how it is printed (pure)
    text.py        every word it prints           needs.py      what the workflows name (pure)
    scopes.py      the scopes needed, and why     slack_api.py  Web API calls that never raise
    slack_app.py   tokens and signing secret      workspace.py  channels, people, user groups
    deployment.py  workflows, escalation, secrets database.py   revision and clock
    run.py         all of them, in order
"""

from bot.doctor.run import run_doctor

__all__ = ["run_doctor"]
