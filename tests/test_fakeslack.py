"""The fake Slack Web API, driven by the real slack_sdk client."""

from __future__ import annotations

import json
import threading
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.localslack.scopes import manifest_scopes
from tests.fakeslack import FakeSlack, fake_slack  # noqa: F401 (fixture)

USERS = {
    "U01ANA": {"real_name": "Ana Lima", "tz": "America/Sao_Paulo"},
    "U02BEN": {"real_name": "Ben Okafor", "tz": "UTC"},
}
GROUPS = {"S01WRITERS": ["U01ANA", "U02BEN"]}
# What the manifest asks for, and what these tests call besides.
SCOPES = manifest_scopes() | {"channels:read", "groups:read", "im:read", "reactions:write", "channels:join"}


def client_for(fake: FakeSlack, token: str | None = "xoxb-test", **kwargs) -> WebClient:
    return WebClient(token=token, base_url=fake.url, **kwargs)


def error_of(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


@pytest.fixture
def fast() -> FakeSlack:
    """A fake whose rate limits never get in the way."""
    with FakeSlack(users=USERS, groups=GROUPS, rate=1000, burst=1000, scopes=SCOPES) as fake:
        yield fake


def test_records_calls_with_headers_and_decoded_params(fast: FakeSlack):
    client = client_for(fast)
    answer = client.auth_test()
    assert answer["user_id"] == fast.bot_user_id and answer["bot_id"] == fast.bot_id
    assert answer["team_id"] == fast.team_id
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    client.chat_postMessage(channel="#general", text="hi", blocks=blocks)  # JSON body
    client.api_call(  # form body, blocks as a JSON string
        "chat.postMessage", params={"channel": "#general", "text": "yo", "blocks": json.dumps(blocks)}
    )
    assert [c.method for c in fast.calls] == ["auth.test", "chat.postMessage", "chat.postMessage"]
    json_call, form_call = fast.calls_to("chat.postMessage")
    assert json_call.params["blocks"] == form_call.params["blocks"] == blocks
    assert form_call.params["text"] == "yo"
    assert json_call.headers["authorization"] == "Bearer xoxb-test"
    assert fast.calls[0].at <= json_call.at <= form_call.at
    assert [c.status for c in fast.calls] == [200, 200, 200]
    assert fast.messages("#general")[0]["blocks"] == blocks


def test_auth_and_unknown_methods(fast: FakeSlack):
    assert error_of(client_for(fast, token=None).auth_test).response["error"] == "not_authed"
    assert error_of(client_for(fast, "xoxp-user").auth_test).response["error"] == "invalid_auth"
    unknown = error_of(lambda: client_for(fast).api_call("chat.teleport"))
    assert unknown.response.status_code == 200 and unknown.response["error"] == "unknown_method"
    with FakeSlack(token="xoxb-right") as strict:
        assert client_for(strict, "xoxb-right").auth_test()["ok"]
        assert error_of(client_for(strict).auth_test).response["error"] == "invalid_auth"


def test_channels_ts_messages_and_threads(fast: FakeSlack):
    client = client_for(fast)
    first = client.chat_postMessage(channel="#general", text="one")
    cid = first["channel"]
    assert cid.startswith("C") and cid == fast.channel_id("#general") == fast.channel_id("general")
    assert client.chat_postMessage(channel="#random", text="x")["channel"] not in (cid,)
    reply = client.chat_postMessage(channel=cid, text="two", thread_ts=first["ts"])
    client.chat_postMessage(channel="#general", text="three")
    timestamps = [c["ts"] for c in fast.messages(cid)]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == 3
    assert all(len(ts) == 17 and ts[10] == "." for ts in timestamps)
    assert float(first["ts"]) == pytest.approx(time.time(), abs=60)
    assert first["message"]["text"] == "one" and first["message"]["user"] == fast.bot_user_id
    assert [m["text"] for m in fast.messages("#general")] == ["one", "two", "three"]
    thread = fast.thread("#general", first["ts"])
    assert [m["text"] for m in thread] == ["one", "two"] and thread[1]["ts"] == reply["ts"]
    assert thread[0]["reply_count"] == 1
    # Posting to a user id goes to the DM that conversations.open gives.
    dm = client.conversations_open(users="U01ANA")["channel"]["id"]
    assert dm.startswith("D") and client.chat_postMessage(channel="U01ANA", text="hi")["channel"] == dm
    assert fast.messages(dm)[0]["text"] == "hi"
    assert client.conversations_info(channel=dm)["channel"]["user"] == "U01ANA"
    assert client.conversations_info(channel=cid)["channel"]["name"] == "general"
    assert error_of(lambda: client.conversations_info(channel="C0NOPE")).response["error"] == (
        "channel_not_found"
    )


def test_updates_and_reactions_apply_in_place(fast: FakeSlack):
    client = client_for(fast)
    posted = client.chat_postMessage(channel="#ops", text="pending")
    updated = client.chat_update(channel=posted["channel"], ts=posted["ts"], text="done")
    assert updated["ts"] == posted["ts"] and updated["message"]["text"] == "done"
    client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="white_check_mark")
    (message,) = fast.messages("#ops")
    assert message["text"] == "done" and "edited" in message
    assert message["reactions"][0]["name"] == "white_check_mark"
    elsewhere = client.chat_postMessage(channel="#elsewhere", text="x")["channel"]
    for channel, ts in [(posted["channel"], "1.000000"), (elsewhere, posted["ts"])]:
        error = error_of(lambda c=channel, t=ts: client.chat_update(channel=c, ts=t, text="x"))
        assert error.response["error"] == "message_not_found"
    ephemeral = client.chat_postEphemeral(channel="#ops", user="U01ANA", text="psst")
    assert ephemeral["message_ts"] > posted["ts"] and len(fast.messages("#ops")) == 1


def test_validation_like_slack(fast: FakeSlack):
    client = client_for(fast)

    def error(method: str, **params) -> str:
        return error_of(lambda: client.api_call(method, json=params)).response["error"]

    assert error("chat.postMessage", text="no channel") == "channel_not_found"
    assert error("chat.postMessage", channel="#a") == "no_text"
    section = {"type": "section", "text": {"type": "plain_text", "text": "x"}}
    assert error("chat.postMessage", channel="#a", text="x", blocks=[section] * 51) == (
        "invalid_blocks"
    )
    assert client.chat_postMessage(channel="#a", text="x", blocks=[section] * 50)["ok"]
    assert error("chat.postMessage", channel="#a", text="x" * 40_001) == "msg_too_long"
    view = {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": []}
    assert error("views.open", trigger_id="t1", view=view) == "invalid_arguments"
    view["title"]["text"] = "x" * 24
    opened = client.views_open(trigger_id="t1", view=view)["view"]
    assert opened["id"].startswith("V") and opened["title"]["text"] == "x" * 24
    view["title"]["text"] = "Updated"
    updated = client.views_update(view_id=opened["id"], view=view)["view"]
    assert updated["id"] == opened["id"] and fast.view(opened["id"])["title"]["text"] == "Updated"
    home = client.views_publish(user_id="U01ANA", view={"type": "home", "blocks": []})["view"]
    assert home["id"].startswith("V") and home["id"] != opened["id"]
    assert error("views.update", view_id="V0NOPE", view=view) == "not_found"


def test_users_and_groups_directory(fast: FakeSlack):
    client = client_for(fast)
    ana = client.users_info(user="U01ANA")["user"]
    assert ana["real_name"] == "Ana Lima" and ana["tz"] == "America/Sao_Paulo"
    assert ana["tz_offset"] == -3 * 3600
    assert client.users_info(user="U02BEN")["user"]["tz_offset"] == 0
    assert error_of(lambda: client.users_info(user="U0NOPE")).response["error"] == "user_not_found"
    assert client.usergroups_users_list(usergroup="S01WRITERS")["users"] == ["U01ANA", "U02BEN"]
    fast.groups["S02NEW"] = ["U02BEN"]
    assert client.usergroups_users_list(usergroup="S02NEW")["users"] == ["U02BEN"]
    error = error_of(lambda: client.usergroups_users_list(usergroup="S0NOPE"))
    assert error.response["error"] == "no_such_subteam"


def test_rate_limit_per_channel_with_retry_after():
    with FakeSlack(burst=0) as fake:
        client = client_for(fake)
        client.chat_postMessage(channel="#a", text="1")
        limited = error_of(lambda: client.chat_postMessage(channel="#a", text="2"))
        assert limited.response.status_code == 429 and limited.response["error"] == "ratelimited"
        assert limited.response.headers["Retry-After"] == "1"
        assert client.chat_postMessage(channel="#b", text="other channel")["ok"]
        # The SDK's handler waits Retry-After seconds, then the retry goes through.
        patient = client_for(fake, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
        patient.chat_postMessage(channel="#a", text="3")
        posts = [c for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "#a"]
        assert [c.status for c in posts] == [200, 429, 429, 200]
        assert posts[3].at - posts[2].at >= 1.0 and posts[3].at - posts[0].at >= 1.0
        assert [m["text"] for m in fake.messages("#a")] == ["1", "3"]
        assert fake.ratelimited_count == 2


def test_default_burst_and_workspace_limit():
    with FakeSlack() as fake:
        client = client_for(fake)
        client.chat_postMessage(channel="#a", text="1")
        client.chat_postMessage(channel="#a", text="2")  # the burst allowance
        assert error_of(lambda: client.chat_postMessage(channel="#a", text="3")).response[
            "error"
        ] == "ratelimited"
    with FakeSlack(workspace_rate=2) as fake:
        client = client_for(fake)
        client.chat_postMessage(channel="#a", text="1")
        client.chat_postMessage(channel="#b", text="2")
        assert error_of(lambda: client.chat_postMessage(channel="#c", text="3")).response[
            "error"
        ] == "ratelimited"
        assert fake.ratelimited_count == 1


def test_failure_injection_and_downtime(fast: FakeSlack):
    client = client_for(fast)
    fast.fail_next("auth.test", times=2)
    for _ in range(2):
        assert error_of(client.auth_test).response.status_code == 500
    assert client.auth_test()["ok"]
    fast.fail_next("chat.postMessage", status=200, error="is_archived")
    assert client.users_info(user="U01ANA")["ok"]  # other methods are unaffected
    failed = error_of(lambda: client.chat_postMessage(channel="#a", text="x"))
    assert failed.response.status_code == 200 and failed.response["error"] == "is_archived"
    fast.set_down(True)
    assert error_of(client.auth_test).response.status_code == 503
    assert error_of(lambda: client.users_info(user="U01ANA")).response.status_code == 503
    fast.set_down(False)
    assert client.auth_test()["ok"]
    assert [c.status for c in fast.calls_to("auth.test")] == [500, 500, 200, 503, 200]


def test_a_hanging_call_does_not_block_others(fast: FakeSlack):
    fast.hang_next("users.info", 1.0)
    answers = {}

    def slow() -> None:
        start = time.monotonic()
        answers["user"] = client_for(fast).users_info(user="U01ANA")["user"]["id"]
        answers["took"] = time.monotonic() - start

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.1)
    start = time.monotonic()
    assert client_for(fast).auth_test()["ok"]
    assert client_for(fast).users_info(user="U02BEN")["ok"]  # only the next call hangs
    assert time.monotonic() - start < 0.5 and worker.is_alive()
    worker.join(timeout=5)
    assert answers["user"] == "U01ANA" and answers["took"] >= 1.0


def test_close_releases_hangs_and_restarts_cleanly():
    for _ in range(5):
        with FakeSlack() as fake:
            assert client_for(fake).auth_test()["ok"]
    fake = FakeSlack().start()
    fake.hang_next("auth.test", 30)
    answers = []
    worker = threading.Thread(target=lambda: answers.append(client_for(fake).auth_test()["ok"]))
    worker.start()
    time.sleep(0.1)
    start = time.monotonic()
    fake.close()
    fake.close()
    worker.join(timeout=5)
    assert time.monotonic() - start < 2 and not worker.is_alive()
    assert answers == [True]  # answered at once instead of after 30 s
    with pytest.raises(RuntimeError):
        _ = fake.url


def test_fixture_gives_a_running_fake(fake_slack: FakeSlack):  # noqa: F811
    assert client_for(fake_slack).auth_test()["ok"]
    assert fake_slack.url.startswith("http://127.0.0.1:") and fake_slack.url.endswith("/api/")


def test_scopes_granted_are_in_every_answer_and_missing_ones_refused():
    with FakeSlack() as fake:  # grants what the manifest asks for
        answer = client_for(fake).auth_test()
        assert set(answer.headers["x-oauth-scopes"].split(",")) == set(manifest_scopes())
        assert "usergroups:read" in manifest_scopes()
        refused = error_of(lambda: client_for(fake).reactions_add(channel="C1", timestamp="1.0", name="x"))
        assert refused.response["error"] == "missing_scope"
        assert refused.response["needed"] == "reactions:write"
        assert refused.response.headers["x-oauth-scopes"] == answer.headers["x-oauth-scopes"]
    with FakeSlack(scopes={"chat:write"}, groups=GROUPS) as fake:
        client = client_for(fake)
        assert client.auth_test().headers["x-oauth-scopes"] == "chat:write"
        assert client.chat_postMessage(channel="#a", text="x")["ok"]
        for call in (lambda: client.usergroups_list(), lambda: client.users_info(user="U01ANA"),
                     lambda: client.conversations_open(users="U01ANA")):
            assert error_of(call).response["error"] == "missing_scope"
        fake.scopes.add("usergroups:read")  # granted later, as by reinstalling the app
        assert client.usergroups_list()["ok"]


def test_declared_channels_are_listed_in_pages_with_membership(fast: FakeSlack):
    client = client_for(fast)
    for n in range(5):
        fast.add_channel(f"c{n}", member=n % 2 == 0)
    fast.add_channel("#secret", private=True, member=False)
    fast.add_channel("#team-only", private=True)
    fast.add_channel("old", archived=True)
    fast.scopes.discard("groups:read")
    assert error_of(lambda: client.conversations_list(types="public_channel,private_channel")).response[
        "needed"] == "groups:read"
    fast.scopes.add("groups:read")
    seen, cursor, pages = [], None, 0
    while True:
        page = client.conversations_list(types="public_channel,private_channel", limit=2, cursor=cursor)
        seen += page["channels"]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    names = [c["name"] for c in seen]
    assert names == ["c0", "c1", "c2", "c3", "c4", "team-only", "old"] and pages == 4
    assert [c["is_member"] for c in seen[:5]] == [True, False, True, False, True]
    assert seen[5]["is_private"] and seen[6]["is_archived"]
    public = client.conversations_list(exclude_archived=True)["channels"]
    assert [c["name"] for c in public] == ["c0", "c1", "c2", "c3", "c4"]
    assert error_of(lambda: client.conversations_list(cursor="nonsense")).response["error"] == "invalid_cursor"
    # Posting by name finds the declared channel; a channel posted to first is one the bot is in.
    assert client.chat_postMessage(channel="#c0", text="hi")["channel"] == fast.channel_id("c0")
    posted = client.chat_postMessage(channel="#new", text="hi")["channel"]
    assert client.conversations_info(channel=posted)["channel"]["is_member"]


def test_info_join_and_posting_follow_membership(fast: FakeSlack):
    client = client_for(fast)
    public = fast.add_channel("#outside", member=False)
    private = fast.add_channel("#hidden", private=True, member=False)
    archived = fast.add_channel("#gone", archived=True)
    assert client.conversations_info(channel=public)["channel"]["is_member"] is False
    assert error_of(lambda: client.conversations_info(channel=private)).response["error"] == (
        "channel_not_found")
    assert client.chat_postMessage(channel="#outside", text="with chat:write.public")["ok"]
    fast.scopes.discard("chat:write.public")
    assert error_of(lambda: client.chat_postMessage(channel=public, text="x")).response["error"] == (
        "not_in_channel")
    assert error_of(lambda: client.chat_postMessage(channel=private, text="x")).response["error"] == (
        "channel_not_found")
    assert error_of(lambda: client.chat_postMessage(channel=archived, text="x")).response["error"] == (
        "is_archived")
    joined = client.conversations_join(channel=public)
    assert joined["channel"]["is_member"] and "warning" not in joined
    assert client.conversations_join(channel=public)["warning"] == "already_in_channel"
    assert client.chat_postMessage(channel=public, text="member now")["ok"]
    assert error_of(lambda: client.conversations_join(channel=private)).response["error"] == (
        "channel_not_found")
    assert error_of(lambda: client.conversations_join(channel=archived)).response["error"] == "is_archived"
    fast.scopes.discard("channels:join")
    assert error_of(lambda: client.conversations_join(channel=public)).response["needed"] == "channels:join"


def test_user_groups_are_listed(fast: FakeSlack):
    fast.group_handles["S01WRITERS"] = "writers"
    groups = client_for(fast).usergroups_list(include_users=True)["usergroups"]
    assert groups == [{"id": "S01WRITERS", "team_id": fast.team_id, "is_usergroup": True,
                       "name": "writers", "handle": "writers", "date_delete": 0, "user_count": 2,
                       "users": ["U01ANA", "U02BEN"]}]
    assert "users" not in client_for(fast).usergroups_list()["usergroups"][0]


def test_auth_test_names_the_team_and_the_bot():
    with FakeSlack(team_id="T0001", team_name="Acme", bot_user_id="U0BOT", bot_name="conductor") as fake:
        answer = client_for(fake).auth_test()
        assert (answer["team"], answer["team_id"], answer["user"], answer["user_id"]) == (
            "Acme", "T0001", "conductor", "U0BOT")


def test_socket_mode_connections_open_with_the_app_token():
    def connect(fake: FakeSlack, token: str):
        return client_for(fake, None).apps_connections_open(app_token=token)

    with FakeSlack(app_token="xapp-1-right") as fake:
        assert error_of(lambda: connect(fake, "xapp-1-right")).response["error"] == "internal_error"
        fake.socket_url = "ws://127.0.0.1:5555/link"
        answer = connect(fake, "xapp-1-right")
        assert answer["url"] == "ws://127.0.0.1:5555/link"
        assert answer.headers["x-oauth-scopes"] == "connections:write"
        assert error_of(lambda: connect(fake, "xapp-1-wrong")).response["error"] == "invalid_auth"
        assert error_of(lambda: connect(fake, "xoxb-test")).response["error"] == "not_allowed_token_type"
        assert error_of(client_for(fake, "xapp-1-right").auth_test).response["error"] == (
            "not_allowed_token_type")
    with FakeSlack(socket_url="ws://127.0.0.1:1/") as fake:  # no app token set: any xapp- token
        assert connect(fake, "xapp-anything")["ok"]
