"""A call answered too late is still applied: the client gives up, Slack carries it out."""

from __future__ import annotations

import gc
import time
import urllib.error

import pytest
from slack_sdk import WebClient

from tests.fakeslack import FakeSlack
from tests.polling import wait_for

CLIENT_TIMEOUT, HANG = 0.3, 1.0


def give_up_on(call) -> None:
    """Make the call and see the client time out; the client's socket is closed afterwards
    (the traceback would otherwise keep it open)."""
    with pytest.raises((TimeoutError, urllib.error.URLError)) as info:
        call()
    assert "timed out" in str(info.value)
    del info
    gc.collect()


@pytest.mark.parametrize("slow", ["hang_next", "latency"])
def test_a_post_the_client_gave_up_on_is_in_the_channel_after_the_hang(slow, capfd):
    with FakeSlack(latency={"chat.postMessage": HANG} if slow == "latency" else 0.0) as fake:
        if slow == "hang_next":
            fake.hang_next("chat.postMessage", HANG)
        client = WebClient(token="xoxb-test", base_url=fake.url, timeout=CLIENT_TIMEOUT, retry_handlers=[])
        give_up_on(lambda: client.chat_postMessage(channel="#late", text="late"))
        (call,) = fake.calls_to("chat.postMessage")
        messages = wait_for(lambda: fake.messages("#late"), timeout=10)
        seen_at = time.time()
        assert [m["text"] for m in messages] == ["late"]
        assert seen_at - call.at >= HANG  # applied when the hang ended, not before
        wait_for(lambda: call.delivered is not None, timeout=10)
        assert call.delivered is False and call.status == 200  # applied; the answer found no one
        # The next call is answered as usual, and the server said nothing of the client gone.
        fake.set_latency(0)
        assert WebClient(token="xoxb-test", base_url=fake.url).chat_postMessage(channel="#late", text="next")["ok"]
        answered = fake.calls[-1]
        assert wait_for(lambda: answered.delivered is not None, timeout=10) and answered.delivered is True
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Broken pipe" not in out + err


def test_writing_to_a_client_that_hung_up_is_silent(capfd):
    # Even when the server does not notice the client gone and writes the answer into the
    # closed connection (a broken pipe or a reset), it prints nothing and serves on.
    with FakeSlack() as fake:
        fake._server.RequestHandlerClass._client_gone = lambda self: False
        fake.hang_next("auth.test", HANG, times=3)
        client = WebClient(token="xoxb-test", base_url=fake.url, timeout=CLIENT_TIMEOUT, retry_handlers=[])
        for _ in range(3):
            give_up_on(client.auth_test)
        wait_for(lambda: all(c.delivered is not None for c in fake.calls), timeout=10)
        assert WebClient(token="xoxb-test", base_url=fake.url).auth_test()["ok"]
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Broken pipe" not in out + err
