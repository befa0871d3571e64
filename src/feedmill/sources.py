"""Remote sources: the upstream feeds to collect, read and validated from config.

Config shape (YAML shown; `data` is the value found under `key`, default "sources")::

    sources:
      base: https://rsshub.example.org     # optional; relative `url`s are joined to it
      feeds:
        - url: /36kr/news/latest            # required; absolute, or relative to `base`
          category: [新媒体, 36kr, 资讯]     # required; the category path, outermost first
          name: 36kr 资讯                    # optional; default derived from the URL
          enabled: true                     # optional; default true
          limit: 50                         # optional; newest N entries taken per fetch; default all
          rewrite: {...}                    # optional; passed through untouched, validated elsewhere

A bare list instead of the mapping is also accepted (sources without a `base`).
Each source's absolute URL identifies it in the article store, so two entries may not share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urljoin, urlsplit

from .config import ConfigError
from .model import CategoryPath

_SECTION_KEYS = {"base", "feeds"}
_SOURCE_KEYS = {"url", "category", "name", "enabled", "limit", "rewrite"}
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class RemoteSource:
    """One upstream feed to collect."""

    url: str
    """Absolute http(s) URL; also the source's identity in the store."""
    category: CategoryPath
    name: str
    enabled: bool = True
    limit: int | None = None
    """Take at most this many entries (upstream order) from each fetch; None takes all."""
    rewrite: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, compare=False, hash=False)
    """Per-source rewrite overrides, unvalidated here."""


def parse_sources(data: Any, key: str = "sources") -> list[RemoteSource]:
    """Validate the sources section; raise ConfigError naming the dotted key at fault."""
    if data is None:
        return []
    if isinstance(data, list):
        base, feeds, feeds_key = None, data, key
    elif isinstance(data, Mapping):
        _reject_unknown(data, _SECTION_KEYS, key)
        base = _parse_base(data.get("base"), f"{key}.base")
        feeds, feeds_key = data.get("feeds", []), f"{key}.feeds"
        if not isinstance(feeds, list):
            raise ConfigError(feeds_key, "must be a list of sources")
    else:
        raise ConfigError(key, "must be a list of sources or a mapping with `base` and `feeds`")
    sources = [_parse_source(item, base, f"{feeds_key}[{i}]") for i, item in enumerate(feeds)]
    _reject_duplicates(sources, feeds_key)
    return sources


def _parse_base(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _is_absolute_http(value):
        raise ConfigError(key, "must be an absolute http(s) URL")
    # Without a trailing slash urljoin would drop the base's last path segment.
    return value if value.endswith("/") else value + "/"


def _parse_source(item: Any, base: str | None, key: str) -> RemoteSource:
    if not isinstance(item, Mapping):
        raise ConfigError(key, "must be a mapping with at least `url` and `category`")
    _reject_unknown(item, _SOURCE_KEYS, key)
    url = _parse_url(item.get("url"), base, f"{key}.url")
    return RemoteSource(
        url=url,
        category=_parse_category(item.get("category"), f"{key}.category"),
        name=_parse_name(item.get("name"), url, f"{key}.name"),
        enabled=_parse_bool(item.get("enabled", True), f"{key}.enabled"),
        limit=_parse_limit(item.get("limit"), f"{key}.limit"),
        rewrite=_parse_rewrite(item.get("rewrite"), f"{key}.rewrite"),
    )


def _parse_url(value: Any, base: str | None, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, "is required and must be a URL string")
    value = value.strip()
    if _is_absolute_http(value):
        return value
    if urlsplit(value).scheme:
        raise ConfigError(key, f"only http and https URLs are supported, not {value!r}")
    if base is None:
        raise ConfigError(key, f"relative URL {value!r} needs a `base` URL")
    # RSSHub routes start with "/" but belong under the base's path, not the host root.
    return urljoin(base, value.lstrip("/"))


def _parse_category(value: Any, key: str) -> CategoryPath:
    if not isinstance(value, list) or not value:
        raise ConfigError(key, "is required and must be a non-empty list of names")
    for i, part in enumerate(value):
        if not isinstance(part, str) or not part.strip():
            raise ConfigError(f"{key}[{i}]", "must be a non-empty string")
    return tuple(part.strip() for part in value)


def _parse_name(value: Any, url: str, key: str) -> str:
    if value is None:
        parts = urlsplit(url)
        return parts.path.strip("/") or parts.netloc
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, "must be a non-empty string")
    return value.strip()


def _parse_bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, "must be true or false")
    return value


def _parse_limit(value: Any, key: str) -> int | None:
    if value is None:
        return None
    # bool is an int subclass; `limit: true` is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(key, "must be a positive whole number")
    return value


def _parse_rewrite(value: Any, key: str) -> Mapping[str, Any]:
    if value is None:
        return _EMPTY
    if not isinstance(value, Mapping):
        raise ConfigError(key, "must be a mapping")
    return MappingProxyType(dict(value))


def _reject_unknown(mapping: Mapping[Any, Any], allowed: set[str], key: str) -> None:
    for name in mapping:
        if name not in allowed:
            raise ConfigError(f"{key}.{name}", f"unknown setting (known: {', '.join(sorted(allowed))})")


def _reject_duplicates(sources: list[RemoteSource], key: str) -> None:
    seen: dict[str, int] = {}
    for i, source in enumerate(sources):
        if source.url in seen:
            raise ConfigError(f"{key}[{i}].url", f"same URL as {key}[{seen[source.url]}]: {source.url}")
        seen[source.url] = i


def _is_absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
