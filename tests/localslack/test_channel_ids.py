"""Methods that take only conversation ids, as Slack's do."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeslack import FakeSlack
from tests.localslack import client_for, error_of

USERS = {"U01ANA": {"real_name": "Ana Lima"}}
SCOPES = {"chat:write", "channels:history", "im:history", "im:write", "channels:read", "reactions:write"}


@pytest.fixture
def fast() -> Iterator[FakeSlack]:
    with FakeSlack(users=USERS, scopes=SCOPES, rate=1000, burst=1000) as fake:
        yield fake


def test_methods_that_take_only_channel_ids_refuse_names(fast: FakeSlack):
    """Slack takes `#name` (and a user id, for the DM) only in chat.postMessage and
    chat.postEphemeral; history, replies, update, reactions and info want the id."""
    client = client_for(fast)
    posted = client.chat_postMessage(channel="#ops", text="pending")
    cid, ts = posted["channel"], posted["ts"]
    assert client.chat_postEphemeral(channel="#ops", user="U01ANA", text="psst")["ok"]
    dm = client.chat_postMessage(channel="U01ANA", text="hi")["channel"]
    assert dm.startswith("D") and client.conversations_history(channel=dm)["messages"][0]["text"] == "hi"
    fast.add_channel("#declared")
    calls = {
        "conversations.history": {},
        "conversations.replies": {"ts": ts},
        "chat.update": {"ts": ts, "text": "x"},
        "reactions.add": {"timestamp": ts, "name": "eyes"},
        "conversations.info": {},
    }
    for method, params in calls.items():
        for name in ("#ops", "ops", "#declared", "declared", "U01ANA"):
            answer = error_of(lambda m=method, p=params, n=name: client.api_call(m, json={**p, "channel": n}))
            assert answer.response["error"] == "channel_not_found", (method, name)
    assert client.conversations_history(channel=cid)["messages"][0]["text"] == "pending"
    assert client.conversations_replies(channel=cid, ts=ts)["messages"][0]["ts"] == ts
    assert client.chat_update(channel=cid, ts=ts, text="done")["ok"]
    assert client.reactions_add(channel=cid, timestamp=ts, name="eyes")["ok"]
    assert client.conversations_info(channel=cid)["channel"]["id"] == cid
    assert fast.messages("#ops")[0]["text"] == "done"
