"""Normalize stage: turn a RawPost's front matter into an Article's typed fields.

The body is left as it is here; `render_markdown` and the rewrite stage finish it later, and only for
articles that land in a written feed (most of a large corpus never needs its body parsed).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from .config import Config, PostFolder
from .load import PostError, RawPost
from .model import Article, CategoryPath
from .urls import UrlError, quote_segment, to_uri

if TYPE_CHECKING:
    import markdown

IMAGE_KEYS = ("headimg", "thumbnail", "cover", "image")
SUMMARY_KEYS = ("description", "excerpt")
SUMMARY_LENGTH = 200
_ISO_DATE = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
# Feed readers and the W3C validator treat earlier publication dates as implausible.
EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=timezone.utc)
_TRUE = {"true", "yes", "on"}
_FALSE = {"false", "no", "off"}


def is_draft(front: Mapping[str, Any]) -> bool:
    """Hexo's `published: false`, or `draft: true`."""
    return _flag(front.get("published")) is False or _flag(front.get("draft")) is True


def normalize_post(raw: RawPost, folder: PostFolder, config: Config) -> Article:
    """Build an Article from a post's front matter. Raises PostError when the post is unusable.

    Problems that still leave a usable article are appended to `raw.warnings`.
    """
    front = raw.front
    zone = config.site.timezone
    published = _post_date(raw, zone, config.undated)
    updated = _optional_date(raw, zone)
    title = _title(raw)
    categories = _categories(raw)
    link = _link(raw, folder, config, title, published, categories)
    return Article(
        source=config.display_path(raw.path),
        title=title,
        link=link,
        guid=link,
        published=published,
        updated=updated if updated and updated > published else None,
        author=_text(front.get("author")) or None,
        summary=_front_summary(front),
        content=raw.body,
        content_format="markdown" if raw.is_markdown else "html",
        categories=categories,
        tags=_tags(raw),
        image=_image(front),
    )


# --- dates -----------------------------------------------------------------------------------


def parse_date(value: Any, zone: tzinfo) -> datetime | None:
    """Read RFC 822, ISO 8601 (with or without offset) or `YYYY-MM-DD HH:MM:SS` dates.

    Naive dates are taken to be in `zone`. Returns None for anything else.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if match := _ISO_DATE.match(text):
        return _from_iso_match(match, zone)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _from_iso_match(match: re.Match[str], zone: tzinfo) -> datetime | None:
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    if offset is None:
        return moment.replace(tzinfo=zone)
    if offset.upper() == "Z":
        return moment.replace(tzinfo=timezone.utc)
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        return None  # "+25:00" is no offset; the post is reported as undated
    return moment.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))


def _post_date(raw: RawPost, zone: tzinfo, undated: str) -> datetime:
    value = raw.front.get("date")
    parsed = parse_date(value, zone)
    if parsed is not None and parsed >= EARLIEST_DATE:
        return parsed
    if parsed is not None:
        reason = f"date {_text(value)!r} is before 1990, which feed readers treat as implausible"
    elif value in (None, ""):
        reason = "no date"
    else:
        reason = f"date {_text(value)!r} is not a date"
    if undated == "mtime":
        raw.warnings.append(f"{reason}; using the file's modification time")
        return datetime.fromtimestamp(raw.path.stat().st_mtime, tz=timezone.utc).replace(microsecond=0)
    raise PostError(f"{reason} (set `undated: mtime` to date such posts by file time)")


def _optional_date(raw: RawPost, zone: tzinfo) -> datetime | None:
    for key in ("updated", "updated_at"):
        value = raw.front.get(key)
        if value in (None, ""):
            continue
        parsed = parse_date(value, zone)
        if parsed is None:
            raw.warnings.append(f"{key} {_text(value)!r} is not a date; ignored")
        return parsed
    return None


# --- text fields -----------------------------------------------------------------------------


def _title(raw: RawPost) -> str:
    value = raw.front.get("title")
    if isinstance(value, (dict, list)):
        raw.warnings.append("title is not text; using the file name")
        value = None
    title = clean_text(_text(value))
    if not title:
        title = clean_text(PurePosixPath(raw.relpath).stem)
    if not title:
        title = fold_space(html_to_text(raw.body))[:80] or "Untitled"
    return title


def _front_summary(front: Mapping[str, Any]) -> str:
    for key in SUMMARY_KEYS:
        text = _text(front.get(key))
        if text.strip():
            return truncate(fold_space(html_to_text(text)), SUMMARY_LENGTH)
    return ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def clean_text(text: str) -> str:
    """Unescape HTML entities once (`&#123;` -> `{`) and fold runs of white space."""
    return fold_space(html.unescape(text))


def fold_space(text: str) -> str:
    return " ".join(text.split())


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment, entities decoded once (script and style are not text)."""
    if "<" not in fragment:
        return html.unescape(fragment)
    import lxml.html  # loaded on first use: a no-change rebuild never needs it

    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # noqa: BLE001 - lxml raises several types for hopeless markup
        return re.sub(r"<[^>]*>", " ", fragment)
    for element in root.iter("script", "style", "noscript", "template"):
        element.text = None
    return root.text_content()


def truncate(text: str, length: int) -> str:
    if len(text) <= length:
        return text
    cut = text[:length]
    # Cut at a word boundary when the text has spaces (Latin); CJK text has none to cut at.
    if " " in cut[length // 2:]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:，。；：") + "…"


def _flag(value: Any) -> bool | None:
    text = _text(value).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


# --- categories, tags, image -----------------------------------------------------------------


def _categories(raw: RawPost) -> tuple[CategoryPath, ...]:
    """Hexo semantics: `[A, B]` is the path A > B; `[[A, B], [C]]` two paths; a string one."""
    value = raw.front.get("categories", raw.front.get("category"))
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return _paths([[value]], raw)
    if isinstance(value, list):
        if any(isinstance(item, list) for item in value):
            return _paths([item if isinstance(item, list) else [item] for item in value], raw)
        return _paths([value], raw)
    raw.warnings.append(f"categories is a {_kind(value)}, not a name or a list; ignored")
    return ()


def _paths(candidates: list[list[Any]], raw: RawPost) -> tuple[CategoryPath, ...]:
    paths: list[CategoryPath] = []
    for candidate in candidates:
        names: list[str] = []
        for item in candidate:
            if not isinstance(item, str):
                raw.warnings.append(f"category {item!r} is a {_kind(item)}, not a name; ignored")
                break
            if name := clean_text(item):
                names.append(name)
        if names and tuple(names) not in paths:
            paths.append(tuple(names))
    return tuple(paths)


def _tags(raw: RawPost) -> tuple[str, ...]:
    value = raw.front.get("tags")
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    if value is not None and not isinstance(value, (str, list)):
        raw.warnings.append(f"tags is a {_kind(value)}, not a list; ignored")
    tags = [clean_text(item) for item in items if isinstance(item, str)]
    return tuple(dict.fromkeys(tag for tag in tags if tag))


def _image(front: Mapping[str, Any]) -> str | None:
    for key in IMAGE_KEYS:
        value = front.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _kind(value: Any) -> str:
    return {dict: "mapping", list: "list"}.get(type(value), type(value).__name__)


# --- links -----------------------------------------------------------------------------------


def _link(
    raw: RawPost, folder: PostFolder, config: Config, title: str, published: datetime,
    categories: tuple[CategoryPath, ...],
) -> str:
    site = config.site.url
    for key in ("link", "permalink"):
        value = raw.front.get(key)
        if isinstance(value, str) and value.strip():
            url = value.strip()
            try:
                return to_uri(url if re.match(r"^https?://", url, re.I) else site + url.lstrip("/"))
            except UrlError as exc:
                raw.warnings.append(f"{key} {url!r} is not a usable URL ({exc.reason}); using the permalink pattern")
    local = published.astimezone(config.site.timezone)
    return to_uri(site + expand_permalink(folder.permalink, raw.relpath, title, local, categories))


_PERMALINK_TOKEN = re.compile(
    ":(i_month|i_day|post_title|category|minute|second|month|title|year|hour|name|day)"  # longest first
)


def expand_permalink(
    pattern: str, relpath: str, title: str, local: datetime, categories: tuple[CategoryPath, ...]
) -> str:
    """Fill Hexo permalink tokens; every token value is percent-encoded on its own."""
    stem = PurePosixPath(relpath).with_suffix("")
    tokens = {
        "year": f"{local.year:04d}", "month": f"{local.month:02d}", "day": f"{local.day:02d}",
        "i_month": str(local.month), "i_day": str(local.day),
        "hour": f"{local.hour:02d}", "minute": f"{local.minute:02d}", "second": f"{local.second:02d}",
        "title": "/".join(quote_segment(part) for part in stem.parts),
        "name": quote_segment(stem.name),
        "post_title": quote_segment(title),
        "category": "/".join(quote_segment(name) for name in categories[0]) if categories else "uncategorized",
    }
    return _PERMALINK_TOKEN.sub(lambda m: tokens[m.group(1)], pattern).lstrip("/")


# --- the deferred body work ------------------------------------------------------------------


def render_markdown(article: Article, converter: markdown.Markdown) -> None:
    """Turn a Markdown body into HTML; raw HTML blocks pass through unchanged."""
    if article.content_format != "markdown":
        return
    body = article.content.strip()
    if not _is_one_html_block(body, converter.block_level_elements):
        body = converter.reset().convert(body)
    article.content, article.content_format = body, "html"


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*>")


def _is_one_html_block(body: str, block_tags: list[str]) -> bool:
    """Is the whole body one block-level HTML element? Markdown would pass it through as is.

    Generated posts are mostly a single `<div>...</div>`; Python-Markdown's raw-HTML scanning
    costs about 5 ms for such a body, this check a few microseconds.
    """
    first = _TAG.match(body)
    if not first or first.group(1) or first.group(2).lower() not in block_tags:
        return False
    name, depth = first.group(2).lower(), 0
    for tag in _TAG.finditer(body):
        if tag.group(2).lower() != name:
            continue
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return tag.end() == len(body)
    return False


def new_markdown_converter() -> markdown.Markdown:
    import markdown  # loaded on first use: a no-change rebuild never needs it

    return markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")
