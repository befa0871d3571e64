"""The state folder (build cache, article store) and the lock that lets one run use it at a time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


class BuildLocked(Exception):
    """Another feedmill run holds the lock of this state folder."""


@contextmanager
def locked(state_dir: Path, wait: float) -> Iterator[None]:
    """Hold the state folder's lock; wait up to `wait` seconds for another run to release it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state_dir / "build.lock"))
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise BuildLocked(f"another build is running (lock {lock.lock_file})") from None
    try:
        yield
    finally:
        lock.release()
