"""What people see in a browser: the feed stylesheet, the index page, autodiscovery <link> tags.

- `feed.xsl` (package data) turns RSS and Atom into a readable page; render.py points each feed
  at it with a relative path, so it is same-origin wherever the folder is served.
- `index.html` lists every category with its item count, newest date and a link per format.
  It is static and dependency-free, with relative links, so it works on any host and under
  `feedmill serve`. Every text is escaped with html.escape.
"""

from __future__ import annotations

import html
from importlib.resources import files

from .config import Config
from .model import FeedNode
from .opml import FILE_NAME as OPML_FILE
from .group import feed_relpath
from .render import FORMATS, STYLESHEET, RenderedFeed, feed_title, feed_url

INDEX = "index.html"
FORMAT_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}

_STYLE = """
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1f2328; }
main { max-width: 56rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: start; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
td.count, td.date { white-space: nowrap; color: #57606a; }
td.formats a { margin-inline-end: .6rem; }
""".strip()


def render_stylesheet() -> RenderedFeed:
    data = files("feedmill").joinpath(f"assets/{STYLESHEET}").read_bytes()
    return RenderedFeed(STYLESHEET, data, 0)


def render_index(nodes: list[FeedNode], config: Config) -> RenderedFeed:
    """index.html: every feed node, the site-wide feed first, categories indented by depth."""
    site_node = next(node for node in nodes if not node.path)
    head_links = autodiscovery_links(site_node, config)
    title = html.escape(f"{config.site.title} — feeds")
    rows = "\n".join(_row(node, config) for node in sorted(nodes, key=lambda n: n.path))
    page = f"""<!DOCTYPE html>
<html lang="{html.escape(config.site.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{head_links}
<style>
{_STYLE}
</style>
</head>
<body>
<main>
<h1 dir="auto">{title}</h1>
<p>Copy a feed's address into your feed reader, or import <a href="{OPML_FILE}">every feed at once (OPML)</a>.</p>
<table>
<thead><tr><th>Category</th><th>Items</th><th>Newest</th><th>Feeds</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</main>
</body>
</html>
"""
    return RenderedFeed(INDEX, page.encode("utf-8"), len(nodes))


def _row(node: FeedNode, config: Config) -> str:
    name = html.escape(node.path[-1] if node.path else "All posts")
    indent = f' style="padding-inline-start: {0.6 + 1.5 * max(len(node.path) - 1, 0):.1f}rem"'
    newest = node.articles[0].published.date().isoformat() if node.articles else "—"
    links = " ".join(
        f'<a href="{html.escape(feed_relpath(node, fmt))}" type="{FORMATS[fmt][1]}">{FORMAT_LABELS[fmt]}</a>'
        for fmt in config.output.formats
    )
    return (f'<tr><td dir="auto"{indent}>{name}</td><td class="count">{len(node.articles)}</td>'
            f'<td class="date">{newest}</td><td class="formats">{links}</td></tr>')


def autodiscovery_links(node: FeedNode, config: Config) -> str:
    """`<link rel="alternate">` tags for a page's <head>, one per written format, absolute URLs."""
    return "\n".join(
        f'<link rel="alternate" type="{FORMATS[fmt][1]}" '
        f'title="{html.escape(f"{feed_title(node, config)} ({FORMAT_LABELS[fmt]})")}" '
        f'href="{html.escape(feed_url(node, fmt, config))}">'
        for fmt in config.output.formats
    )


def find_node(nodes: list[FeedNode], category: str) -> FeedNode | None:
    """The node a user names: its slug path (`new-media/36kr`) or its category names joined by
    `/` (`新媒体/36kr`); an empty name is the site-wide feed."""
    wanted = category.strip().strip("/")
    for node in nodes:
        if wanted in ("/".join(node.slugs), "/".join(node.path)):
            return node
    return None
