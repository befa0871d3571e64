"""Collecting: fetch every enabled source, parse it, save it; and write stored articles as posts.

A source that fails (network, HTTP, unparsable body) is reported and leaves its stored articles
and HTTP validators exactly as they were, so the next run simply tries again.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path

import yaml

from .fetch import Fetcher, FetchResult, FetchSettings
from .model import Article, Problem
from .remote import FeedError, parse_feed
from .sources import RemoteSource
from .store import Store


@dataclass(frozen=True)
class SourceOutcome:
    """What happened to one source in one run."""

    source: RemoteSource
    status: str
    """"ok", "not-modified" or "failed"."""
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


def collect(
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


# --- Writing Hexo posts --------------------------------------------------------------------

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_MAX_NAME_BYTES = 150  # well under the usual 255-byte limit, leaving room for a suffix and ".md"
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)$", re.IGNORECASE)


@dataclass(frozen=True)
class WriteReport:
    written: list[Path]
    """Files created or changed."""
    unchanged: list[Path]


def write_posts(articles: Sequence[Article], folder: str | Path) -> WriteReport:
    """Write each article as a Hexo post under `folder/<category path>/<title>.md`.

    File names are made safe and unique: when two articles would share a name, the one with
    the earlier date keeps it and the others get a short id suffix, so names stay stable as
    newer articles arrive. A file is rewritten (atomically) only if its bytes would change.
    """
    folder = Path(folder)
    written: list[Path] = []
    unchanged: list[Path] = []
    for path, article in _assign_paths(articles, folder).items():
        data = render_post(article).encode("utf-8")
        if path.is_file() and path.read_bytes() == data:
            unchanged.append(path)
            continue
        _write_atomically(path, data)
        written.append(path)
    return WriteReport(written, unchanged)


def render_post(article: Article) -> str:
    """The post text: YAML front matter in the corpus's fields, then the HTML body as is."""
    front: dict[str, object] = {"title": article.title}
    paths = [list(p) for p in article.categories]
    if paths:
        # Hexo reads a flat list as one path, and a list of lists as several.
        front["categories"] = paths[0] if len(paths) == 1 else paths
    if article.tags:
        front["tags"] = list(article.tags)
    if article.image:
        front["headimg"] = article.image
    front["author"] = article.author or ""
    front["comments"] = False
    front["date"] = format_datetime(article.published.astimezone(timezone.utc), usegmt=True)
    if article.updated:
        front["updated"] = format_datetime(article.updated.astimezone(timezone.utc), usegmt=True)
    front["thumbnail"] = article.image or ""
    matter = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=10**6)
    return f"---\n{matter}---\n\n{article.content}\n"


def _assign_paths(articles: Sequence[Article], folder: Path) -> dict[Path, Article]:
    paths: dict[Path, Article] = {}
    for article in sorted(articles, key=lambda a: (a.published, a.source, a.guid)):
        directory = folder.joinpath(*(_safe_name(part) for part in _first_category(article)))
        stem = _safe_name(article.title)
        path = directory / f"{stem}.md"
        if path in paths:
            digest = hashlib.sha1(f"{article.source}\n{article.guid}".encode()).hexdigest()[:8]
            path = directory / f"{stem}-{digest}.md"
        paths[path] = article
    return paths


def _first_category(article: Article) -> tuple[str, ...]:
    return article.categories[0] if article.categories else ()


def _safe_name(text: str) -> str:
    """A single path component: no separators, control or reserved characters, no dot names."""
    name = " ".join(_UNSAFE.sub("_", text).split()).strip(". ")
    name = _truncate_utf8(name, _MAX_NAME_BYTES).strip(". ")
    if not name or _WINDOWS_RESERVED.match(name):
        name = f"_{name}" if name else "untitled"
    return name


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A reader (or a crash) sees the old file or the new one, never half of one.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".feedmill-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
