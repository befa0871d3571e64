"""Finish bodies: render Markdown, fill the summary, rewrite URLs and sanitize.

This is the most expensive stage per article, so it runs only for articles of feeds that must be
rendered, and in a process pool when there are enough of them to pay for starting one.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .load import PostError, read_post
from .model import Article
from .normalize import fill_summary, new_markdown_converter, render_markdown
from .rewrite import RewriteReport, Rewriter, combine_reports
from .rewrite_settings import RewriteSettings

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
    jobs: list[BodyJob], rewrite: RewriteSettings | None, progress: Callable[[str, int, int], None]
) -> tuple[list[BodyResult | str], RewriteReport | None]:
    """Results in the order of `jobs` (a BodyResult, or the reason the post could not be read),
    and the rewrite statistics of these bodies."""
    if not jobs:
        return [], None
    chunks = [jobs[i:i + CHUNK] for i in range(0, len(jobs), CHUNK)]
    workers = min(os.cpu_count() or 1, len(chunks))
    if len(jobs) < POOL_THRESHOLD or workers < 2:
        chunk_outputs = (_finish_chunk(chunk, rewrite) for chunk in chunks)
        return _gather(chunk_outputs, len(jobs), progress)
    # fork: workers inherit the imported modules instead of importing them again
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return _gather(pool.map(_finish_chunk, chunks, [rewrite] * len(chunks)), len(jobs), progress)


def _gather(
    chunk_outputs: Any, total: int, progress: Callable[[str, int, int], None]
) -> tuple[list[BodyResult | str], RewriteReport | None]:
    results: list[BodyResult | str] = []
    reports: list[RewriteReport] = []
    for chunk_results, report in chunk_outputs:
        results.extend(chunk_results)
        reports.append(report)
        progress("bodies", len(results), total)
    return results, combine_reports(reports)


def _finish_chunk(
    jobs: list[BodyJob], rewrite: RewriteSettings | None
) -> tuple[list[BodyResult | str], RewriteReport]:
    converter = new_markdown_converter()
    rewriter = Rewriter(rewrite)
    return [_finish_one(job, converter, rewriter) for job in jobs], rewriter.report()


def _finish_one(job: BodyJob, converter: Any, rewriter: Rewriter) -> BodyResult | str:
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
    fill_summary(article)  # before rewriting: sanitizing drops the <!-- more --> comment
    problems = rewriter.rewrite_article(article)
    return BodyResult(article.content, article.summary, article.image, tuple(p.reason for p in problems))


_UNUSED_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)
