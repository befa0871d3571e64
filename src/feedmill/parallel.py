"""Run a build stage's chunks in forked worker processes, one per core.

Forked (not spawned) workers start with the modules, settings and data the parent already
holds, so only the chunks go in and the results come out.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def worth_forking(items: int, threshold: int) -> bool:
    """Whether this many items pay for starting workers (about 0.1 s) on this machine."""
    # Without fork (Windows), workers would re-import everything and get no shared data.
    return items >= threshold and (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods()


def fork_map(
    function: Callable[..., Any],
    chunks: Sequence[Any],
    *extra: Sequence[Any],
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> Iterator[Any]:
    """`function(chunk, *extra...)` for each chunk, in order, in forked workers."""
    workers = min(os.cpu_count() or 1, max(len(chunks), 1))
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(os.getpid(), initializer, initargs)) as pool:
        yield from pool.map(function, chunks, *extra)


def _start_worker(parent: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    # A build killed with SIGKILL cannot stop its workers, and they would wait for work
    # forever (their siblings keep the task pipe open): each one leaves once it is orphaned.
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def chunked(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
