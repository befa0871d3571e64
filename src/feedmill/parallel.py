"""Run a build stage's chunks in forked worker processes, one per core.

Forked (not spawned) workers start with the modules, settings and data the parent already
holds, so only the chunks go in and the results come out.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def worth_forking(items: int, threshold: int) -> bool:
    """Whether this many items pay for starting workers (about 0.1 s) on this machine."""
    return items >= threshold and (os.cpu_count() or 1) > 1


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
    with ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs) as pool:
        yield from pool.map(function, chunks, *extra)


def chunked(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]
