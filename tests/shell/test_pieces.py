"""The shell's pure pieces: reading `:wait`, filling form fields, showing mrkdwn."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.shell.forms import FieldAnswerError, FormFill, Lookup, element_value
from bot.shell.render import Names, Style, mrkdwn
from bot.shell.timewords import WaitError, wait_target

NOW = datetime(2026, 3, 6, 16, 0, tzinfo=UTC)  # a Friday, 17:00 in Berlin


@pytest.mark.parametrize(("words", "zone", "expected"), [
    ("2h", "UTC", datetime(2026, 3, 6, 18, 0, tzinfo=UTC)),
    ("1d3h", "UTC", datetime(2026, 3, 7, 19, 0, tzinfo=UTC)),
    ("until 09:00", "Europe/Berlin", datetime(2026, 3, 7, 8, 0, tzinfo=UTC)),  # passed today: tomorrow
    ("until 18:30", "Europe/Berlin", datetime(2026, 3, 6, 17, 30, tzinfo=UTC)),
    ("until tomorrow 09:00", "America/New_York", datetime(2026, 3, 7, 14, 0, tzinfo=UTC)),
    ("until monday 09:00 Europe/Berlin", "UTC", datetime(2026, 3, 9, 8, 0, tzinfo=UTC)),
    ("until 2026-03-30 09:00 Europe/Berlin", "UTC", datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),  # summer time
])
def test_wait_targets(words, zone, expected):
    assert wait_target(words, NOW, zone) == expected


@pytest.mark.parametrize("words", ["", "soon", "until 25:00", "until someday 09:00", "until 2026-01-01 09:00",
                                   "until 09:00 Mars/Olympus"])
def test_wait_refuses_what_it_cannot_read(words):
    with pytest.raises(WaitError):
        wait_target(words, NOW, "UTC")


LOOKUP = Lookup(user=lambda n: {"@ana": "UANA"}[n], channel=lambda n: "C1", tz="Europe/Berlin")


def test_fields_are_answered_as_slack_would_send_them():
    number = {"type": "number_input", "action_id": "value", "min_value": "300", "max_value": "5000"}
    assert element_value(number, "1200", LOOKUP, optional=False) == {"type": "number_input", "value": "1200"}
    for wrong, why in [("lots", "type a number"), ("12", "the least allowed is 300"), ("", "required")]:
        with pytest.raises(FieldAnswerError, match=why):
            element_value(number, wrong, LOOKUP, optional=False)
    select = {"type": "static_select", "options": [{"text": {"type": "plain_text", "text": "growth"}, "value": "growth"}]}
    assert element_value(select, "1", LOOKUP, optional=False)["selected_option"]["value"] == "growth"
    assert element_value({"type": "users_select"}, "@ana", LOOKUP, optional=False)["selected_user"] == "UANA"
    assert element_value({"type": "plain_text_input", "multiline": True}, "a\\nb", LOOKUP, optional=False)["value"] == "a\nb"
    stamp = element_value({"type": "datetimepicker"}, "2026-03-02 09:00", LOOKUP, optional=False)["selected_date_time"]
    assert stamp == int(datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp())
    assert element_value({"type": "checkboxes", "options": [{"value": "true"}]}, "", LOOKUP, optional=True) == \
        {"type": "checkboxes", "selected_options": []}


def test_a_refused_form_asks_only_the_refused_fields_again():
    view = {"blocks": [{"type": "input", "block_id": "a", "element": {"type": "plain_text_input", "action_id": "value"},
                        "label": {"type": "plain_text", "text": "A"}},
                       {"type": "input", "block_id": "b", "element": {"type": "plain_text_input", "action_id": "value"},
                        "label": {"type": "plain_text", "text": "B"}}]}
    form = FormFill.open(view)
    form.answer("one", LOOKUP)
    form.answer("two", LOOKUP)
    assert form.done and form.values["b"]["value"]["value"] == "two"
    form.refused({"b": "too short"})
    assert not form.done and form.current()["block_id"] == "b"
    assert "too short" in "\n".join(form.prompt_lines(Names(str, str), Style()))


def test_mrkdwn_reads_like_slack_shows_it():
    names = Names(user={"U1": "maria"}.get, channel={"C1": "content"}.get, group=lambda g: f"{g} (@a, @b)")
    shown = mrkdwn("*Hi* <@U1>, see <#C1> and <https://x.example|the doc> &amp; <!subteam^S1> :tada:\n&gt; quoted",
                   names, Style())
    assert shown == "Hi @maria, see #content and the doc (https://x.example) & @S1 (@a, @b) 🎉\n│ quoted"
    assert "\033[1m" in mrkdwn("*Hi*", names, Style(color=True))
