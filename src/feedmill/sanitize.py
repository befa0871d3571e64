"""One pass over an article body: sanitize the markup and hand every URL to a rewrite hook.

The body is parsed once with lxml.html, walked once, serialized once. Markup is removed, prose
never is: wrappers such as `form` and `button` are unwrapped (children and text kept); only
elements that carry no prose (script, style, noscript, inputs, embeds, iframes) go with their
content. The caller (`feedmill.rewrite.Rewriter`) decides what each URL becomes.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from collections.abc import Callable
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

from feedmill.rewrite_settings import SanitizeSettings
from feedmill.urls import format_srcset, parse_srcset

UrlHook = Callable[[str, str, bool], "tuple[str | None, bool]"]
"""(url, target, data_image_ok) -> (new url or None to drop, add referrerpolicy)."""

# XML 1.0 cannot hold these; lxml refuses to write a feed containing any of them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# libxml2 stops reading at `</html>` and moves what follows `</body>` out of the body: both
# would silently lose prose, and neither tag means anything in a fragment.
_DOCUMENT_TAGS = re.compile(r"</?(?:html|body|head)\b[^>]*>", re.IGNORECASE)

DROP_WITH_CONTENT = frozenset({
    "script", "style", "noscript", "input", "embed", "param", "base", "link", "meta",
    "frame", "frameset",
    # SVG animation can set an `href` to javascript: at run time; it carries no prose.
    "animate", "set",
})
UNWRAP = frozenset({"form", "button", "object", "applet"})
CODE_CONTEXT = frozenset({"code", "pre"})
CODE_SAMPLE_TAGS = frozenset({"script", "style", "template"})
LAZY_SRC = ("data-src", "data-original", "data-original-src", "data-lazy-src", "data-actualsrc")
LAZY_SRCSET = ("data-srcset", "data-lazy-srcset")
# URL attributes with no rule target: made absolute and scheme-checked only.
OTHER_URL_ATTRS = frozenset({"href", "src", "poster", "cite", "longdesc", "background", "action",
                             "formaction", "xlink:href", "lowsrc", "dynsrc"})
# Every element of HTML (WHATWG living standard), plus the svg and math roots. Anything else
# (custom elements, `<route>` from a Vue sample) is unwrapped: readers and the W3C validator
# ("Non-html tag") do not know it, and its text is kept.
HTML_ELEMENTS = frozenset("""
a abbr address area article aside audio b bdi bdo blockquote br caption cite code col colgroup
data dd del details dfn dialog div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 header
hgroup hr i iframe img ins kbd label legend li main map mark menu meter nav ol optgroup option
output p picture pre progress q rp rt ruby s samp section select small source span strong sub
summary sup table tbody td textarea tfoot th thead time tr track u ul var video wbr svg math
font center big strike tt acronym
""".split())
# Elements that end an open <p> in an HTML 5 parser; a <p> holding one is written as a <div>.
BLOCK_TAGS = frozenset("""
address article aside blockquote details dialog div dl fieldset figcaption figure footer form h1
h2 h3 h4 h5 h6 header hgroup hr main menu nav ol p pre section table ul
""".split())
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                       "param", "source", "track", "wbr"})

# A `src` that only stands in for a lazily loaded image: empty, a data: URI, about:blank, a
# JavaScript-built `…/undefined`, or a file named like a loading/blank/spacer image.
_PLACEHOLDER = re.compile(
    r"^\s*$|^\s*(?:data:|about:blank)|/(?:undefined|null)/?(?:[?#].*)?$"
    r"|(?:^|/)[^/?#]*(?:loading|loadimg|lazy|placeholder|blank|spacer|pixel|transparent|grey|gray)"
    r"[^/?#]*\.(?:gif|png|svg|jpe?g|webp)(?:[?#].*)?$",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)

# libxml2 serializes HTML 4 and writes end tags for elements HTML 5 made void (an HTML 5 parse
# error). Text cannot contain them (`<` is escaped there), so removing them is safe.
_HTML4_END_TAGS = re.compile(r"</(?:source|track|wbr)>")
# Attribute names a serializer can write back; libxml2 accepts junk such as `<a` from `<a <a`.
_ATTR_NAME = re.compile(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$")


def make_parser() -> lxml.html.HTMLParser:
    """An lxml HTML parser for article bodies (one per Sanitizer: parsers are not thread-safe).

    `huge_tree` lifts libxml2's nesting limit from 256 to 2048 levels: past the limit libxml2
    silently drops the rest of the document, which would lose prose.
    """
    return lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)


MORE_MARKER = re.compile(r"<!--\s*more\s*-->", re.IGNORECASE)
_MORE = "feedmill-more"


@dataclass(frozen=True)
class Cleaned:
    html: str
    text: str
    """The visible text of the cleaned body."""
    excerpt: str | None
    """The text before Hexo's `<!-- more -->`, when the body has one."""


class HtmlError(ValueError):
    """libxml2 could not parse the whole body (e.g. nesting deeper than 2048 levels)."""


def strip_xml_illegal(text: str) -> str:
    """Remove characters XML 1.0 cannot represent."""
    return _XML_ILLEGAL.sub("", text)


def is_placeholder(url: str) -> bool:
    """True for a `src` that is only a lazy-loading stand-in (see `_PLACEHOLDER`)."""
    return bool(_PLACEHOLDER.search(url))


def _is_placeholder_srcset(value: str) -> bool:
    candidates = parse_srcset(value)
    return not candidates or all(url.lower().startswith("data:") for url, _ in candidates)


def parse_fragment(body: str, parser: lxml.html.HTMLParser) -> lxml.html.HtmlElement:
    """Parse an HTML fragment; returns the `body` element holding it. Raises `HtmlError`
    when libxml2 had to give up on part of it (its content would be lost)."""
    text = strip_xml_illegal(body)
    while _DOCUMENT_TAGS.search(text):  # until none is left: `</ht</html>ml>` hides one
        text = _DOCUMENT_TAGS.sub("", text)
    data = text.encode("utf-8", "replace")
    try:
        # No closing tags: an unclosed tag at the end would read them as attributes.
        doc = lxml.html.document_fromstring(b"<html><body>" + data, parser=parser)
    except (etree.ParserError, ValueError) as e:
        raise HtmlError(str(e)) from e
    limits = [e.message for e in parser.error_log if e.type_name == "ERR_RESOURCE_LIMIT"]
    root = doc.find("body")
    if limits or root is None:
        raise HtmlError(limits[0] if limits else "no body after parsing")
    return root


def serialize_fragment(root: lxml.html.HtmlElement) -> str:
    """The inner HTML of `root`, without any `<html>`/`<body>` wrapper."""
    parts = [html.escape(root.text or "", quote=False)]
    parts += [lxml.html.tostring(child, encoding="unicode", method="html") for child in root]
    return _HTML4_END_TAGS.sub("", strip_xml_illegal("".join(parts)))


def _add_text_before(el: etree._Element, text: str) -> None:
    """Put `text` where `el` starts, so removing or replacing `el` keeps it in place."""
    prev, parent = el.getprevious(), el.getparent()
    if prev is not None:
        prev.tail = (prev.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _replace_with_text(el: etree._Element, text: str) -> None:
    _add_text_before(el, text + (el.tail or ""))
    el.getparent().remove(el)


def _hoist_children(el: etree._Element) -> list[etree._Element]:
    """Move what libxml2 nested inside a void element back out after it; returns the moved elements.

    libxml2 parses HTML 4: it does not know that `source`, `track`, `embed` or `wbr` are void, and
    nests everything that follows inside them, where removing the element would take it along.
    """
    moved = list(el)
    if el.text is None and not moved:
        return []
    tail, el.tail, el.text = el.tail, el.text, None
    parent, at = el.getparent(), el.getparent().index(el)
    for offset, child in enumerate(moved, start=1):
        parent.insert(at + offset, child)
    last = moved[-1] if moved else el
    last.tail = (last.tail or "") + (tail or "") or None
    return moved


def _in_code(el: etree._Element) -> bool:
    return any(a.tag in CODE_CONTEXT for a in el.iterancestors())


class Sanitizer:
    """Compiled sanitize settings; `clean()` is safe to call for many articles."""

    def __init__(self, settings: SanitizeSettings) -> None:
        self.settings = settings
        self._global = [CSSSelector(s) for s in settings.remove]
        self._by_source = [(folder, [CSSSelector(s) for s in sels]) for folder, sels in settings.remove_by_source]
        self._parser = make_parser()

    def selectors_for(self, source: str) -> list[CSSSelector]:
        """Global selectors plus those whose folder occurs as whole path segments in `source`."""
        path = "/" + source.replace("\\", "/").strip("/") + "/"
        extra = [s for folder, sels in self._by_source if f"/{folder}/" in path for s in sels]
        return self._global + extra

    def clean(self, body: str, source: str, hook: UrlHook) -> Cleaned:
        """Sanitize `body` and rewrite its URLs through `hook`. Raises `HtmlError`."""
        # The parser drops comments, so Hexo's <!-- more --> becomes an element that survives
        # until the text before it is read: the summary comes from this one parse of the body.
        root = parse_fragment(MORE_MARKER.sub(f"<{_MORE}></{_MORE}>", body, count=1), self._parser)
        doomed = {el for sel in self.selectors_for(source) for el in sel(root)}
        _Walk(self.settings, hook, doomed).run(root)
        more = next(root.iter(_MORE), None)
        excerpt = None
        if more is not None:
            excerpt = "".join(more.xpath("preceding::text()"))
            more.drop_tag()
        return Cleaned(serialize_fragment(root), root.text_content(), excerpt)


def _conform(root: lxml.html.HtmlElement) -> None:
    """Make the tree one that an HTML 5 parser reads back as it stands (the validator's test)."""
    for el in list(root.iter()):
        if (el is not root and isinstance(el.tag, str) and el.tag not in HTML_ELEMENTS and el.tag != _MORE
                and not _in_svg(el)):
            el.drop_tag()
    for paragraph in list(root.iter("p")):
        # libxml2 keeps <p><code><p>..</p></code></p>; HTML 5 closes the outer <p> at the inner one.
        if any(isinstance(d.tag, str) and d.tag in BLOCK_TAGS for d in paragraph.iterdescendants()):
            paragraph.tag = "div"


def _in_svg(el: etree._Element) -> bool:
    return any(a.tag in ("svg", "math") for a in el.iterancestors())


class _Walk:
    """The state of one pass over one body."""

    def __init__(self, settings: SanitizeSettings, hook: UrlHook, doomed: set) -> None:
        self.settings = settings
        self.hook = hook
        self.doomed = doomed

    def run(self, root: lxml.html.HtmlElement) -> None:
        # Depth-first with an explicit stack: a dropped element's subtree is never visited,
        # so URLs inside removed markup are neither rewritten nor counted.
        stack = list(reversed(root))
        while stack:
            el = stack.pop()
            if el.tag in VOID_TAGS:
                stack.extend(reversed(_hoist_children(el)))
            kids = list(el)
            if self.visit(el):
                stack.extend(reversed(kids))
        for media in list(root.iter("video", "audio")):
            if not media.get("src") and media.find("source") is None:
                media.drop_tag()  # nothing left to play: keep any fallback text
        _conform(root)

    def visit(self, el: lxml.html.HtmlElement) -> bool:
        """Handle one element; False when it was removed with its content."""
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in CODE_SAMPLE_TAGS and _in_code(el):
            # Raw `<script>`/`<template>` written inside `<code>` is a code sample the author
            # meant to show (the corpus's Vue posts): keep it as text, not as markup.
            source = etree.tostring(el, method="html", encoding="unicode", with_tail=False)
            _replace_with_text(el, html.unescape(source))
            return False
        if el in self.doomed or tag in DROP_WITH_CONTENT:
            el.drop_tree()
            return False
        if tag == "iframe" and not self._keep_iframe(el):
            el.drop_tree()
            return False
        self._attributes(el, tag)
        if tag in UNWRAP:
            el.drop_tag()
        elif not self._urls(el, tag):
            el.drop_tree()
            return False
        return True

    def _keep_iframe(self, el: lxml.html.HtmlElement) -> bool:
        _promote(el, "src", LAZY_SRC)
        src = el.get("src")
        if not src or not self.settings.iframe_hosts:
            return False
        new, _ = self.hook(src, "media", False)
        host = urlsplit(new).hostname if new else None
        if not host or not any(fnmatchcase(host, pat) for pat in self.settings.iframe_hosts):
            return False
        el.set("src", new)
        el.attrib.pop("srcdoc", None)  # inline HTML that would replace the allowlisted page
        return True

    def _attributes(self, el: lxml.html.HtmlElement, tag: str) -> None:
        """Drop event handlers, styles and data-* attributes (after lazy-load promotion)."""
        if tag in ("img", "source"):
            _promote(el, "src", LAZY_SRC)
            _promote(el, "srcset", LAZY_SRCSET, _is_placeholder_srcset)
        elif tag in ("video", "audio"):
            _promote(el, "src", LAZY_SRC)
            _promote(el, "poster", ("data-poster",))
        for name in list(el.attrib):
            low = name.lower()
            if low == "style":
                self._background(el, tag, el.attrib.pop(name))
            elif low.startswith(("on", "data-")) or not _ATTR_NAME.match(name):
                del el.attrib[name]

    def _background(self, el: lxml.html.HtmlElement, tag: str, style: str) -> None:
        """Turn a CSS background image into an `<img>` (style attributes are dropped entirely)."""
        m = _CSS_URL.search(style) if "background" in style.lower() else None
        if not m or not self.settings.background_images or tag in VOID_TAGS or tag in UNWRAP:
            return
        new, referrer = self.hook(html.unescape(m.group(2)), "images", False)
        if new is None:
            return
        img = lxml.html.Element("img", src=new, alt="")
        if referrer:
            img.set("referrerpolicy", "no-referrer")
        img.tail, el.text = el.text, None
        el.insert(0, img)

    def _urls(self, el: lxml.html.HtmlElement, tag: str) -> bool:
        """Rewrite the element's URLs; False when the element must go (an img with no image left)."""
        handled: tuple[str, ...] = ()
        if tag == "img":
            self._img(el)
            if el.get("src") is None and el.get("srcset") is None:
                return False
            handled = ("src",)
        elif tag == "source":
            target = "images" if el.getparent() is not None and el.getparent().tag == "picture" else "media"
            self._set(el, "src", target)
            self._srcset(el)
            if el.get("src") is None and el.get("srcset") is None:
                return False
            handled = ("src",)
        elif tag == "track":
            self._set(el, "src", "media")
            if el.get("src") is None:
                return False
            handled = ("src",)
        elif tag in ("video", "audio"):
            self._set(el, "src", "media")
            self._set(el, "poster", "images")
            handled = ("src", "poster")
        elif tag in ("a", "area"):
            self._set(el, "href", "links")
            handled = ("href",)
        elif tag == "iframe":
            handled = ("src",)
        for attr in OTHER_URL_ATTRS.intersection(el.keys()).difference(handled):
            self._set(el, attr, "other")
        return True

    def _img(self, el: lxml.html.HtmlElement) -> None:
        referrer = self._set(el, "src", "images", data_ok=True)
        referrer |= self._srcset(el)
        if referrer:
            el.set("referrerpolicy", "no-referrer")

    def _set(self, el: lxml.html.HtmlElement, attr: str, target: str, data_ok: bool = False) -> bool:
        """Rewrite one URL attribute in place (removing it if dropped); True to add referrerpolicy."""
        value = el.get(attr)
        if value is None:
            return False
        new, referrer = self.hook(value, target, data_ok)
        if new is None:
            del el.attrib[attr]
        else:
            el.set(attr, new)
        return referrer

    def _srcset(self, el: lxml.html.HtmlElement) -> bool:
        value = el.get("srcset")
        if value is None:
            return False
        kept, referrer = [], False
        for url, descriptor in parse_srcset(value):
            new, ref = self.hook(url, "images", False)
            referrer |= ref
            if new is not None:
                kept.append((new, descriptor))
        if kept:
            el.set("srcset", format_srcset(kept))
        else:
            del el.attrib["srcset"]
        return referrer


def _promote(el: lxml.html.HtmlElement, attr: str, lazy: tuple[str, ...],
             placeholder: Callable[[str], bool] = is_placeholder) -> None:
    """Copy the first non-empty lazy-load attribute into `attr` when `attr` is missing or a stand-in."""
    current = el.get(attr)
    if current is not None and not placeholder(current):
        return
    for name in lazy:
        value = el.get(name)
        if value and value.strip():
            el.set(attr, value)
            return
