"""The threads that make the messenger's Slack calls (`bot.slack.messenger`)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


class Senders:
    """Daemon threads that make the messenger's calls, started as calls wait for one and gone
    after a while idle. Not a ThreadPoolExecutor: its threads are joined when the interpreter
    exits, so a call Slack holds would keep a stopping clock alive past its grace."""

    IDLE_SECONDS = 5.0

    def __init__(self, count: int):
        self.count = count
        self._queue: queue.SimpleQueue[tuple[Future[bool], Callable[[Any], bool], Any] | None] = queue.SimpleQueue()
        self._threads: set[threading.Thread] = set()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, send: Callable[[Any], bool], row: Any) -> Future[bool]:
        future: Future[bool] = Future()
        self._queue.put((future, send, row))
        with self._lock:
            if self._idle:
                self._idle -= 1  # that thread takes this call
            elif len(self._threads) < self.count:
                thread = threading.Thread(target=self._work, name=f"messenger-{len(self._threads)}", daemon=True)
                self._threads.add(thread)
                thread.start()
        return future

    def _work(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0 and self._queue.empty():
                        self._idle -= 1
                        self._threads.discard(threading.current_thread())
                        return
                continue
            if item is None:
                return
            future, send, row = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(send(row))
                except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on it
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1

    def shutdown(self, wait_seconds: float) -> None:
        """Stop the threads once their calls end, waiting at most `wait_seconds` for them."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + wait_seconds
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
