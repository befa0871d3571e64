"""feedmill: per-category RSS 2.0 and Atom feeds from Hexo-style posts.

    >>> import feedmill
    >>> report = feedmill.build("config/feedmill.yml")
    >>> report.feeds_written
"""

__version__ = "0.1.0"

from .config import Config, ConfigError, load_config  # noqa: E402
from .model import Article, FeedNode, Problem  # noqa: E402
from .pipeline import BuildReport, build  # noqa: E402

__all__ = [
    "Article", "BuildReport", "Config", "ConfigError", "FeedNode", "Problem",
    "__version__", "build", "load_config",
]
