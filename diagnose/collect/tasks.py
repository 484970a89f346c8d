"""Tasks that spawn tasks: each read starts the reads that depend on it as soon as it returns.

No task ever waits for another, so the dependency graph runs in as few waves as it has levels, and
a pool of one worker (sequential mode) cannot deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class TaskGroup:
    def __init__(self, max_workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="sqsdiag-collect")
        self._cond = threading.Condition()
        self._pending = 0
        self._error: BaseException | None = None

    def spawn(self, fn: Callable[..., None], *args: Any) -> None:
        with self._cond:
            if self._error is not None:
                return  # stop fanning out after a bug; wait() raises it
            self._pending += 1
        self._pool.submit(self._run, fn, args)

    def _run(self, fn: Callable[..., None], args: tuple[Any, ...]) -> None:
        try:
            fn(*args)
        except BaseException as err:
            with self._cond:
                if self._error is None:
                    self._error = err
        finally:
            with self._cond:
                self._pending -= 1
                if self._pending == 0:
                    self._cond.notify_all()

    def wait(self) -> None:
        """Block until every task (and the tasks they spawned) is done; re-raise the first crash."""
        with self._cond:
            while self._pending:
                self._cond.wait()
        self._pool.shutdown(wait=True)
        if self._error is not None:
            raise self._error
