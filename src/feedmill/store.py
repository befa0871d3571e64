"""The article store: every entry ever collected, in an SQLite file in the state folder.

Upstream feeds only show their newest items, so anything not stored here is lost. Rows are keyed
by (source URL, entry id). A changed entry updates its fields, but never its GUID or first-seen
time; entries that vanish upstream stay. Each source is saved in one transaction and the database
runs in WAL mode, so a crash or kill mid-run leaves either the old or the new state of a source.
Nothing is ever deleted except by an explicit `prune()`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .config import DEFAULT_STATE_DIR
from .fetch import Validators
from .model import Article
from .remote import RemoteEntry

DB_NAME = "articles.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,       -- insertion order: breaks ties between equal dates
    source TEXT NOT NULL,
    guid TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    published TEXT NOT NULL,      -- ISO 8601 with offset
    published_ts REAL NOT NULL,   -- the same instant, for ordering and pruning
    updated TEXT,
    author TEXT,
    summary TEXT NOT NULL,
    content TEXT NOT NULL,
    categories TEXT NOT NULL,     -- JSON list of category paths
    tags TEXT NOT NULL,           -- JSON list
    image TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    UNIQUE (source, guid)
);
CREATE TABLE IF NOT EXISTS sources (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT
);
"""
# Fields an upstream edit may change; guid, first_seen and (for undated entries) published never do.
_EDITABLE = ("title", "link", "updated", "author", "summary", "content", "categories", "tags", "image")


@dataclass(frozen=True)
class SaveCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


class Store:
    """An open article store. Use `Store.open(folder)` as a context manager.

    One connection, used from one thread: the collector fetches concurrently but saves serially.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        # isolation_level=None: transactions are begun explicitly, one per source.
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, folder: str | Path = DEFAULT_STATE_DIR) -> Store:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder / DB_NAME)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def validators(self, source: str) -> Validators:
        row = self._db.execute("SELECT etag, last_modified FROM sources WHERE url = ?", (source,)).fetchone()
        return Validators(*row) if row else Validators()

    def save(
        self,
        source: str,
        entries: Sequence[RemoteEntry],
        *,
        seen: datetime,
        validators: Validators | None = None,
    ) -> SaveCounts:
        """Insert new entries and update edited ones of one source, atomically with its validators."""
        validators = validators or Validators()
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        with self._transaction():
            # Oldest first, so a newer entry always gets the larger id (see `articles`).
            for entry in reversed(entries):
                counts[self._upsert(source, entry, seen)] += 1
            self._db.execute(
                "INSERT INTO sources (url, etag, last_modified) VALUES (?, ?, ?) "
                "ON CONFLICT (url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified",
                (source, validators.etag, validators.last_modified),
            )
        return SaveCounts(**counts)

    def articles(self, source: str | None = None) -> list[Article]:
        """Stored articles, newest first (ties: the later seen first); all sources unless one is named."""
        query = "SELECT * FROM articles" + (" WHERE source = ?" if source else "")
        query += " ORDER BY published_ts DESC, id DESC"
        cursor = self._db.execute(query, (source,) if source else ())
        columns = [c[0] for c in cursor.description]
        return [_to_article(dict(zip(columns, row, strict=True))) for row in cursor]

    def first_seen(self, source: str, guid: str) -> datetime | None:
        row = self._db.execute(
            "SELECT first_seen FROM articles WHERE source = ? AND guid = ?", (source, guid)
        ).fetchone()
        return datetime.fromisoformat(row[0]) if row else None

    def prune(
        self,
        *,
        max_age: timedelta | None = None,
        max_items: int | None = None,
        now: datetime | None = None,
    ) -> int:
        """Delete articles older than `max_age` and beyond the newest `max_items` of each source.

        Only ever called explicitly (the default is to keep everything). Returns the number deleted.
        """
        deleted = 0
        with self._transaction():
            if max_age is not None:
                cutoff = (now or datetime.now(timezone.utc)) - max_age
                deleted += self._db.execute(
                    "DELETE FROM articles WHERE published_ts < ?", (cutoff.timestamp(),)
                ).rowcount
            if max_items is not None:
                deleted += self._db.execute(
                    "DELETE FROM articles WHERE id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER "
                    "(PARTITION BY source ORDER BY published_ts DESC, id DESC) AS n FROM articles) "
                    "WHERE n > ?)",
                    (max_items,),
                ).rowcount
        return deleted

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _upsert(self, source: str, entry: RemoteEntry, seen: datetime) -> str:
        row = _to_row(entry.article)
        current = self._db.execute(
            "SELECT id, published, published_ts, " + ", ".join(_EDITABLE)
            + " FROM articles WHERE source = ? AND guid = ?",
            (source, entry.article.guid),
        ).fetchone()
        if current is None:
            self._db.execute(
                "INSERT INTO articles (source, guid, first_seen, last_seen, " + ", ".join(row) + ") "
                "VALUES (?, ?, ?, ?, " + ", ".join("?" * len(row)) + ")",
                (source, entry.article.guid, seen.isoformat(), seen.isoformat(), *row.values()),
            )
            return "new"
        row_id, *old = current
        if not entry.dated:
            # The date is the fetch time standing in for a missing one: keep the first stand-in.
            row["published"], row["published_ts"] = old[0], old[1]
        changed = old != [row["published"], row["published_ts"], *(row[k] for k in _EDITABLE)]
        fields = ["published", "published_ts", *_EDITABLE] if changed else []
        assignments = "".join(f"{name} = ?, " for name in fields)
        self._db.execute(
            f"UPDATE articles SET {assignments}last_seen = ? WHERE id = ?",
            (*(row[name] for name in fields), seen.isoformat(), row_id),
        )
        return "updated" if changed else "unchanged"


def _to_row(article: Article) -> dict[str, object]:
    return {
        "title": article.title,
        "link": article.link,
        "published": article.published.isoformat(),
        "published_ts": article.published.timestamp(),
        "updated": article.updated.isoformat() if article.updated else None,
        "author": article.author,
        "summary": article.summary,
        "content": article.content,
        "categories": json.dumps([list(path) for path in article.categories], ensure_ascii=False),
        "tags": json.dumps(list(article.tags), ensure_ascii=False),
        "image": article.image,
    }


def _to_article(row: dict[str, object]) -> Article:
    return Article(
        source=str(row["source"]),
        title=str(row["title"]),
        link=str(row["link"]),
        guid=str(row["guid"]),
        published=datetime.fromisoformat(str(row["published"])),
        updated=datetime.fromisoformat(str(row["updated"])) if row["updated"] else None,
        author=str(row["author"]) if row["author"] is not None else None,
        summary=str(row["summary"]),
        content=str(row["content"]),
        categories=tuple(tuple(path) for path in json.loads(str(row["categories"]))),
        tags=tuple(json.loads(str(row["tags"]))),
        image=str(row["image"]) if row["image"] is not None else None,
    )
