"""Settings: loaded from YAML or a mapping, validated, with a default for each.

Every setting, its default and its meaning is listed in docs/configuration.md. Validation happens
in full before the build touches anything, so a config error never leaves feeds half-written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

if TYPE_CHECKING:
    from .rewrite_settings import RewriteSettings
    from .sources import RemoteSource

DEFAULT_PERMALINK = ":year/:month/:day/:title/"
DEFAULT_STATE_DIR = ".feedmill"
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
FEED_FILE_NAMES = {"rss": "rss.xml", "atom": "atom.xml", "json": "feed.json"}
"""The file each feed format is written to, in every node's folder."""
FEED_FORMATS = tuple(FEED_FILE_NAMES)
_REQUIRED = object()


class ConfigError(Exception):
    """A setting is missing, unknown or of the wrong type. The message names the key and the file."""

    def __init__(self, key: str, message: str, file: str | None = None) -> None:
        self.key = key
        self.file = file
        self.message = message
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{key}: {message}" if key else f"{where}{message}")


@dataclass(frozen=True)
class SiteSettings:
    title: str
    url: str
    """Base URL of the site, ending in '/'."""
    description: str = ""
    language: str = "en"
    author: str = ""
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    """Zone for naive post dates and for the :year/:month/:day permalink tokens."""


@dataclass(frozen=True)
class PostFolder:
    dir: Path
    permalink: str = DEFAULT_PERMALINK


@dataclass(frozen=True)
class OutputSettings:
    dir: Path
    url: str
    """Public URL of the output folder, ending in '/'."""
    limit: int = 20
    slugs: Mapping[str, str] = field(default_factory=dict)
    formats: tuple[str, ...] = FEED_FORMATS
    """Feed formats written for every node, a subset of FEED_FORMATS."""
    opml_format: str = "rss"
    """The format feeds.opml points to; one of `formats`."""
    stylesheet: bool = True
    """Write feed.xsl and point RSS/Atom files at it, so browsers show a readable page."""
    index: bool = True
    """Write index.html, the page that lists every feed."""


@dataclass(frozen=True)
class WebSubSettings:
    hub: str | None = None
    """Hub URL; when set, feeds declare it and changed feeds are announced to it."""
    timeout: int = 10
    """Seconds to wait for the hub per request."""
    retries: int = 2
    """Extra attempts after a failed request."""


@dataclass(frozen=True)
class Retention:
    """How long stored remote articles are kept; None keeps them all (the default)."""

    max_age_days: int | None = None
    max_items: int | None = None
    """Per source: the newest this many are kept."""


@dataclass(frozen=True)
class Config:
    root: Path
    site: SiteSettings
    posts: tuple[PostFolder, ...]
    output: OutputSettings
    state_dir: Path
    """Build cache and lock file."""
    undated: str = "skip"
    """What to do with a post that has no usable date: 'skip' it or use the file's 'mtime'."""
    rewrite: RewriteSettings | None = None
    """Image/link rules and sanitizing (docs/rewriting.md); None means the defaults."""
    file: str | None = None
    websub: WebSubSettings = field(default_factory=WebSubSettings)
    sources: tuple[RemoteSource, ...] = ()
    """Remote feeds to collect into the article store (see `collect`)."""
    source_rewrites: Mapping[str, RewriteSettings] = field(default_factory=dict)
    """A source's own `rewrite` section, by source URL: used instead of the global one."""
    retention: Retention = field(default_factory=lambda: Retention())

    def display_path(self, path: str | Path) -> str:
        """A post's path for messages and `Article.source`: relative to `root` when inside it,
        so output (a guid suffix, ties in sorting) does not depend on where the site lives."""
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def load_config(source: str | Path | Mapping[str, Any], *, out: str | Path | None = None) -> Config:
    """Read and validate a config from a YAML file path or from a mapping.

    Relative paths in the config are resolved against `root`, which is itself relative to the
    config file's folder (to the current directory for a mapping). `out` overrides output.dir.
    """
    if isinstance(source, Mapping):
        data, file, base = source, None, Path.cwd()
    else:
        path = Path(source)
        file = str(path)
        data = _read_yaml(path)
        base = path.resolve().parent
    config = _parse(data, base, file)
    if out is not None:
        config = replace(config, output=replace(config.output, dir=Path(out).resolve()))
    return config


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("", "config file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"cannot read config: {exc}", str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError("", f"invalid YAML: {exc}", str(path)) from None


def _parse(data: Any, base: Path, file: str | None) -> Config:
    top = _Section(data, "", file)
    root = (base / top.get("root", str, ".")).resolve()
    site = _parse_site(top.section("site"))
    permalink = top.get("permalink", str, DEFAULT_PERMALINK)
    posts = tuple(
        _parse_post_folder(_Section(item, f"posts[{i}]", file), root, permalink)
        for i, item in enumerate(top.get("posts", list, []))
    )
    output = _parse_output(top.section("output"), root, site.url)
    state_dir = (root / top.get("state_dir", str, DEFAULT_STATE_DIR)).resolve()
    undated = top.get("undated", str, "skip")
    if undated not in ("skip", "mtime"):
        raise ConfigError("undated", f"must be 'skip' or 'mtime', not {undated!r}", file)
    rewrite = _parse_rewrite(top.get("rewrite", dict, None), file)
    websub = _parse_websub(top.section("websub"))
    sources, source_rewrites = _parse_sources(top.get("sources", (dict, list), None), file)
    retention = _parse_retention(top.section("retention"))
    top.done()
    return Config(root, site, posts, output, state_dir, undated, rewrite, file, websub,
                  sources, source_rewrites, retention)


def _parse_sources(data: Any, file: str | None) -> tuple[tuple[RemoteSource, ...], dict[str, RewriteSettings]]:
    # Imported here: the sources module needs this one's ConfigError.
    from .rewrite_settings import parse_rewrite_settings
    from .sources import parse_sources

    try:
        sources = tuple(parse_sources(data))
        rewrites = {}
        for index, source in enumerate(sources):
            if source.rewrite:
                key = _source_key(data, index) + ".rewrite"
                rewrites[source.url] = parse_rewrite_settings(source.rewrite, key)
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.message, file) from None
    return sources, rewrites


def _source_key(data: Any, index: int) -> str:
    return f"sources.feeds[{index}]" if isinstance(data, Mapping) else f"sources[{index}]"


def _parse_retention(section: _Section) -> Retention:
    retention = Retention(
        max_age_days=section.get("max_age_days", int, None),
        max_items=section.get("max_items", int, None),
    )
    for name in ("max_age_days", "max_items"):
        value = getattr(retention, name)
        if value is not None and value < 1:
            raise section.error(name, "must be 1 or more (leave it out to keep everything)")
    section.done()
    return retention


def _parse_rewrite(data: Mapping[str, Any] | None, file: str | None) -> RewriteSettings:
    # Imported here: the rewrite settings module needs this one's ConfigError.
    from .rewrite_settings import parse_rewrite_settings

    try:
        return parse_rewrite_settings(data)
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.message, file) from None


def _parse_site(section: _Section) -> SiteSettings:
    title = section.get("title", str)
    url = _base_url(section, "url")
    zone_name = section.get("timezone", str, "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise section.error("timezone", f"unknown time zone {zone_name!r}") from None
    site = SiteSettings(
        title=title,
        url=url,
        description=section.get("description", str, ""),
        language=section.get("language", str, "en"),
        author=section.get("author", str, "") or title,
        timezone=zone,
    )
    section.done()
    return site


def _parse_post_folder(section: _Section, root: Path, permalink: str) -> PostFolder:
    folder = PostFolder(
        dir=(root / section.get("dir", str)).resolve(),
        permalink=section.get("permalink", str, permalink),
    )
    section.done()
    return folder


def _parse_output(section: _Section, root: Path, site_url: str) -> OutputSettings:
    out_dir = (root / section.get("dir", str, "feeds")).resolve()
    url = _base_url(section, "url", site_url + "feeds/")
    limit = section.get("limit", int, 20)
    if limit < 0:
        raise section.error("limit", "must be 0 (no limit) or a positive number")
    slugs = section.get("slugs", dict, {})
    for name, slug in slugs.items():
        if not isinstance(slug, str) or not SLUG_PATTERN.match(slug):
            raise section.error(
                f"slugs.{name}", f"{slug!r} is not a slug (lowercase letters, digits, '-' and '_')"
            )
    formats = _parse_formats(section)
    opml_format = section.get("opml_format", str, formats[0])
    if opml_format not in formats:
        raise section.error("opml_format", f"must be one of output.formats {list(formats)}, not {opml_format!r}")
    stylesheet = section.get("stylesheet", bool, True)
    index = section.get("index", bool, True)
    section.done()
    return OutputSettings(dir=out_dir, url=url, limit=limit, slugs={str(k): v for k, v in slugs.items()},
                          formats=formats, opml_format=opml_format, stylesheet=stylesheet, index=index)


def _parse_formats(section: _Section) -> tuple[str, ...]:
    formats = section.get("formats", list, list(FEED_FORMATS))
    if not formats or any(fmt not in FEED_FORMATS for fmt in formats):
        raise section.error("formats", f"must list one or more of {', '.join(FEED_FORMATS)}, not {formats!r}")
    return tuple(dict.fromkeys(formats))


def _parse_websub(section: _Section) -> WebSubSettings:
    hub = section.get("hub", str, None)
    if hub is not None and not re.match(r"^https?://[^/\s]+", hub):
        raise section.error("hub", f"must be an absolute http(s) URL, not {hub!r}")
    timeout = section.get("timeout", int, 10)
    retries = section.get("retries", int, 2)
    if timeout < 1:
        raise section.error("timeout", "must be at least 1 (seconds)")
    if retries < 0:
        raise section.error("retries", "must be 0 or more")
    section.done()
    return WebSubSettings(hub=hub, timeout=timeout, retries=retries)


def _base_url(section: _Section, key: str, default: Any = _REQUIRED) -> str:
    url = section.get(key, str, default)
    if not re.match(r"^https?://[^/\s]+", url):
        raise section.error(key, f"must be an absolute http(s) URL, not {url!r}")
    return url if url.endswith("/") else url + "/"


class _Section:
    """One mapping of the config: typed look-ups by key, and an error for every key left unread."""

    def __init__(self, data: Any, path: str, file: str | None) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(path or "(top level)", f"expected a mapping, got {_kind(data)}", file)
        self._data = data
        self._path = path
        self._file = file
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self._path}.{name}" if self._path else name

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.key(name), message, self._file)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = _REQUIRED) -> Any:
        self._read.add(name)
        value = self._data.get(name)
        if value is None:
            if default is _REQUIRED:
                raise self.error(name, "is required")
            return default
        # YAML reads `1936` as an int; a string setting takes its literal text.
        if kind is str and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            wanted = " or ".join(map(_kind_name, kind)) if isinstance(kind, tuple) else _kind_name(kind)
            raise self.error(name, f"expected {wanted}, got {_kind(value)}")
        return value

    def section(self, name: str) -> _Section:
        self._read.add(name)
        return _Section(self._data.get(name), self.key(name), self._file)

    def done(self) -> None:
        unknown = sorted(str(k) for k in self._data if k not in self._read)
        if unknown:
            raise self.error(unknown[0], "unknown setting")


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "a whole number", bool: "true or false",
            list: "a list", dict: "a mapping"}[kind]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {str: "a string", int: "a number", float: "a number", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)
