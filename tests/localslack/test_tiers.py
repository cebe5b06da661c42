"""Slack's per-method rate-limit tiers, when asked for: a minute's worth in a burst, then 429
`ratelimited` with Retry-After, per method; chat.postMessage keeps its own per-channel limit."""

from __future__ import annotations

import time

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.localslack import METHOD_TIERS, TIER_PER_MINUTE, per_minute
from tests.fakeslack import FakeSlack
from tests.localslack import client_for

USERS = {"U01ANA": {"real_name": "Ana Lima"}}
GROUPS = {"S01": ["U01ANA"]}
SCOPES = {"users:read", "usergroups:read", "chat:write", "channels:history"}


def until_refused(call, most: int = 500) -> tuple[int, float, SlackApiError]:
    """Call until Slack answers 429: the calls answered before, the seconds that took, the 429.
    A bucket refills while a test calls, so a test allows `seconds * rate` calls more."""
    started = time.monotonic()
    for answered in range(most):
        try:
            call()
        except SlackApiError as refused:
            assert refused.response.status_code == 429 and refused.response["error"] == "ratelimited"
            return answered, time.monotonic() - started, refused
    raise AssertionError(f"{most} calls and never refused")


def test_the_published_table():
    assert TIER_PER_MINUTE == {1: 1, 2: 20, 3: 50, 4: 100}
    expected = {
        "users.list": 20, "users.info": 100, "usergroups.list": 20, "usergroups.users.list": 20,
        "conversations.list": 20, "conversations.info": 50, "conversations.history": 50,
        "conversations.replies": 50, "conversations.open": 50, "conversations.join": 50,
        "chat.update": 50, "chat.postEphemeral": 100, "reactions.add": 50,
        "views.open": 100, "views.update": 100, "views.publish": 100,
    }
    assert {m: per_minute(m) for m in METHOD_TIERS} == expected
    for unlimited in ("auth.test", "apps.connections.open", "chat.postMessage"):
        assert per_minute(unlimited) is None
    assert per_minute("users.info", {"users.info": 10}) == 10
    assert per_minute("users.info", False) is None


def test_tiers_are_off_unless_asked_for():
    with FakeSlack(users=USERS, scopes=SCOPES) as fake:
        client = client_for(fake)
        for _ in range(25):
            client.users_list()
        assert fake.ratelimited_count == 0 and fake.per_minute("users.list") is None


def test_a_method_gets_a_minutes_worth_in_a_burst_then_429_with_retry_after():
    with FakeSlack(users=USERS, groups=GROUPS, scopes=SCOPES, tiers=True) as fake:
        client = client_for(fake)
        assert fake.per_minute("users.list") == 20
        answered, seconds, refused = until_refused(client.users_list)
        assert 20 <= answered <= 20 + seconds * 20 / 60 + 1
        retry_after = refused.response.headers["Retry-After"]
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
        assert fake.ratelimited_count == 1 and fake.calls[-1].status == 429
        # Per method: the others still have their own minute.
        assert client.users_info(user="U01ANA")["ok"]
        assert client.usergroups_list()["ok"]
        assert client.auth_test()["ok"]


def test_unlimited_methods_and_chat_post_message_keep_their_own_limit():
    with FakeSlack(scopes=SCOPES, tiers=True, rate=1.0, burst=1) as fake:
        client = client_for(fake)
        for _ in range(120):
            client.auth_test()
        answered, seconds, _ = until_refused(lambda: client.chat_postMessage(channel="#a", text="x"))
        assert 2 <= answered <= 2 + seconds * 1 + 1  # 1 a second per channel, plus the burst
        assert client.chat_postMessage(channel="#b", text="elsewhere")["ok"]  # per channel
        cid = fake.channel_id("#a")
        answered, seconds, _ = until_refused(lambda: client.conversations_history(channel=cid))
        assert 50 <= answered <= 50 + seconds * 50 / 60 + 1
        assert fake.ratelimited_count == 2


def test_a_mapping_overrides_and_adds():
    tiers = {"users.info": 2, "auth.test": 3}
    with FakeSlack(users=USERS, scopes=SCOPES, tiers=tiers) as fake:
        client = client_for(fake)
        assert fake.per_minute("users.info") == 2 and fake.per_minute("auth.test") == 3
        assert fake.per_minute("users.list") == 20  # the published table still applies
        answered, seconds, _ = until_refused(lambda: client.users_info(user="U01ANA"))
        assert 2 <= answered <= 2 + seconds * 2 / 60 + 1
        answered, seconds, refused = until_refused(client.auth_test)
        assert 3 <= answered <= 3 + seconds * 3 / 60 + 1
        # A call every 20 s, just spent: the wait is what is left of those 20 s.
        assert 20 - seconds - 1 <= int(refused.response.headers["Retry-After"]) <= 20


def test_a_client_that_waits_retry_after_gets_through():
    # 60 a minute refills one call a second: Retry-After 1, and after it the call is answered.
    with FakeSlack(users=USERS, scopes=SCOPES, tiers={"users.info": 60}) as fake:
        _, _, refused = until_refused(lambda: client_for(fake).users_info(user="U01ANA"))
        assert refused.response.headers["Retry-After"] == "1"
        patient = client_for(fake, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
        assert patient.users_info(user="U01ANA")["ok"]
        assert fake.calls[-1].status == 200
