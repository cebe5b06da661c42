"""Latency as a figure, a range drawn from per call (seeded, so runs repeat), or per method."""

from __future__ import annotations

import time

import pytest

from tests.fakeslack import FakeSlack
from tests.localslack import client_for

USERS = {"U01ANA": {"real_name": "Ana Lima"}}


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_a_fixed_latency_holds_every_call_that_long():
    with FakeSlack(latency=0.2) as fake:
        client = client_for(fake)
        assert timed(client.auth_test) >= 0.2
        assert [c.held for c in fake.calls] == [0.2]


def test_a_range_draws_each_call_from_a_seeded_generator():
    def held(seed: int | None = None, calls: int = 12) -> list[float]:
        extra = {} if seed is None else {"seed": seed}
        with FakeSlack(latency=(0.01, 0.05), **extra) as fake:
            client = client_for(fake)
            for _ in range(calls):
                client.auth_test()
            found = [c.held for c in fake.calls]
        assert all(0.01 <= s <= 0.05 for s in found)
        return found

    default = held()
    assert len(set(default)) > 1  # drawn, not one figure
    assert held() == default  # the default seed is fixed: the run repeats
    assert held(seed=7) == held(seed=7) != default


def test_each_call_takes_at_least_what_was_drawn_for_it():
    with FakeSlack(latency=(0.05, 0.15), seed=3) as fake:
        client = client_for(fake)
        took = [timed(client.auth_test) for _ in range(4)]
        assert all(t >= c.held for t, c in zip(took, fake.calls, strict=True))


def test_per_method_figures_and_ranges_with_a_default():
    latency = {"users.info": (0.1, 0.2), "auth.test": 0.05, "*": 0.0}
    with FakeSlack(users=USERS, latency=latency) as fake:
        client = client_for(fake)
        client.users_info(user="U01ANA")
        client.auth_test()
        client.chat_postMessage(channel="#a", text="hi")
        held = {c.method: c.held for c in fake.calls}
        assert 0.1 <= held["users.info"] <= 0.2
        assert held["auth.test"] == 0.05 and held["chat.postMessage"] == 0.0


def test_set_latency_takes_the_same_forms():
    with FakeSlack(users=USERS) as fake:
        client = client_for(fake)
        fake.set_latency((0.02, 0.04))
        client.auth_test()
        fake.set_latency(0.03, "users.info")
        fake.set_latency({"auth.test": 0.01})
        client.users_info(user="U01ANA")
        client.auth_test()
        fake.set_latency(0)
        client.chat_postMessage(channel="#a", text="hi")
        first, info, auth, post = (c.held for c in fake.calls)
        assert 0.02 <= first <= 0.04 and info == 0.03 and auth == 0.01 and post == 0.0


@pytest.mark.parametrize("bad", [(0.3, 0.1), (-1.0, 1.0), (0.1, 0.2, 0.3), -0.5])
def test_a_latency_that_cannot_be_is_refused(bad):
    with pytest.raises(ValueError):
        FakeSlack(latency=bad)
    with pytest.raises(ValueError):
        FakeSlack(latency={"auth.test": bad})
