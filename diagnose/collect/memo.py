"""Compute a value once per key across threads; other keys proceed in parallel."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Cell(Generic[V]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: V | None = None
        self.error: BaseException | None = None


class Memo(Generic[K, V]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cells: dict[K, _Cell[V]] = {}

    def get(self, key: K, factory: Callable[[], V]) -> V:
        with self._lock:
            cell = self._cells.get(key)
            owner = cell is None
            if cell is None:
                cell = self._cells[key] = _Cell()
        if owner:
            try:
                cell.value = factory()
            except BaseException as err:
                cell.error = err
            finally:
                cell.done.set()
        else:
            cell.done.wait()
        if cell.error is not None:
            raise cell.error
        return cell.value  # type: ignore[return-value]
