"""Collecting: fetch every enabled source, parse it and save it in the article store.

A source that fails (network, HTTP, unparsable body) is reported and leaves its stored articles
and HTTP validators exactly as they were, so the next run simply tries again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from .fetch import Fetcher, FetchResult, FetchSettings
from .model import Problem
from .postwriter import WriteReport, write_posts
from .remote import FeedError, parse_feed
from .sources import RemoteSource
from .store import Store

# write_posts lives with the post format but is part of collecting's API (`collect --write-posts`).
__all__ = ["CollectReport", "SourceOutcome", "WriteReport", "collect", "collect_sources", "write_posts"]


@dataclass(frozen=True)
class SourceOutcome:
    """What happened to one source in one run."""

    source: RemoteSource
    status: Literal["ok", "not-modified", "failed"]
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    problem: Problem | None = None
    """Why the source failed; None otherwise."""
    warnings: tuple[Problem, ...] = ()
    """Entries that were fixed up or skipped (see `remote`); the source still succeeded."""


@dataclass
class CollectReport:
    outcomes: list[SourceOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[SourceOutcome]:
        """Sources that failed this run; non-empty means the CLI should exit non-zero."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def problems(self) -> list[Problem]:
        """Every failure and warning, in source order, ready to print."""
        return [p for o in self.outcomes for p in ((o.problem,) if o.problem else ()) + o.warnings]


def collect_sources(
    sources: Iterable[RemoteSource],
    store: Store,
    *,
    fetcher: Fetcher | None = None,
    settings: FetchSettings | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> CollectReport:
    """Fetch enabled sources concurrently and save each one's entries in its own transaction.

    Pass a `fetcher` to reuse one (it is not closed); otherwise one is made from `settings`.
    Outcomes are listed in the order the sources were given.
    """
    enabled = [s for s in sources if s.enabled]
    by_url = {s.url: s for s in enabled}
    jobs = [(s.url, store.validators(s.url)) for s in enabled]
    own_fetcher = fetcher is None
    fetcher = fetcher or Fetcher(settings)
    try:
        # Saving happens here, on the caller's thread: the store's connection is not shared.
        outcomes = {r.url: _save(by_url[r.url], r, store, clock()) for r in fetcher.fetch_many(jobs)}
    finally:
        if own_fetcher:
            fetcher.close()
    return CollectReport([outcomes[s.url] for s in enabled])


def _save(source: RemoteSource, result: FetchResult, store: Store, now: datetime) -> SourceOutcome:
    if result.problem:
        return SourceOutcome(source, "failed", problem=result.problem)
    if result.not_modified or result.body is None:
        return SourceOutcome(source, "not-modified")
    try:
        feed = parse_feed(
            result.body,
            url=source.url,
            content_type=result.content_type,
            base_url=result.final_url,
            category=source.category,
            now=now,
        )
    except FeedError as exc:
        return SourceOutcome(source, "failed", problem=Problem(source.url, str(exc)))
    entries = feed.entries[: source.limit] if source.limit else feed.entries
    counts = store.save(source.url, entries, seen=now, validators=result.validators)
    return SourceOutcome(
        source, "ok", counts.new, counts.updated, counts.unchanged, warnings=tuple(feed.warnings)
    )
