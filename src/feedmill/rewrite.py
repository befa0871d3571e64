"""Rewrite image and link URLs by config rules, and sanitize article bodies.

    settings = parse_rewrite_settings(config_data.get("rewrite"))
    rewriter = Rewriter(settings)
    for article in articles_in_written_feeds:
        problems += rewriter.rewrite_article(article)
    report = rewriter.report()

Rules are tried in order and the first match wins. `unwrap` is the only action whose result is
looked at again (from the first rule), so nested proxies come apart and a rule for the inner host
still applies; every other action is final. See docs/rewriting.md.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from feedmill.model import Article, Problem
from feedmill.normalize import SUMMARY_LENGTH, fold_space, truncate
from feedmill.rewrite_settings import (
    TARGETS,
    RewriteSettings,
    Rule,
    SanitizeSettings,
    parse_rewrite_settings,
)
from feedmill.sanitize import HtmlError, Sanitizer, is_placeholder, strip_xml_illegal
from feedmill.urls import UrlError, absolutize, normalize_http, normalize_other, scheme_of

__all__ = [
    "RewriteReport", "RewriteSettings", "Rewriter", "Rule", "RuleCount", "SanitizeSettings",
    "UnsafeUrl", "parse_rewrite_settings",
]

MAX_UNWRAP_DEPTH = 8
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel", "ftp"})
_ENCODED_SCHEME = re.compile(r"^https?%3A", re.IGNORECASE)
_HTTP_SLASHES = re.compile(r"^(https?):/*", re.IGNORECASE)
_HOST_FIRST = re.compile(r"^(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}(?::\d+)?(?:/|$)|^\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?:/|$)")
_EXAMPLES_PER_PROBLEM = 3
INSECURE = "still plain http:// (blocked as mixed content by https readers); add an https or proxy rule"


@dataclass(frozen=True)
class RuleCount:
    """How many URLs one rule rewrote (matched) during the build."""

    index: int
    label: str
    action: str
    count: int


@dataclass(frozen=True)
class UnsafeUrl:
    """A URL no rule could make safe: `dropped` (removed from the output) or kept as insecure http."""

    url: str
    reason: str
    dropped: bool
    sources: tuple[str, ...]


@dataclass(frozen=True)
class RewriteReport:
    """Plain data for the build report."""

    articles: int
    rules: tuple[RuleCount, ...]
    unmatched: int
    """URLs (of any target) that no rule matched and were only normalized."""
    unsafe: tuple[UnsafeUrl, ...]

    def as_dict(self) -> dict:
        return {
            "articles": self.articles,
            "rules": [asdict(r) for r in self.rules],
            "unmatched": self.unmatched,
            "unsafe": [asdict(u) | {"sources": list(u.sources)} for u in self.unsafe],
        }


def combine_reports(reports: Sequence[RewriteReport]) -> RewriteReport | None:
    """One report from several made with the same settings (one per worker process)."""
    if not reports:
        return None
    counts: Counter[int] = Counter()
    unsafe: dict[tuple[str, str, bool], set[str]] = {}
    for report in reports:
        counts.update({rule.index: rule.count for rule in report.rules})
        for url in report.unsafe:
            unsafe.setdefault((url.url, url.reason, url.dropped), set()).update(url.sources)
    return RewriteReport(
        articles=sum(r.articles for r in reports),
        rules=tuple(replace(rule, count=counts[rule.index]) for rule in reports[0].rules),
        unmatched=sum(r.unmatched for r in reports),
        unsafe=tuple(UnsafeUrl(url, reason, dropped, tuple(sorted(sources)))
                     for (url, reason, dropped), sources in sorted(unsafe.items())),
    )


@dataclass
class _ArticleLog:
    """URLs dropped in one article, grouped by reason, for its Problems."""

    source: str
    dropped: dict[str, list[str]] = field(default_factory=dict)

    def problems(self) -> list[Problem]:
        out = []
        for reason, urls in self.dropped.items():
            shown = ", ".join(repr(u[:200]) for u in urls[:_EXAMPLES_PER_PROBLEM])
            more = f" and {len(urls) - _EXAMPLES_PER_PROBLEM} more" if len(urls) > _EXAMPLES_PER_PROBLEM else ""
            out.append(Problem(self.source, f"dropped {len(urls)} URL(s), {reason}: {shown}{more}"))
        return out


class Rewriter:
    """Applies one `RewriteSettings` to many articles and keeps per-build statistics.

    Create one per build (statistics accumulate) and per thread (it holds an lxml parser)."""

    def __init__(self, settings: RewriteSettings | None = None) -> None:
        self.settings = settings or parse_rewrite_settings(None)
        self._sanitizer = Sanitizer(self.settings.sanitize)
        self._regex = {r.index: re.compile(r.pattern) for r in self.settings.rules if r.match_kind == "regex"}
        self._counts: Counter[int] = Counter()
        self._unmatched = 0
        self._unsafe: dict[tuple[str, str, bool], set[str]] = {}
        self._articles = 0

    # ----- public API -----

    def rewrite_url(self, url: str, base: str, *, target: str = "images", source: str = "") -> str | None:
        """The rewritten absolute URL, or None when it must be dropped. Counts into the report.

        `target` is the kind of URL (`images`, `media` or `links`): rules only see their targets."""
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}; expected one of: {', '.join(TARGETS)}")
        new, _ = self._resolve(url, base, target, False, _ArticleLog(source))
        return new

    def rewrite_article(self, article: Article) -> list[Problem]:
        """Rewrite `article.content` and `article.image` in place; never raises.

        An empty `article.summary` is filled from the cleaned body: its text before Hexo's
        `<!-- more -->`, else its first SUMMARY_LENGTH characters."""
        self._articles += 1
        log = _ArticleLog(article.source)
        problems: list[Problem] = []
        try:
            article.image = self._lead_image(article, log, problems)
            article.content = self._body(article, log, problems)
        except Exception as e:  # noqa: BLE001 - one bad article must not stop the build
            # A bug here must not publish unsanitized HTML, nor lose the prose.
            text = article.content if isinstance(article.content, str) else ""
            article.content = _plain_text_html(text) if text.strip() else ""
            problems.append(Problem(article.source, f"rewrite failed ({type(e).__name__}: {e}); kept as plain text"))
        return log.problems() + problems

    def report(self) -> RewriteReport:
        """Rewrite counts per rule and the URLs no rule could make safe, so far."""
        rules = tuple(RuleCount(r.index, r.label, r.action, self._counts[r.index]) for r in self.settings.rules)
        unsafe = tuple(
            UnsafeUrl(url, reason, dropped, tuple(sorted(sources)))
            for (url, reason, dropped), sources in sorted(self._unsafe.items())
        )
        return RewriteReport(self._articles, rules, self._unmatched, unsafe)

    # ----- article parts -----

    def _lead_image(self, article: Article, log: _ArticleLog, problems: list[Problem]) -> str | None:
        if not article.image or not article.image.strip():
            return None
        if is_placeholder(article.image):
            problems.append(Problem(article.source, f"lead image {article.image!r} is a placeholder, not an image; dropped"))
            return None
        new, _ = self._resolve(article.image, article.link, "images", False, log)
        return new

    def _body(self, article: Article, log: _ArticleLog, problems: list[Problem]) -> str:
        if not article.content.strip():
            return strip_xml_illegal(article.content)

        def hook(url: str, target: str, data_ok: bool) -> tuple[str | None, bool]:
            return self._resolve(url, article.link, target, data_ok, log)

        try:
            cleaned = self._sanitizer.clean(article.content, article.source, hook)
        except HtmlError as e:
            problems.append(Problem(article.source, f"body could not be parsed completely ({e}); kept as plain text"))
            return _plain_text_html(article.content)
        if not article.summary:
            if cleaned.excerpt is not None:
                article.summary = fold_space(cleaned.excerpt)
            else:
                article.summary = truncate(fold_space(cleaned.text), SUMMARY_LENGTH)
        return cleaned.html

    # ----- one URL -----

    def _resolve(self, url: str, base: str, target: str, data_ok: bool, log: _ArticleLog) -> tuple[str | None, bool]:
        """(new URL or None, whether a rule asked for referrerpolicy)."""
        try:
            new, referrer = self._resolve_or_raise(url, base, target, data_ok)
        except UrlError as e:
            shown = _shorten(url.strip())
            log.dropped.setdefault(e.reason, []).append(shown)
            self._unsafe.setdefault((shown, e.reason, True), set()).add(log.source)
            return None, False
        if new is not None and target in ("images", "media") and new.startswith("http:"):
            self._unsafe.setdefault((new, INSECURE, False), set()).add(log.source)
        return new, referrer

    def _resolve_or_raise(self, url: str, base: str, target: str, data_ok: bool) -> tuple[str | None, bool]:
        scheme = scheme_of(url)
        if scheme == "data":
            return _data_url(url, data_ok and self.settings.sanitize.allow_data_images), False
        absolute = absolutize(url, base)
        scheme = scheme_of(absolute)
        if scheme not in ("http", "https"):
            if target in ("links", "other") and scheme in LINK_SCHEMES:
                return normalize_other(absolute), False
            raise UrlError(url, f"scheme {scheme!r} is not allowed here")
        if target == "other":
            return normalize_http(absolute), False
        return self._apply_rules(normalize_http(absolute), target)

    def _apply_rules(self, url: str, target: str) -> tuple[str | None, bool]:
        referrer = False
        for _ in range(MAX_UNWRAP_DEPTH):
            rule = self._first_match(url, target)
            if rule is None:
                self._unmatched += 1
                return url, referrer
            self._counts[rule.index] += 1
            referrer |= rule.referrerpolicy
            if rule.action != "unwrap":
                return _act(rule, url), referrer
            url = normalize_http(_unwrap(rule, url))
        raise UrlError(url, f"more than {MAX_UNWRAP_DEPTH} nested proxies")

    def _first_match(self, url: str, target: str) -> Rule | None:
        host = urlsplit(url).hostname or ""
        for rule in self.settings.rules:
            if target in rule.targets and self._matches(rule, url, host):
                return rule
        return None

    def _matches(self, rule: Rule, url: str, host: str) -> bool:
        kind = rule.match_kind
        if kind == "host":
            return host == rule.pattern
        if kind == "host_glob":
            return fnmatchcase(host, rule.pattern)
        if kind == "prefix":
            return url.startswith(rule.pattern)
        return self._regex[rule.index].search(url) is not None


def _act(rule: Rule, url: str) -> str | None:
    """The final URL for a non-unwrap rule."""
    if rule.action == "drop":
        return None
    if rule.action == "https" and url.startswith("http:"):
        return "https:" + url[5:]
    if rule.action == "proxy":
        return _proxy(rule.template or "", url)
    return url


def _proxy(template: str, url: str) -> str:
    # Already behind this proxy (e.g. a second build over rewritten content): do not wrap twice.
    fixed_prefix = template.split("{", 1)[0]
    if fixed_prefix and url.startswith(fixed_prefix):
        return url
    parts = urlsplit(url)
    values = {
        "url": url,
        "url_encoded": quote(url, safe=""),
        "scheme": parts.scheme,
        "host": parts.netloc,
        "path": parts.path or "/",
        "query": f"?{parts.query}" if parts.query else "",
    }
    return normalize_http(template.format(**values))


def _unwrap(rule: Rule, url: str) -> str:
    """The URL a proxy URL points at (not yet normalized). Raises UrlError."""
    parts = urlsplit(url)
    if rule.query_key is not None:
        inner = dict(parse_qsl(parts.query, keep_blank_values=True)).get(rule.query_key, "")
        return _inner_url(inner, url, keep_query=True)
    if rule.match_kind == "prefix":
        rest = url[len(rule.pattern):]
    else:
        rest = url.split("://", 1)[1][len(parts.netloc):]
    rest = rest.lstrip("/")
    rest = rest[1:] if rest.startswith("?") else rest
    if _ENCODED_SCHEME.match(rest):
        rest = unquote(rest)
    if not _looks_like_url(rest) and parts.query:
        # `?url=<encoded>` (or any key) without `query_key`: take the first value that is a URL.
        for _, value in parse_qsl(parts.query, keep_blank_values=True):
            if _looks_like_url(value) or scheme_of(value):
                return _inner_url(value, url, keep_query=True)
    return _inner_url(rest, url, keep_query=False)


def _looks_like_url(text: str) -> bool:
    return bool(text.startswith("//") or _HTTP_SLASHES.match(text) or _HOST_FIRST.match(text))


def _inner_url(inner: str, proxy_url: str, keep_query: bool) -> str:
    inner = inner.strip()
    if not inner:
        raise UrlError(proxy_url, "proxy URL holds no original URL")
    if inner.startswith("//"):
        return "https:" + inner
    if _HTTP_SLASHES.match(inner):
        # Some proxies collapse `//` in their path: `https://P/https:/host/x`.
        return _HTTP_SLASHES.sub(lambda m: m.group(1) + "://", inner, count=1)
    if _HOST_FIRST.match(inner):
        # wp.com style `https://P/<host>/<path>?<proxy options>`: the query belongs to the proxy.
        return "https://" + (inner if keep_query else inner.split("?", 1)[0])
    scheme = scheme_of(inner)
    if scheme:
        raise UrlError(proxy_url, f"proxy URL holds a {scheme}: URL")
    raise UrlError(proxy_url, "no original URL recognised in proxy URL")


def _data_url(url: str, allowed: bool) -> str:
    url = url.strip()
    if allowed and url[5:].lstrip().lower().startswith("image/"):
        return url
    raise UrlError(url, "data: URL not allowed here")


def _shorten(url: str) -> str:
    """Long URLs (data: URIs, garbage) are cut for messages."""
    return url if len(url) <= 300 else url[:300] + "…"


_NOT_PROSE = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _plain_text_html(body: str) -> str:
    """Last resort for a body lxml cannot hold: its text, escaped, so no prose is lost."""
    text = " ".join(_TAG.sub(" ", _NOT_PROSE.sub(" ", strip_xml_illegal(body))).split())
    return f"<p>{html.escape(html.unescape(text), quote=False)}</p>"
