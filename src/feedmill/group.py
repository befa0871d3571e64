"""Group stage: one feed per category node (Hexo hierarchy) plus the site-wide feed.

A node A holds every article filed under A, A/B, A/B/C. Each node gets a slug path that is
ASCII, stable, distinct among siblings, and cannot leave the output folder.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping

from slugify import slugify

from .config import FEED_FILE_NAMES
from .model import Article, CategoryPath, FeedNode, Problem

_MAX_SLUG = 60


def feed_relpath(node: FeedNode, fmt: str) -> str:
    """Where a node's feed in format `fmt` is written, under the output folder."""
    return "/".join((*node.slugs, FEED_FILE_NAMES[fmt]))


def newest_first(article: Article) -> tuple[float, str, str]:
    """Sort key: newest first; equal dates fall back to link, then source, so order is stable."""
    return (-article.published.timestamp(), article.link, article.source)


def make_guids_unique(articles: list[Article]) -> list[Problem]:
    """Give every article a distinct guid; a clash gets a fragment made from its source.

    Feeds with duplicate ids are invalid and readers silently drop the duplicates.
    """
    problems = []
    seen: dict[str, Article] = {}
    for article in sorted(articles, key=lambda a: a.source):
        if article.guid in seen:
            first = seen[article.guid]
            article.guid = f"{article.guid}#{_short_hash(article.source)}"
            problems.append(Problem(
                article.source,
                f"same link as {first.source} ({first.link}); its id gets a distinct suffix",
            ))
        seen[article.guid] = article
    return problems


def group_articles(articles: Iterable[Article], limit: int, slug_map: Mapping[str, str]) -> list[FeedNode]:
    """Every feed to write: the site-wide node first, then category nodes in path order."""
    members: dict[CategoryPath, list[Article]] = defaultdict(list)
    members[()] = []
    # One sort of all articles: each node then receives its members already in order.
    for article in sorted(articles, key=newest_first):
        members[()].append(article)
        nodes = {path[:depth] for path in article.categories for depth in range(1, len(path) + 1)}
        for node in nodes:
            members[node].append(article)
    slugs = assign_slugs(members.keys(), slug_map)
    return [
        FeedNode(path, slugs[path], members[path][:limit] if limit else members[path])
        for path in sorted(members)
    ]


def assign_slugs(paths: Iterable[CategoryPath], slug_map: Mapping[str, str]) -> dict[CategoryPath, tuple[str, ...]]:
    """Slug path of each node; a node's slug is chosen among its siblings only."""
    children: dict[CategoryPath, set[str]] = defaultdict(set)
    for path in paths:
        for depth in range(1, len(path) + 1):
            children[path[: depth - 1]].add(path[depth - 1])
    names: dict[CategoryPath, str] = {}
    for parent, siblings in children.items():
        for name, slug in sibling_slugs(siblings, slug_map).items():
            names[(*parent, name)] = slug
    return {path: tuple(names[path[:d]] for d in range(1, len(path) + 1)) for path in paths}


def sibling_slugs(names: Iterable[str], slug_map: Mapping[str, str]) -> dict[str, str]:
    """Slugs for sibling categories, distinct and independent of the order names were seen in.

    Names that share a slug each get `-<6 hex digits of the name's SHA-1>`, except one rightful
    owner: the name config maps to that slug, or else a name that already is that slug.
    """
    wanted = {name: slug_map.get(name) or base_slug(name) for name in names}
    taken: dict[str, list[str]] = defaultdict(list)
    for name, slug in wanted.items():
        taken[slug].append(name)
    result = {}
    for slug, owners in taken.items():
        keeper = owners[0] if len(owners) == 1 else _rightful_owner(slug, owners, slug_map)
        for name in owners:
            result[name] = slug if name == keeper else f"{slug}-{_short_hash(name)}"
    return result


def _rightful_owner(slug: str, owners: list[str], slug_map: Mapping[str, str]) -> str | None:
    """Of names sharing a slug, the one config maps to it, else the one that is it, else none."""
    mapped = [name for name in owners if slug_map.get(name) == slug]
    if len(mapped) == 1:
        return mapped[0]
    return slug if slug in owners and not mapped else None


def base_slug(name: str) -> str:
    """ASCII slug: CJK, kana and hangul transliterated (`新媒体` -> `xin-mei-ti`)."""
    slug = slugify(name, max_length=_MAX_SLUG, word_boundary=True)
    # A name with nothing to transliterate (emoji, punctuation, '..') still needs a safe slug.
    return slug or f"category-{_short_hash(name)}"


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]
