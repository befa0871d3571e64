"""Finish bodies: render Markdown, fill the summary, rewrite URLs and sanitize.

This is the most expensive stage per article, so it runs only for articles of feeds that must be
rendered, and in a process pool when there are enough of them to pay for starting one.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .load import PostError, read_post
from .model import Article
from .normalize import fill_summary, new_markdown_converter, render_markdown

POOL_THRESHOLD = 200
"""Below this many bodies, starting worker processes costs more than it saves."""
CHUNK = 50


@dataclass(frozen=True)
class BodyJob:
    source: str
    """The post file."""
    folder: str
    link: str
    """The article's URL, which relative URLs in the body resolve against."""
    summary: str
    """The front matter's summary, or "" to derive one from the body."""
    image: str | None


@dataclass(frozen=True)
class BodyResult:
    html: str
    summary: str
    image: str | None
    warnings: tuple[str, ...] = ()


def finish_bodies(
    jobs: list[BodyJob], rewrite: Mapping[str, Any] | None, progress: Callable[[str, int, int], None]
) -> list[BodyResult | str]:
    """Results in the order of `jobs`: a BodyResult, or the reason the post could not be read."""
    if not jobs:
        return []
    chunks = [jobs[i:i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    workers = min(os.cpu_count() or 1, len(chunks))
    results: list[BodyResult | str] = []
    if len(jobs) < POOL_THRESHOLD or workers < 2:
        for chunk in chunks:
            results.extend(_finish_chunk(chunk, rewrite))
            progress("bodies", len(results), len(jobs))
        return results
    # fork: workers inherit the imported modules instead of importing them again
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for chunk_results in pool.map(_finish_chunk, chunks, [rewrite] * len(chunks)):
            results.extend(chunk_results)
            progress("bodies", len(results), len(jobs))
    return results


def _finish_chunk(jobs: list[BodyJob], rewrite: Mapping[str, Any] | None) -> list[BodyResult | str]:
    converter = new_markdown_converter()
    return [_finish_one(job, converter) for job in jobs]


def _finish_one(job: BodyJob, converter: Any) -> BodyResult | str:
    try:
        raw = read_post(Path(job.source), Path(job.folder))
    except PostError as exc:
        return f"unreadable since it was listed: {exc}"
    article = Article(
        source=job.source, title="", link=job.link, guid=job.link, published=_UNUSED_DATE,
        summary=job.summary, content=raw.body, image=job.image,
        content_format="markdown" if raw.is_markdown else "html",
    )
    render_markdown(article, converter)
    fill_summary(article)
    return BodyResult(article.content, article.summary, article.image)


_UNUSED_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)
