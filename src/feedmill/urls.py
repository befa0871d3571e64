"""URL helpers shared by the stages: feeds must carry URIs (ASCII), never IRIs."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

# Characters that may stand unescaped in a URI path, query or fragment (RFC 3986), plus '%'
# for escapes that are already there.
_SAFE = "/:@!$&'()*+,;=-._~%?#[]"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def to_uri(url: str) -> str:
    """Turn an IRI or a sloppy URL into a URI: IDNA host, percent-encoded non-ASCII and spaces.

    Existing %XX escapes are kept, so the function is idempotent.
    """
    parts = urlsplit(url.strip())
    netloc = _ascii_netloc(parts.netloc)
    path, query, fragment = (_quote(p) for p in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme.lower(), netloc, path, query, fragment))


def quote_segment(text: str) -> str:
    """Percent-encode one path segment of our own making (a file name, a title): '/' included."""
    return quote(text, safe="-._~")


def _quote(text: str) -> str:
    return quote(_LONE_PERCENT.sub("%25", text), safe=_SAFE)


def _ascii_netloc(netloc: str) -> str:
    if netloc.isascii():
        return netloc.lower()
    userinfo, _, hostport = netloc.rpartition("@")
    host, colon, port = hostport.partition(":")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = quote(host, safe="")
    return (userinfo + "@" if userinfo else "") + host + colon + port
