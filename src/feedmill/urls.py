"""URL helpers: make a URL absolute, a URI (not an IRI), and parse srcset.

Feeds must carry URIs: the W3C validator rejects IRIs (`UriNotIri`).

Everything here is pure: no settings, no state. Failures are reported as `UrlError` with a
reason short enough to show a user next to the URL.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, urljoin, urlsplit, urlunsplit

import idna

# WHATWG URL parsing removes tabs and newlines anywhere in a URL; authors' HTML has them.
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
# A `%` that does not start a valid escape would make the result an invalid URI.
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# Hostnames as they occur in the wild: letters, digits, hyphen, underscore, dots.
_HOST = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")
_PATH_SAFE = "/:@!$&'()*+,;=~%"
_QUERY_SAFE = _PATH_SAFE + "?"


class UrlError(ValueError):
    """A URL that cannot be turned into a usable absolute URI; `reason` says why."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{reason}: {url!r}")
        self.url = url
        self.reason = reason


def scheme_of(url: str) -> str:
    """The lower-cased scheme of `url`, or "" for a relative URL."""
    m = _SCHEME.match(url.strip())
    return m.group(1).lower() if m else ""


def clean(url: str) -> str:
    """Strip surrounding whitespace and the tabs/newlines browsers ignore inside URLs."""
    return _TAB_NEWLINE.sub("", url.strip())


def absolutize(url: str, base: str) -> str:
    """Resolve `url` against `base`. Protocol-relative URLs always get https (see docs)."""
    url = clean(url)
    if not url:
        raise UrlError(url, "empty URL")
    if url.startswith("//"):
        # Feeds are read from https pages; `//host/x` from an http article would otherwise
        # become mixed content, and hosts that serve `//` URLs serve https.
        return "https:" + url
    if scheme_of(url):
        return url
    if not scheme_of(base):
        raise UrlError(url, "relative URL and no absolute article link to resolve it against")
    return urljoin(base, url)


def encode_part(text: str, safe: str) -> str:
    """Percent-encode what a URI may not contain, keeping valid `%XX` escapes."""
    return quote(_BAD_PERCENT.sub("%25", text), safe=safe)


def _host(parts: SplitResult, url: str) -> str:
    host = parts.hostname or ""
    if not host:
        raise UrlError(url, "no host")
    if parts.netloc.endswith("]") or ":" in host:  # IPv6 literal, already ASCII
        return f"[{host}]"
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise UrlError(url, "host is not a valid internationalized domain name") from None
    if not _HOST.match(host):
        raise UrlError(url, "host contains characters not allowed in a hostname")
    return host


def _netloc(parts: SplitResult, url: str) -> str:
    try:
        port = parts.port
    except ValueError:
        raise UrlError(url, "invalid port") from None
    netloc = _host(parts, url)
    if port is not None:
        netloc += f":{port}"
    if parts.username is not None:
        userinfo = encode_part(parts.username, "!$&'()*+,;=%")
        if parts.password is not None:
            userinfo += ":" + encode_part(parts.password, "!$&'()*+,;=%")
        netloc = f"{userinfo}@{netloc}"
    return netloc


def normalize_http(url: str) -> str:
    """An absolute http(s) URL as a URI: IDNA host, percent-encoded path, query and fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UrlError(url, "unparseable URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlError(url, f"scheme {scheme or 'none'!r} is not http(s)")
    try:
        path = encode_part(parts.path, _PATH_SAFE)
        query = encode_part(parts.query, _QUERY_SAFE)
        fragment = encode_part(parts.fragment, _QUERY_SAFE)
    except UnicodeError:  # lone surrogates cannot be UTF-8 encoded
        raise UrlError(url, "URL contains invalid characters") from None
    out = urlunsplit((scheme, _netloc(parts, url), path, query, fragment))
    if not query and "?" in url.split("#", 1)[0]:
        # urlunsplit drops an empty query, but `https://P/?` is a prefix rules match on.
        out = out.replace("#", "?#", 1) if fragment else out + "?"
    return out


def to_uri(url: str) -> str:
    """An absolute http(s) URL, cleaned and made a URI; idempotent. Raises UrlError."""
    return normalize_http(clean(url))


def quote_segment(text: str) -> str:
    """Percent-encode text of our own making (a file name, a title) as one path segment."""
    return quote(text, safe="-._~")


def normalize_other(url: str) -> str:
    """A non-http URL (mailto:, tel:, ...) with spaces and non-ASCII percent-encoded."""
    try:
        return encode_part(url, _QUERY_SAFE + "#")
    except UnicodeError:
        raise UrlError(url, "URL contains invalid characters") from None


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """Split a srcset into (url, descriptor) pairs, following the HTML spec.

    A naive split on "," breaks URLs that contain commas (`…jpg@s_2,w_820,h_520 2x`): the spec
    reads a URL up to whitespace, and only a trailing comma ends the candidate.
    """
    candidates: list[tuple[str, str]] = []
    pos, end = 0, len(value)
    while pos < end:
        while pos < end and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        start = pos
        while pos < end and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        if not url:
            break
        if url.endswith(","):
            candidates.append((url.rstrip(","), ""))
            continue
        start = pos
        while pos < end and value[pos] != ",":
            pos += 1
        candidates.append((url, " ".join(value[start:pos].split())))
    return candidates


def format_srcset(candidates: list[tuple[str, str]]) -> str:
    """The inverse of `parse_srcset`."""
    return ", ".join(f"{url} {desc}" if desc else url for url, desc in candidates)
