"""The store's writer lock: one writer at a time across threads and processes.

Every operation that changes the stores (ingest, removal, recovery of an interrupted write, a BM25
rebuild) runs while holding the lock file ``<home>/writer.lock`` (the `filelock` package: an OS
lock that dies with its process, so a kill -9 never leaves it stuck). Readers never take it; they
only *try* it (`try_hold`) when they would like to repair something and skip the repair when a
writer is busy.

Within one process all `WriterLock`s on the same home share one re-entrant thread lock, so an
`Engine` and a separate `Ingestor` on the same store serialise too.

Example:
    >>> lock = WriterLock(Path("/tmp/cw"))
    >>> with lock.hold(timeout=5):
    ...     ...                           # write
    >>> with lock.try_hold() as got:
    ...     if got: ...                   # nobody writes: safe to recover
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import StoreBusyError

log = logging.getLogger(__name__)


class _Shared:
    """One per lock path and process: the thread lock and the file lock, with a hold depth."""

    def __init__(self, path: Path) -> None:
        self.thread = threading.RLock()
        self.file = FileLock(str(path), thread_local=False)
        self.depth = 0


_registry: dict[str, _Shared] = {}
_registry_lock = threading.Lock()


def _shared(path: Path) -> _Shared:
    key = str(path.resolve())
    with _registry_lock:
        if key not in _registry:
            _registry[key] = _Shared(path)
        return _registry[key]


class WriterLock:
    """The inter-process writer lock of one data home. Re-entrant within a thread."""

    def __init__(self, home: Path) -> None:
        Path(home).mkdir(parents=True, exist_ok=True)
        self.path = Path(home) / "writer.lock"
        self._s = _shared(self.path)

    @property
    def held_here(self) -> bool:
        """True while this process holds the lock (in any thread)."""
        return self._s.depth > 0

    @contextmanager
    def hold(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock for the block; wait up to `timeout` seconds (None: as long as it takes).

        Raises `StoreBusyError` when the wait runs out."""
        if not self._acquire(timeout):
            raise StoreBusyError(
                f"another citewire process is writing to {self.path.parent} (lock {self.path}); "
                "wait for it to finish and try again")
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def try_hold(self) -> Iterator[bool]:
        """Hold the lock for the block if it is free right now; yields whether it was acquired."""
        got = self._acquire(0)
        try:
            yield got
        finally:
            if got:
                self._release()

    def _acquire(self, timeout: float | None) -> bool:
        s = self._s
        got = (s.thread.acquire(blocking=False) if timeout is not None and timeout <= 0
               else s.thread.acquire(timeout=-1 if timeout is None else timeout))
        if not got:
            return False
        if s.depth == 0:
            try:
                s.file.acquire(timeout=-1 if timeout is None else max(timeout, 0),
                               blocking=timeout is None or timeout > 0)
            except Timeout:
                s.thread.release()
                return False
            log.debug("writer lock %s acquired", self.path)
        s.depth += 1
        return True

    def _release(self) -> None:
        s = self._s
        s.depth -= 1
        if s.depth == 0:
            s.file.release()
            log.debug("writer lock %s released", self.path)
        s.thread.release()
