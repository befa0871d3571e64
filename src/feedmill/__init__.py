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


if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    from .collector import CollectReport
    from .fetch import FetchSettings


def collect(
    config: Config | str | Path | Mapping[str, Any],
    *,
    write_posts_to: str | Path | None = None,
    wait: float = 0,
    settings: FetchSettings | None = None,
) -> CollectReport:
    """Fetch the config's remote sources into the article store: see `feedmill.collector.collect`.

    Imported on first use: `build` does not need the HTTP client.
    """
    from .collector import collect as collect_sources_of

    return collect_sources_of(config, write_posts_to=write_posts_to, wait=wait, settings=settings)


__all__ = [
    "Article", "BuildLocked", "BuildReport", "Config", "ConfigError", "FeedNode", "Problem",
    "__version__", "build", "collect", "load_config",
]
