from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from feedmill.fetch import Validators
from feedmill.model import Article
from feedmill.remote import RemoteEntry
from feedmill.store import Store

SOURCE = "https://rsshub.example.org/demo"
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def entry(n: int, *, body: str = "", dated: bool = True, published: datetime | None = None) -> RemoteEntry:
    article = Article(
        source=SOURCE,
        title=f"Item {n}",
        link=f"https://example.org/{n}",
        guid=f"guid-{n}",
        published=published or T0 + timedelta(hours=n),
        updated=None,
        author="Ann",
        summary=f"Body {n}",
        content=body or f"<p>Body {n}</p>",
        categories=(("新媒体", "36kr", "资讯"),),
        tags=("a", "b"),
        image=f"https://example.org/{n}.png",
    )
    return RemoteEntry(article, dated)


def test_articles_round_trip_newest_first(store: Store) -> None:
    counts = store.save(SOURCE, [entry(2), entry(1)], seen=T0)
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    articles = store.articles()
    assert articles == [entry(2).article, entry(1).article]
    assert articles[0].published.tzinfo is not None
    assert articles[0].categories == (("新媒体", "36kr", "资讯"),)


def test_edits_update_content_but_never_guid_or_first_seen(store: Store) -> None:
    store.save(SOURCE, [entry(1)], seen=T0)
    later = T0 + timedelta(days=1)
    counts = store.save(SOURCE, [entry(1, body="<p>edited</p>")], seen=later)
    assert (counts.new, counts.updated) == (0, 1)
    [article] = store.articles()
    assert article.content == "<p>edited</p>" and article.guid == "guid-1"
    assert store.first_seen(SOURCE, "guid-1") == T0
    again = store.save(SOURCE, [entry(1, body="<p>edited</p>")], seen=later)
    assert (again.updated, again.unchanged) == (0, 1)


def test_vanished_entries_stay(store: Store) -> None:
    store.save(SOURCE, [entry(2), entry(1)], seen=T0)
    store.save(SOURCE, [entry(3)], seen=T0)
    assert [a.guid for a in store.articles()] == ["guid-3", "guid-2", "guid-1"]


def test_undated_entries_keep_their_first_stand_in_date(store: Store) -> None:
    store.save(SOURCE, [entry(1, dated=False, published=T0)], seen=T0)
    counts = store.save(SOURCE, [entry(1, dated=False, published=T0 + timedelta(days=3))], seen=T0)
    assert counts.unchanged == 1
    assert store.articles()[0].published == T0


def test_equal_dates_keep_upstream_order_across_fetches(store: Store) -> None:
    # Undated entries share the fetch time; newer fetches and higher feed positions come first.
    store.save(SOURCE, [entry(2, published=T0), entry(1, published=T0)], seen=T0)
    store.save(SOURCE, [entry(4, published=T0), entry(3, published=T0)], seen=T0)
    assert [a.guid for a in store.articles()] == ["guid-4", "guid-3", "guid-2", "guid-1"]


def test_same_guid_in_two_sources_is_two_articles(store: Store) -> None:
    other = "https://other.example/feed"
    store.save(SOURCE, [entry(1)], seen=T0)
    store.save(other, [RemoteEntry(replace(entry(1).article, source=other), True)], seen=T0)
    assert sorted(a.source for a in store.articles()) == sorted([SOURCE, other])
    assert [a.source for a in store.articles(other)] == [other]


def test_validators_are_remembered_per_source(store: Store, tmp_path: Path) -> None:
    assert store.validators(SOURCE) == Validators()
    store.save(SOURCE, [], seen=T0, validators=Validators('"e1"', "Mon, 01 Jan 2024 00:00:00 GMT"))
    store.close()
    with Store.open(tmp_path / "state") as reopened:
        assert reopened.validators(SOURCE) == Validators('"e1"', "Mon, 01 Jan 2024 00:00:00 GMT")


def test_a_failed_save_changes_nothing(store: Store) -> None:
    store.save(SOURCE, [entry(1)], seen=T0, validators=Validators('"old"'))
    broken = RemoteEntry(replace(entry(2).article, title=None), True)  # NOT NULL violation
    with pytest.raises(sqlite3.IntegrityError):
        store.save(SOURCE, [broken, entry(3)], seen=T0, validators=Validators('"new"'))
    assert [a.guid for a in store.articles()] == ["guid-1"]
    assert store.validators(SOURCE) == Validators('"old"')


def test_prune_only_when_asked(store: Store) -> None:
    other = "https://other.example/feed"
    store.save(SOURCE, [entry(n) for n in range(5, 0, -1)], seen=T0)
    store.save(other, [RemoteEntry(replace(entry(n).article, source=other), True) for n in (2, 1)], seen=T0)
    assert len(store.articles()) == 7
    assert store.prune(max_items=3) == 2
    assert [a.guid for a in store.articles(SOURCE)] == ["guid-5", "guid-4", "guid-3"]
    assert len(store.articles(other)) == 2
    assert store.prune(max_age=timedelta(hours=2), now=T0 + timedelta(hours=5)) == 2
    assert [a.guid for a in store.articles(SOURCE)] == ["guid-5", "guid-4", "guid-3"]
    assert store.articles(other) == []


def test_store_uses_wal(store: Store) -> None:
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
