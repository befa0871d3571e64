"""The data that flows through the pipeline: one `Article` per post, one `FeedNode` per feed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

CategoryPath = tuple[str, ...]
"""A category and its ancestors, outermost first: ("新媒体", "36kr", "资讯")."""


@dataclass
class Article:
    """One post, normalized: every field is ready to be written into a feed.

    `content` holds the body as HTML. It is rewritten (image URLs, sanitizing) only for
    articles that land in a written feed, so it may still be the raw body until then.
    """

    source: str
    """Where the article came from, for messages: a post file's path or a remote URL."""
    title: str
    link: str
    """Absolute, percent-encoded URL of the article."""
    guid: str
    """Stable identity: derived from the link, never from the body."""
    published: datetime
    """Timezone-aware."""
    updated: datetime | None = None
    author: str | None = None
    summary: str = ""
    """Plain text."""
    content: str = ""
    """The body: HTML, or Markdown until the pipeline renders it (see `content_format`)."""
    content_format: str = "html"
    """"html" or "markdown"."""
    categories: tuple[CategoryPath, ...] = ()
    tags: tuple[str, ...] = ()
    image: str | None = None
    """Absolute URL of the article's lead image, if any."""


@dataclass
class FeedNode:
    """One feed to write: the site-wide feed (`path == ()`) or one category node."""

    path: CategoryPath
    slugs: tuple[str, ...]
    """The folder path under the output folder, one slug per level."""
    articles: list[Article] = field(default_factory=list)
    """Newest first, already cut to the configured limit."""


@dataclass(frozen=True)
class Problem:
    """A post (or other input) that could not be used as it is, and why."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"
