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
    from .collector import collect


def __getattr__(name: str) -> object:
    # `collect` loads the HTTP client, which `build` never needs: imported on first use.
    if name == "collect":
        from .collector import collect

        return collect
    raise AttributeError(f"module 'feedmill' has no attribute {name!r}")


__all__ = [
    "Article", "BuildLocked", "BuildReport", "Config", "ConfigError", "FeedNode", "Problem",
    "__version__", "build", "collect", "load_config",
]
