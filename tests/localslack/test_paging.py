"""conversations.history and conversations.replies page as Slack's do: limit, cursor, oldest,
latest, inclusive, has_more and next_cursor."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeslack import FakeSlack
from tests.localslack import client_for, error_of

SCOPES = {"chat:write", "channels:history"}


@pytest.fixture
def fast() -> Iterator[FakeSlack]:
    with FakeSlack(scopes=SCOPES, rate=1000, burst=1000) as fake:
        yield fake


def post(fake: FakeSlack, count: int, thread_ts: str | None = None, start: int = 0) -> list[str]:
    client = client_for(fake)
    found = []
    for n in range(start, start + count):
        found.append(client.chat_postMessage(channel="#busy", text=f"m{n}", thread_ts=thread_ts)["ts"])
    return found


def read_all(call, **params) -> tuple[list[str], list[dict]]:
    """Every page of `call` (texts in order), following next_cursor; and each page's answer."""
    texts, pages, cursor = [], [], ""
    while True:
        page = call(**params, **({"cursor": cursor} if cursor else {})).data
        pages.append(page)
        texts += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert bool(cursor) == page["has_more"]
        if not cursor:
            return texts, pages


def test_history_pages_newest_first_with_a_default_of_100(fast: FakeSlack):
    post(fast, 250)
    client, cid = client_for(fast), fast.channel_id("#busy")
    texts, pages = read_all(client.conversations_history, channel=cid)
    assert [len(p["messages"]) for p in pages] == [100, 100, 50]
    assert texts == [f"m{n}" for n in reversed(range(250))]
    assert pages[-1]["has_more"] is False and pages[-1]["response_metadata"]["next_cursor"] == ""
    assert len(client.conversations_history(channel=cid, limit=1000)["messages"]) == 250
    first = client.conversations_history(channel=cid, limit=1)
    assert [m["text"] for m in first["messages"]] == ["m249"] and first["has_more"] is True


def test_history_limit_and_cursor_are_checked(fast: FakeSlack):
    post(fast, 2)
    client, cid = client_for(fast), fast.channel_id("#busy")
    for limit in (0, -1, 1001, "many"):
        answer = error_of(lambda n=limit: client.api_call("conversations.history",
                                                          params={"channel": cid, "limit": n}))
        assert answer.response["error"] == "invalid_limit", limit
    for method, extra in (("conversations.history", {}), ("conversations.replies", {"ts": "1.0"})):
        answer = error_of(lambda m=method, e=extra: client.api_call(
            m, params={"channel": cid, "cursor": "not-a-cursor", **e}))
        assert answer.response["error"] == "invalid_cursor"
    for name in ("oldest", "latest"):
        answer = error_of(lambda k=name: client.api_call("conversations.history",
                                                         params={"channel": cid, k: "soon"}))
        assert answer.response["error"] == f"invalid_ts_{name}"


def test_a_cursor_holds_its_place_while_messages_arrive(fast: FakeSlack):
    post(fast, 30)
    client, cid = client_for(fast), fast.channel_id("#busy")
    first = client.conversations_history(channel=cid, limit=10)
    post(fast, 5, start=30)  # newer than the whole first page
    second = client.conversations_history(channel=cid, limit=10, cursor=first["response_metadata"]["next_cursor"])
    assert [m["text"] for m in second["messages"]] == [f"m{n}" for n in range(19, 9, -1)]


def test_slack_sdk_iterates_the_pages(fast: FakeSlack):
    post(fast, 45)
    answer = client_for(fast).conversations_history(channel=fast.channel_id("#busy"), limit=20)
    # slack_sdk's SlackResponse follows next_cursor in place: read each page as it comes.
    assert [len(page["messages"]) for page in answer] == [20, 20, 5]


def test_oldest_and_latest_are_exclusive_unless_inclusive(fast: FakeSlack):
    ts = post(fast, 8)
    client, cid = client_for(fast), fast.channel_id("#busy")

    def texts(**window) -> list[str]:
        return [m["text"] for m in client.conversations_history(channel=cid, **window)["messages"]]

    assert texts(oldest=ts[2], latest=ts[5]) == ["m4", "m3"]
    assert texts(oldest=ts[2], latest=ts[5], inclusive=True) == ["m5", "m4", "m3", "m2"]
    assert texts(oldest=ts[6]) == ["m7"]
    assert texts(latest=ts[1]) == ["m0"]
    assert texts(latest=ts[1], inclusive="true") == ["m1", "m0"]
    paged, _ = read_all(client.conversations_history, channel=cid, oldest=ts[0], latest=ts[7], limit=2)
    assert paged == ["m6", "m5", "m4", "m3", "m2", "m1"]


def test_replies_open_every_page_with_the_parent_then_run_oldest_first(fast: FakeSlack):
    client = client_for(fast)
    parent = client.chat_postMessage(channel="#busy", text="parent")
    cid, thread = parent["channel"], parent["ts"]
    replies = post(fast, 150, thread_ts=thread)
    texts, pages = read_all(client.conversations_replies, channel=cid, ts=thread)
    assert [len(p["messages"]) for p in pages] == [101, 51]
    assert all(p["messages"][0]["ts"] == thread for p in pages)
    assert [t for t in texts if t != "parent"] == [f"m{n}" for n in range(150)]
    assert [m["text"] for m in client.conversations_history(channel=cid)["messages"]] == ["parent"]

    def window(**params) -> list[str]:
        answer = client.conversations_replies(channel=cid, ts=thread, **params)
        return [m["text"] for m in answer["messages"]]

    assert window(oldest=replies[147]) == ["parent", "m148", "m149"]
    assert window(oldest=replies[147], inclusive=True) == ["parent", "m147", "m148", "m149"]
    assert window(oldest=replies[2], latest=replies[4]) == ["parent", "m3"]
    assert window(oldest=replies[-1]) == ["parent"]  # nothing newer: the parent alone
    paged, _ = read_all(client.conversations_replies, channel=cid, ts=thread, oldest=replies[139], limit=4)
    assert [t for t in paged if t != "parent"] == [f"m{n}" for n in range(140, 150)]
    assert error_of(lambda: client.conversations_replies(channel=cid, ts="1.000001")).response[
        "error"] == "thread_not_found"
