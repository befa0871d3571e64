"""The build, top to bottom: load -> normalize -> group -> finish bodies -> render -> publish.

Bodies are finished (Markdown rendered, URLs rewritten, summary filled) after grouping, and only
for articles that appear in at least one written feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .browser import render_index, render_stylesheet
from .config import Config, ConfigError, load_config
from .group import group_articles, make_guids_unique
from .jsonfeed import render_json
from .load import PostError, find_post_files, read_post
from .model import Article, FeedNode, Problem
from .normalize import fill_summary, is_draft, new_markdown_converter, normalize_post, render_markdown
from .opml import render_opml
from .publish import inside, write_if_changed
from .render import RenderedFeed, render_node
from .websub import notify_hub


@dataclass
class BuildReport:
    """What a build did, as data; the CLI only formats it."""

    output_dir: Path
    posts_read: int = 0
    """Post files that became articles."""
    drafts: int = 0
    skipped: list[Problem] = field(default_factory=list)
    """Posts left out of every feed, each with the reason."""
    warnings: list[Problem] = field(default_factory=list)
    """Posts published despite a problem, each with what was done about it."""
    feeds_written: list[str] = field(default_factory=list)
    """Paths under output_dir of files whose bytes changed."""
    feeds_unchanged: list[str] = field(default_factory=list)
    hub_notified: list[str] = field(default_factory=list)
    """Feed URLs the WebSub hub accepted a publish ping for (changed feeds only)."""


def build(config: Config | str | Path | Mapping[str, Any], *, out: str | Path | None = None) -> BuildReport:
    """Build every feed of `config` (a Config, a YAML file path, or a mapping).

    Raises ConfigError before anything is written when the config or a post folder is unusable.
    """
    if not isinstance(config, Config):
        config = load_config(config, out=out)
    _check_post_folders(config)
    report = BuildReport(output_dir=config.output.dir)
    articles = _load_articles(config, report)
    report.warnings.extend(make_guids_unique(articles))
    nodes = group_articles(articles, config.output.limit, config.output.slugs)
    _finish_bodies(_published(nodes), report)
    for node in nodes:
        for feed in render_node(node, config):
            _publish(feed, config.output.dir, report)
    for extra in _subscription_files(nodes, config):
        _publish(extra, config.output.dir, report)
    hub = notify_hub(config, report.feeds_written)
    report.hub_notified.extend(hub.announced)
    report.warnings.extend(hub.problems)
    return report


def feed_nodes(config: Config | str | Path | Mapping[str, Any]) -> list[FeedNode]:
    """The feeds a build would write (posts read and grouped, nothing rendered or written)."""
    if not isinstance(config, Config):
        config = load_config(config)
    _check_post_folders(config)
    articles = _load_articles(config, BuildReport(output_dir=config.output.dir))
    return group_articles(articles, config.output.limit, config.output.slugs)


def _check_post_folders(config: Config) -> None:
    for index, folder in enumerate(config.posts):
        if not folder.dir.is_dir():
            # A missing mount must not turn into feeds that lost all their items.
            raise ConfigError(f"posts[{index}].dir", f"folder not found: {folder.dir}", config.file)


def _load_articles(config: Config, report: BuildReport) -> list[Article]:
    articles = []
    for folder in config.posts:
        for path in find_post_files(folder.dir):
            try:
                raw = read_post(path, folder.dir)
                if is_draft(raw.front):
                    report.drafts += 1
                    continue
                article = normalize_post(raw, folder, config)
            except PostError as exc:
                report.skipped.append(Problem(str(path), str(exc)))
                continue
            report.posts_read += 1
            report.warnings.extend(Problem(str(path), warning) for warning in raw.warnings)
            articles.append(article)
    return articles


def _published(nodes: list[FeedNode]) -> list[Article]:
    """Articles that appear in at least one feed, each once, in a stable order."""
    unique = {id(article): article for node in nodes for article in node.articles}
    return sorted(unique.values(), key=lambda article: article.source)


def _finish_bodies(articles: list[Article], report: BuildReport) -> None:
    converter = new_markdown_converter()
    for article in articles:
        render_markdown(article, converter)
        fill_summary(article)


def _subscription_files(nodes: list[FeedNode], config: Config) -> list[RenderedFeed]:
    """JSON Feeds, the OPML list, the browser stylesheet and the index page."""
    files = [render_json(node, config) for node in nodes] if "json" in config.output.formats else []
    files.append(render_opml(nodes, config))
    if config.output.stylesheet and {"rss", "atom"} & set(config.output.formats):
        files.append(render_stylesheet())
    if config.output.index:
        files.append(render_index(nodes, config))
    return files


def _publish(feed: RenderedFeed, out_dir: Path, report: BuildReport) -> None:
    changed = write_if_changed(inside(out_dir, feed.relpath), feed.data)
    (report.feeds_written if changed else report.feeds_unchanged).append(feed.relpath)
