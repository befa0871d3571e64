"""Build cache: what earlier builds learned, so an unchanged corpus is not parsed again.

One SQLite file in the state folder holds, per post file, its stat signature, content hash and
what the load + normalize stages made of it; per post body, the finished HTML; per feed file,
a digest of everything that went into it. Each entry is keyed also by a hash of the settings
that shaped it, so a config change invalidates exactly what it affects.

The cache is an optimisation only: deleting it, or finding it corrupt, costs time, never
correctness. Everything a build adds is committed in one transaction at its end, so a build
killed half-way leaves the cache as the previous build left it.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime
from typing import Any

from .model import Article

SCHEMA_VERSION = "4"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    sha TEXT NOT NULL, settings TEXT NOT NULL, kind TEXT NOT NULL, warnings TEXT NOT NULL,
    reason TEXT, title TEXT, link TEXT, guid TEXT, published TEXT, updated TEXT, author TEXT,
    summary TEXT, categories TEXT, tags TEXT, image TEXT, content_format TEXT);
CREATE TABLE IF NOT EXISTS bodies (
    sha TEXT NOT NULL, settings TEXT NOT NULL, result BLOB NOT NULL, PRIMARY KEY (sha, settings));
CREATE TABLE IF NOT EXISTS feeds (
    relpath TEXT PRIMARY KEY, digest TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, items INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class FileStamp:
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path | str) -> FileStamp:
        stat = os.stat(path)
        return cls(stat.st_size, stat.st_mtime_ns)


@dataclass(frozen=True)
class PostOutcome:
    """What load + normalize made of one post file."""

    kind: str
    """"article", "draft" or "skipped"."""
    article: Article | None = None
    reason: str = ""
    """Why it was skipped."""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CachedPost:
    stamp: FileStamp
    sha: str
    settings: str
    outcome: PostOutcome


@dataclass(frozen=True)
class CachedFeed:
    digest: str
    stamp: FileStamp
    items: int


class BuildCache:
    """Read at the start of a build; written in one transaction by `commit()`."""

    def __init__(self, connection: sqlite3.Connection | None, warn: Callable[[str], None]) -> None:
        self._db = connection
        self._warn = warn
        self._posts: dict[str, CachedPost] | None = None if connection else {}
        self._feeds: dict[str, CachedFeed] = {}
        self._last_build: dict[str, Any] | None = None
        if connection is not None:
            self._feeds = {row[0]: CachedFeed(row[1], FileStamp(row[2], row[3]), row[4])
                           for row in connection.execute("SELECT * FROM feeds")}
            row = connection.execute("SELECT value FROM meta WHERE key = 'last_build'").fetchone()
            self._last_build = json.loads(row[0]) if row else None
        self._new_posts: dict[str, CachedPost] = {}
        self._new_bodies: dict[tuple[str, str], Any] = {}
        self._new_feeds: dict[str, CachedFeed] = {}
        self._dropped_feeds: set[str] = set()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    # --- posts ---

    def post(self, path: str) -> CachedPost | None:
        if self._posts is None:
            self._posts = self._read_posts()
        return self._posts.get(path)

    def _read_posts(self) -> dict[str, CachedPost]:
        # Read on first use: a build that replays the last one never needs them.
        # Plain columns, not pickles: 10k posts load in well under 0.1 s.
        assert self._db is not None
        try:
            return {row[0]: CachedPost(FileStamp(row[1], row[2]), row[3], row[4], _outcome(row))
                    for row in self._db.execute("SELECT * FROM posts")}
        except (sqlite3.DatabaseError, ValueError, TypeError, IndexError) as exc:
            self._warn(f"build cache has unreadable post entries ({exc}); reading every post again")
            with self._db:
                self._db.execute("DELETE FROM posts")
            return {}

    def last_build(self) -> dict[str, Any] | None:
        """What the last completed build read, wrote and reported (see pipeline)."""
        return self._last_build

    def remember_last_build(self, record: dict[str, Any]) -> None:
        self._last_build = record

    def remember_post(self, path: str, entry: CachedPost) -> None:
        self._new_posts[path] = entry

    # --- bodies ---

    def body(self, sha: str, settings: str) -> Any | None:
        if (sha, settings) in self._new_bodies:
            return self._new_bodies[sha, settings]
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT result FROM bodies WHERE sha = ? AND settings = ?", (sha, settings)
            ).fetchone()
            return pickle.loads(row[0]) if row else None
        except (sqlite3.DatabaseError, pickle.UnpicklingError, EOFError, AttributeError, TypeError) as exc:
            self._warn(f"build cache has an unreadable body entry ({exc}); rendering it again")
            return None

    def remember_body(self, sha: str, settings: str, result: Any) -> None:
        self._new_bodies[sha, settings] = result

    # --- feeds ---

    def feed(self, relpath: str) -> CachedFeed | None:
        return self._feeds.get(relpath)

    def feed_paths(self) -> set[str]:
        return set(self._feeds)

    def remember_feed(self, relpath: str, entry: CachedFeed) -> None:
        self._new_feeds[relpath] = entry

    def forget_feed(self, relpath: str) -> None:
        self._dropped_feeds.add(relpath)

    def commit(self, live_paths: set[str], live_bodies: set[str]) -> None:
        """Write what this build learned; forget posts whose files are gone, and bodies of
        articles that are in no feed (they would only make the cache grow)."""
        if self._db is None:
            return
        try:
            self._write(live_paths, live_bodies)
        except sqlite3.Error as exc:
            # The feeds are written; only the next build's speed suffers.
            self._warn(f"could not update the build cache ({exc}); the next build reads every post again")

    def _keep_only(self, table: str, column: str, keys: set[str]) -> None:
        """Delete the rows of `table` whose `column` is not one of `keys` (thousands of them)."""
        assert self._db is not None
        self._db.execute("CREATE TEMP TABLE keep (key TEXT PRIMARY KEY)")
        self._db.executemany("INSERT INTO keep VALUES (?)", [(key,) for key in keys])
        self._db.execute(f"DELETE FROM {table} WHERE {column} NOT IN (SELECT key FROM keep)")  # noqa: S608
        self._db.execute("DROP TABLE keep")

    def _write(self, live_paths: set[str], live_bodies: set[str]) -> None:
        assert self._db is not None
        with self._db:
            self._db.executemany(
                f"INSERT OR REPLACE INTO posts VALUES ({', '.join('?' * 19)})",
                [(p, e.stamp.size, e.stamp.mtime_ns, e.sha, e.settings, *_post_columns(e.outcome))
                 for p, e in self._new_posts.items()],
            )
            self._keep_only("posts", "path", live_paths)
            self._db.executemany(
                "INSERT OR REPLACE INTO bodies VALUES (?, ?, ?)",
                [(sha, settings, pickle.dumps(result)) for (sha, settings), result in self._new_bodies.items()],
            )
            self._keep_only("bodies", "sha", live_bodies)
            self._db.executemany(
                "INSERT OR REPLACE INTO feeds VALUES (?, ?, ?, ?, ?)",
                [(p, e.digest, e.stamp.size, e.stamp.mtime_ns, e.items) for p, e in self._new_feeds.items()],
            )
            self._db.executemany("DELETE FROM feeds WHERE relpath = ?", [(p,) for p in self._dropped_feeds])
            if self._last_build is not None:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('last_build', ?)",
                                 (json.dumps(self._last_build, ensure_ascii=False),))


def _post_columns(outcome: PostOutcome) -> tuple[Any, ...]:
    head = (outcome.kind, json.dumps(outcome.warnings, ensure_ascii=False), outcome.reason)
    article = outcome.article
    if article is None:
        return head + (None,) * 11
    return head + (
        article.title, article.link, article.guid, article.published.isoformat(),
        article.updated.isoformat() if article.updated else None, article.author, article.summary,
        _join_paths(article.categories), _UNIT.join(article.tags),
        article.image, article.content_format,
    )


# Category paths as text: names joined by the ASCII unit separator, paths by the record
# separator (neither can occur in a name: load strips control characters). Splitting is
# several times faster than json.loads for the 10,000 rows a build reads.
_UNIT, _RECORD = "\x1f", "\x1e"


def _join_paths(paths: tuple[tuple[str, ...], ...]) -> str:
    return _RECORD.join(_UNIT.join(path) for path in paths)


def _split_paths(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(path.split(_UNIT)) for path in text.split(_RECORD)) if text else ()


def _outcome(row: tuple[Any, ...]) -> PostOutcome:
    kind, warnings, reason = row[5], row[6], row[7]
    warnings_tuple = tuple(json.loads(warnings)) if warnings != "[]" else ()
    if kind != "article":
        return PostOutcome(kind, None, reason or "", warnings_tuple)
    (title, link, guid, published, updated, author, summary, categories, tags, image,
     content_format) = row[8:19]
    article = Article(
        source=row[0], title=title, link=link, guid=guid,
        published=datetime.fromisoformat(published),
        updated=datetime.fromisoformat(updated) if updated else None,
        author=author, summary=summary,
        categories=_split_paths(categories),
        tags=tuple(tags.split(_UNIT)) if tags else (),
        image=image, content_format=content_format,
    )
    return PostOutcome(kind, article, "", warnings_tuple)


@contextmanager
def open_cache(path: Path | None, warn: Callable[[str], None]) -> Iterator[BuildCache]:
    """Open (or create) the cache at `path`; None gives an empty cache that remembers nothing.

    A corrupt or unreadable cache file is reported through `warn` and rebuilt from scratch.
    """
    if path is None:
        yield BuildCache(None, warn)
        return
    cache = _open(path, warn)
    try:
        yield cache
    finally:
        cache.close()


def _open(path: Path, warn: Callable[[str], None]) -> BuildCache:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    try:
        return BuildCache(_prepared(connection), warn)
    except (sqlite3.DatabaseError, ValueError, TypeError, IndexError) as exc:
        connection.close()
        warn(f"build cache {path} is unreadable ({exc}); rebuilding it")
        _delete(path)
        return BuildCache(_prepared(sqlite3.connect(path)), warn)


def _prepared(connection: sqlite3.Connection) -> sqlite3.Connection:
    """Create the tables, or create them anew when another schema version wrote them."""
    connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if row is None or row[0] != SCHEMA_VERSION:
        with connection:
            for table in ("posts", "bodies", "feeds"):
                connection.execute(f"DROP TABLE IF EXISTS {table}")  # noqa: S608 - fixed table names
            connection.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
    connection.executescript(_SCHEMA)
    return connection


def _delete(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
