"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1) for one FeedNode, beside its RSS and Atom.

The items, ids, links, dates, content, image and categories are the ones render.py writes, so a
reader that switches formats sees the same posts. Keys are written in a fixed order and no value
depends on the build time, so the bytes are stable.
"""

from __future__ import annotations

import json
from typing import Any

from .config import Config
from .model import Article, FeedNode
from .group import feed_relpath
from .render import RenderedFeed, body_html, feed_description, feed_title, feed_url, xml_safe

VERSION = "https://jsonfeed.org/version/1.1"


def render_json(node: FeedNode, config: Config) -> RenderedFeed:
    """The JSON Feed file of one feed node."""
    document = feed_document(node, config)
    data = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return RenderedFeed(feed_relpath(node, "json"), data.encode("utf-8"), len(node.articles))


def feed_document(node: FeedNode, config: Config) -> dict[str, Any]:
    site = config.site
    document: dict[str, Any] = {
        "version": VERSION,
        "title": xml_safe(feed_title(node, config)),
        "home_page_url": site.url,
        "feed_url": feed_url(node, "json", config),
        "description": xml_safe(feed_description(node, config)),
        "language": site.language,
        "authors": [{"name": xml_safe(site.author)}],
    }
    if config.websub.hub:
        document["hubs"] = [{"type": "WebSub", "url": config.websub.hub}]
    document["items"] = [_item(article) for article in node.articles]
    return document


def _item(article: Article) -> dict[str, Any]:
    # xml_safe here too: it also drops lone surrogates, which UTF-8 cannot encode.
    item: dict[str, Any] = {
        "id": article.guid,
        "url": article.link,
        "title": xml_safe(article.title),
        "content_html": xml_safe(body_html(article)),
    }
    if article.summary:
        item["summary"] = xml_safe(article.summary)
    if article.image:
        item["image"] = article.image
    item["date_published"] = article.published.isoformat()
    if article.updated:
        item["date_modified"] = article.updated.isoformat()
    if article.author:
        item["authors"] = [{"name": xml_safe(article.author)}]
    tags = ["/".join(path) for path in article.categories] + list(article.tags)
    if tags:
        item["tags"] = [xml_safe(tag) for tag in dict.fromkeys(tags)]
    return item
