"""Thread pools whose work is waited for with a deadline, then left behind.

`concurrent.futures.ThreadPoolExecutor` waits without a bound: `shutdown(wait=True)` joins its
threads, and the interpreter joins them again when it exits. A job stuck on a lock, or an
automation that never returns, then keeps the process alive until SIGKILL. These pools run
their work on daemon threads: `close` refuses new work at once, `join` waits for the work
already given until a deadline and names what is still going on, and a process may exit
after that whatever its threads are doing. (The next clock recovers an automation that was
left running, as it does after a crash.)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from typing import Any

Describe = Callable[[Callable[..., Any], tuple[Any, ...]], str]


def name_of(fn: Callable[..., Any], args: tuple[Any, ...]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


@dataclass(eq=False)
class _Work:
    future: Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""


class WorkPool(Executor):
    """Up to `max_workers` daemon threads (named `<name>_<n>`, started as work arrives).
    `describe(fn, args)` names a piece of work for `join`'s answer."""

    def __init__(self, max_workers: int, name: str, describe: Describe = name_of):
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.name = name
        self.describe = describe
        self._changed = threading.Condition()
        self._queue: deque[_Work] = deque()
        self._running: set[_Work] = set()
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue `fn(*args, **kwargs)`; RuntimeError once the pool is closed (as the standard
        pool answers after shutdown)."""
        work = _Work(Future(), fn, args, kwargs, self.describe(fn, args))
        with self._changed:
            if self._closed:
                raise RuntimeError(f"the {self.name} pool is closed: no new work")
            self._queue.append(work)
            if len(self._queue) > self._idle and len(self._threads) < self.max_workers:
                thread = threading.Thread(target=self._work, name=f"{self.name}_{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._changed.notify()
        return work.future

    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closed:
                    self._idle += 1
                    self._changed.wait()
                    self._idle -= 1
                if not self._queue:
                    return  # closed, and nothing left for this thread
                work = self._queue.popleft()
                self._running.add(work)
            try:
                if work.future.set_running_or_notify_cancel():
                    try:
                        result = work.fn(*work.args, **work.kwargs)
                    except BaseException as exc:  # noqa: BLE001 - the future carries it to whoever asks
                        work.future.set_exception(exc)
                    else:
                        work.future.set_result(result)
            finally:
                with self._changed:
                    self._running.discard(work)
                    self._changed.notify_all()

    def close(self, *, cancel_pending: bool = False) -> list[str]:
        """Refuse new work from now on; with `cancel_pending`, also drop the work not started
        yet (returns what was dropped). Never waits."""
        with self._changed:
            self._closed = True
            dropped = list(self._queue) if cancel_pending else []
            if cancel_pending:
                self._queue.clear()
            self._changed.notify_all()
        for work in dropped:
            work.future.cancel()
        return [f"{work.label} (not started)" for work in dropped]

    def join(self, timeout: float | None = None) -> list[str]:
        """Wait until no work is queued or running, or `timeout` seconds have passed (None: no
        bound); returns what is still running or queued then (empty when all is done)."""
        with self._changed:
            self._changed.wait_for(lambda: not self._queue and not self._running,
                                   None if timeout is None else max(timeout, 0.0))
            return [work.label for work in self._running] + [f"{work.label} (not started)" for work in self._queue]

    def busy(self) -> list[str]:
        """What is running or queued right now."""
        return self.join(0)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """`concurrent.futures`' shutdown: close, then (with `wait`) wait for all the work."""
        self.close(cancel_pending=cancel_futures)
        if wait:
            self.join(None)
