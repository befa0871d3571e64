"""feedmill: per-category RSS 2.0, Atom and JSON feeds from Hexo-style posts and remote feeds.

    >>> import feedmill
    >>> report = feedmill.build("config/feedmill.yml")
    >>> report.feeds_written
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .config import Config, ConfigError, load_config  # noqa: E402
from .model import Article, FeedNode, Problem  # noqa: E402
from .pipeline import BuildReport, build  # noqa: E402
from .state import BuildLocked  # noqa: E402


def collect(*args, **kwargs):  # type: ignore[no-untyped-def]
    """See `feedmill.collector.collect`; imported on use, since it loads the HTTP client."""
    from .collector import collect as collect_config

    return collect_config(*args, **kwargs)


__all__ = [
    "Article", "BuildLocked", "BuildReport", "Config", "ConfigError", "FeedNode", "Problem",
    "__version__", "build", "collect", "load_config",
]
