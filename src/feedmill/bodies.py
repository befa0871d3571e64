"""Finish bodies: render Markdown, fill the summary, rewrite URLs and sanitize.

This is the most expensive stage per article, so it runs only for articles of feeds that must be
rendered, and in a process pool when there are enough of them to pay for starting one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .load import PostError, is_markdown, read_body
from .model import Article
from .normalize import new_markdown_converter, render_markdown
from .parallel import fork_map, worth_forking
from .rewrite import RewriteReport, Rewriter, combine_reports
from .rewrite_settings import RewriteSettings

POOL_THRESHOLD = 200
"""Below this many bodies, starting worker processes costs more than it saves."""
CHUNK = 50


@dataclass(frozen=True)
class BodyJob:
    source: str
    """The article's `source`, for messages and per-source sanitizing."""
    path: str | None
    """The post file; None for a stored article, whose body is `html`."""
    link: str
    """The article's URL, which relative URLs in the body resolve against."""
    summary: str
    """The front matter's summary, or "" to derive one from the body."""
    image: str | None
    html: str | None = None
    """The body of a stored remote article."""
    rewrite_source: str | None = None
    """The remote source whose own rewrite settings apply, if it has some."""


@dataclass(frozen=True)
class BodyResult:
    html: str
    summary: str
    image: str | None
    warnings: tuple[str, ...] = ()


def finish_bodies(
    jobs: list[BodyJob],
    rewrite: RewriteSettings | None,
    progress: Callable[[str, int, int], None],
    source_rewrites: Mapping[str, RewriteSettings] | None = None,
) -> tuple[list[BodyResult | str], RewriteReport | None]:
    """Results in the order of `jobs` (a BodyResult, or the reason the post could not be read),
    and the rewrite statistics of these bodies (of those under the global settings)."""
    if not jobs:
        return [], None
    tasks = _tasks(jobs, rewrite, source_rewrites or {})
    if not worth_forking(len(jobs), POOL_THRESHOLD):
        outputs: Iterable[Any] = (_finish_chunk(chunk, settings) for _, chunk, settings in tasks)
    else:
        outputs = fork_map(_finish_chunk, [t[1] for t in tasks], [t[2] for t in tasks])
    return _gather(tasks, outputs, rewrite, progress)


_Task = tuple[list[int], list[BodyJob], "RewriteSettings | None"]


def _tasks(jobs: list[BodyJob], rewrite: RewriteSettings | None,
           source_rewrites: Mapping[str, RewriteSettings]) -> list[_Task]:
    """Chunks of jobs that share rewrite settings, with the jobs' positions."""
    groups: dict[str | None, list[int]] = {}
    for index, job in enumerate(jobs):
        key = job.rewrite_source if job.rewrite_source in source_rewrites else None
        groups.setdefault(key, []).append(index)
    tasks: list[_Task] = []
    for key, indices in groups.items():
        settings = source_rewrites[key] if key is not None else rewrite
        for start in range(0, len(indices), CHUNK):
            part = indices[start:start + CHUNK]
            tasks.append((part, [jobs[i] for i in part], settings))
    return tasks


def _gather(
    tasks: list[_Task], outputs: Iterable[Any], rewrite: RewriteSettings | None,
    progress: Callable[[str, int, int], None],
) -> tuple[list[BodyResult | str], RewriteReport | None]:
    total = sum(len(indices) for indices, _, _ in tasks)
    results: list[Any] = [None] * total
    reports: list[RewriteReport] = []
    done = 0
    for (indices, _, settings), (chunk_results, report) in zip(tasks, outputs):
        for index, result in zip(indices, chunk_results):
            results[index] = result
        if settings is rewrite:  # a source's own rules count in its own terms; not combined
            reports.append(report)
        done += len(indices)
        progress("bodies", done, total)
    return results, combine_reports(reports)


def _finish_chunk(
    jobs: list[BodyJob], rewrite: RewriteSettings | None
) -> tuple[list[BodyResult | str], RewriteReport]:
    converter = new_markdown_converter()
    rewriter = Rewriter(rewrite)
    return [_finish_one(job, converter, rewriter) for job in jobs], rewriter.report()


def _finish_one(job: BodyJob, converter: Any, rewriter: Rewriter) -> BodyResult | str:
    if job.path is None:
        body, content_format = job.html or "", "html"
    else:
        try:
            body = read_body(job.path)
        except PostError as exc:
            return f"unreadable since it was listed: {exc}"
        content_format = "markdown" if is_markdown(job.path) else "html"
    article = Article(
        source=job.source, title="", link=job.link, guid=job.link, published=_UNUSED_DATE,
        summary=job.summary, content=body, image=job.image, content_format=content_format,
    )
    render_markdown(article, converter)
    problems = rewriter.rewrite_article(article)  # also fills an empty summary
    return BodyResult(article.content, article.summary, article.image, tuple(p.reason for p in problems))


_UNUSED_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)
