"""Helpers for the rewrite tests: articles built by hand or from the real post corpus in ../shared.

(A plain module, not conftest.py, so it cannot collide with the project's own conftest.)"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from feedmill.model import Article

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
CORPUS = SHARED / "corpus" / "real"
ARTICLE_LINK = "https://blog.example/posts/2021/entry/"

_LEAD_IMAGE = re.compile(r"^(?:headimg|thumbnail): *'?([^'\n]*?)'? *$", re.MULTILINE)


def make_article(content: str = "", image: str | None = None, link: str = ARTICLE_LINK,
                 source: str = "post/test/entry.md") -> Article:
    return Article(source=source, title="t", link=link, guid=link,
                   published=datetime(2021, 7, 1, tzinfo=timezone.utc), content=content, image=image)


@functools.lru_cache(maxsize=1)
def _corpus_posts() -> tuple[tuple[str, str, str | None], ...]:
    posts = []
    for path in sorted(CORPUS.rglob("*.md")):
        if path.name == "README.md":
            continue
        text = path.read_text(encoding="utf-8")
        _, front, body = text.split("\n---\n", 2)
        images = [m for m in _LEAD_IMAGE.findall(front) if m]
        posts.append((str(path.relative_to(CORPUS)), body, images[0] if images else None))
    return tuple(posts)


def corpus_articles() -> list[Article]:
    """Fresh Articles (rewriting mutates them), one per corpus post: the body after the front
    matter and the first non-empty headimg/thumbnail as the lead image."""
    if not CORPUS.is_dir():
        pytest.skip(f"real post corpus not found at {CORPUS} (../shared relative to the repo root)")
    posts = _corpus_posts()
    assert len(posts) == 83, "the corpus README promises 83 posts"
    return [make_article(body, image, source=source) for source, body, image in posts]
