"""Collecting: fetch every enabled source, parse it and save it in the article store.

A source that fails (network, HTTP, unparsable body) is reported and leaves its stored articles
and HTTP validators exactly as they were, so the next run simply tries again.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from .config import Config, load_config
from .fetch import Fetcher, FetchResult, FetchSettings
from .model import Article, Problem
from .postwriter import WriteReport, write_posts
from .remote import FeedError, parse_feed
from .sources import RemoteSource
from .state import locked
from .store import Store
from .urls import UrlError, to_uri

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
    pruned: int = 0
    """Stored articles deleted by the `retention` setting."""
    posts: WriteReport | None = None
    """What `write_posts_to` wrote, when it was given."""

    @property
    def failed(self) -> list[SourceOutcome]:
        """Sources that failed this run; non-empty means the CLI should exit non-zero."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def problems(self) -> list[Problem]:
        """Every failure and warning, in source order, ready to print."""
        return [p for o in self.outcomes for p in ((o.problem,) if o.problem else ()) + o.warnings]


def collect(
    config: Config | str | Path | Mapping[str, Any],
    *,
    write_posts_to: str | Path | None = None,
    wait: float = 0,
    settings: FetchSettings | None = None,
) -> CollectReport:
    """Fetch every enabled source of `config` into the article store in its state folder.

    Applies `retention` when it is set, and with `write_posts_to` writes every stored article of
    the configured sources as a Hexo post there. Raises ConfigError and BuildLocked like `build`.
    """
    if not isinstance(config, Config):
        config = load_config(config)
    with locked(config.state_dir, wait), Store.open(config.state_dir) as store:
        report = collect_sources(config.sources, store, settings=settings)
        retention = config.retention
        if retention.max_age_days or retention.max_items:
            max_age = timedelta(days=retention.max_age_days) if retention.max_age_days else None
            report.pruned = store.prune(max_age=max_age, max_items=retention.max_items)
        if write_posts_to is not None:
            report.posts = write_posts(stored_articles(store, config.sources), write_posts_to)
    return report


def stored_articles(store: Store, sources: Sequence[RemoteSource]) -> list[Article]:
    """The stored articles of the configured sources, ready to publish.

    Categories are the source's as configured now. Each article's `source` names its source and
    entry, and its guid is made a URI unique across sources (a bare upstream id such as "123"
    becomes `<source url>#123`). An article whose link another source already gave is published
    once, under both sources' categories, as the source listed first in the config gave it.
    """
    by_url = {source.url: source for source in sources}
    order = {source.url: index for index, source in enumerate(sources)}
    by_link: dict[str, Article] = {}
    # The source listed first in the config wins a shared link, whatever order fetches ended in.
    for article in sorted(store.articles(), key=lambda a: order.get(a.source, len(order))):
        source = by_url.get(article.source)
        if source is None:
            continue  # a source no longer in the config
        first = by_link.get(article.link)
        if first is not None:
            if source.category not in first.categories:
                first.categories = (*first.categories, source.category)
            continue
        article.guid = _published_guid(article.guid, source.url)
        article.source = f"{source.url} [{article.guid}]"
        article.categories = (source.category,)
        by_link[article.link] = article
    return list(by_link.values())


# A scheme, then only printable ASCII: anything else would make an invalid id in the feeds.
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[!-~]+$")


def _published_guid(guid: str, source_url: str) -> str:
    if guid.startswith(("http://", "https://")):
        try:
            return to_uri(guid)
        except UrlError:
            pass
    elif _URI_SCHEME.match(guid):
        return guid  # tag:, urn: and the like are URIs already
    return f"{source_url}#{quote(guid, safe='')}"


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
    except Exception as exc:  # noqa: BLE001 - one source's unforeseen data must not stop the others
        return SourceOutcome(source, "failed", problem=Problem(source.url, f"could not be read ({type(exc).__name__}: {exc})"))
    entries = feed.entries[: source.limit] if source.limit else feed.entries
    try:
        counts = store.save(source.url, entries, seen=now, validators=result.validators)
    except (sqlite3.Error, ValueError) as exc:  # rolled back: the source's stored articles are as they were
        return SourceOutcome(source, "failed", problem=Problem(source.url, f"could not be stored ({exc})"))
    return SourceOutcome(
        source, "ok", counts.new, counts.updated, counts.unchanged, warnings=tuple(feed.warnings)
    )
