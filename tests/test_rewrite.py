"""Rewrite rules: settings validation, every action, every URL shape, reporting, articles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rewrite_fixtures import ARTICLE_LINK, make_article
from feedmill.config import ConfigError
from feedmill.model import Problem
from feedmill.rewrite import (
    RewriteReport,
    Rewriter,
    RuleCount,
    SanitizeSettings,
    UnsafeUrl,
    parse_rewrite_settings,
)
from feedmill.rewrite_settings import ZFOUR_PROXY

ZF = ZFOUR_PROXY
BASE = "https://blog.example/posts/2021/entry/"


def rewriter(*rules: dict, **sanitize) -> Rewriter:
    data: dict = {"rules": list(rules)}
    if sanitize:
        data["sanitize"] = sanitize
    return Rewriter(parse_rewrite_settings(data))


def unwrap(match: dict, **extra) -> dict:
    return {"match": match, "action": "unwrap", **extra}


# ---------------------------------------------------------------- settings


def test_absent_section_gives_corpus_defaults():
    s = parse_rewrite_settings(None)
    assert [(r.match_kind, r.pattern, r.action) for r in s.rules] == [("prefix", ZF, "unwrap")]
    assert s.rules[0].targets == {"images", "media", "links"}
    assert s.sanitize == SanitizeSettings(iframe_hosts=(), allow_data_images=True, background_images=True,
                                          remove=("div.support-author",), remove_by_source=())


def test_empty_section_and_empty_rules():
    assert parse_rewrite_settings({}) == parse_rewrite_settings(None)
    assert parse_rewrite_settings({"rules": []}).rules == ()


def test_full_example_parses():
    s = parse_rewrite_settings({
        "rules": [
            {"match": {"prefix": ZF}, "action": "unwrap"},
            {"match": {"host": "I0.WP.com"}, "action": "unwrap", "name": "photon"},
            {"match": {"host_glob": "*.sinaimg.cn"}, "action": "proxy", "referrerpolicy": True,
             "template": "https://wsrv.nl/?url={url_encoded}"},
            {"match": {"regex": r"^http://"}, "action": "https", "targets": ["images", "media"]},
            {"match": {"host": "ads.example"}, "action": "drop", "targets": "links"},
            {"match": {"host": "proxy.example"}, "action": "unwrap", "query_key": "src"},
        ],
        "sanitize": {"iframe_hosts": ["www.youtube.com", "*.vimeo.com"], "allow_data_images": False,
                     "background_images": False, "remove": [".ad"],
                     "remove_by_source": {"/新媒体/woshipm/": ["div.support-author", "p.tip"]}},
    })
    r = s.rules
    assert [x.index for x in r] == [0, 1, 2, 3, 4, 5]
    assert r[1].pattern == "i0.wp.com" and r[1].label == "photon"
    assert r[0].label == f"unwrap prefix={ZF}"
    assert r[2].targets == {"images"} and r[2].referrerpolicy is True  # proxy defaults to images
    assert r[3].targets == {"images", "media"}
    assert r[4].targets == {"links"}
    assert r[5].query_key == "src"
    assert s.sanitize.iframe_hosts == ("www.youtube.com", "*.vimeo.com")
    assert s.sanitize.remove == (".ad",)
    assert s.sanitize.remove_by_source == (("新媒体/woshipm", ("div.support-author", "p.tip")),)


@pytest.mark.parametrize("data, key", [
    ([], "rewrite"),
    ({"rule": []}, "rewrite.rule"),
    ({"rules": {"match": {}}}, "rewrite.rules"),
    ({"rules": ["unwrap"]}, "rewrite.rules[0]"),
    ({"rules": [{"match": {"host": "a"}, "action": "keep", "bogus": 1}]}, "rewrite.rules[0].bogus"),
    ({"rules": [{"match": {"host": "a"}}]}, "rewrite.rules[0]"),
    ({"rules": [{"match": {"host": "a"}, "action": "keep"}, {"match": {"host": "b"}, "action": "keep"},
                {"match": {"host": "c"}, "action": "explode"}]}, "rewrite.rules[2].action"),
    ({"rules": [{"match": {"host": "a"}, "action": 3}]}, "rewrite.rules[0].action"),
    ({"rules": [{"match": {"regex": "(unclosed"}, "action": "keep"}]}, "rewrite.rules[0].match.regex"),
    ({"rules": [{"match": {"host": "a", "prefix": "b"}, "action": "keep"}]}, "rewrite.rules[0].match"),
    ({"rules": [{"match": {}, "action": "keep"}]}, "rewrite.rules[0].match"),
    ({"rules": [{"match": {"domain": "a"}, "action": "keep"}]}, "rewrite.rules[0].match.domain"),
    ({"rules": [{"match": {"host": ""}, "action": "keep"}]}, "rewrite.rules[0].match.host"),
    ({"rules": [{"match": {"host": ["a"]}, "action": "keep"}]}, "rewrite.rules[0].match.host"),
    ({"rules": [{"match": {"host": "a\u2044b.例"}, "action": "keep"}]}, "rewrite.rules[0].match.host"),
    ({"rules": [{"match": {"host": "a"}, "action": "proxy"}]}, "rewrite.rules[0].template"),
    ({"rules": [{"match": {"host": "a"}, "action": "proxy", "template": "https://p/{uri}"}]},
     "rewrite.rules[0].template"),
    ({"rules": [{"match": {"host": "a"}, "action": "proxy", "template": "https://p/{url!r}"}]},
     "rewrite.rules[0].template"),
    ({"rules": [{"match": {"host": "a"}, "action": "proxy", "template": "https://p/{url:>9}"}]},
     "rewrite.rules[0].template"),
    ({"rules": [{"match": {"host": "a"}, "action": "proxy", "template": "https://p/{url"}]},
     "rewrite.rules[0].template"),
    ({"rules": [{"match": {"host": "a"}, "action": "proxy", "template": "ftp://p/{url}"}]},
     "rewrite.rules[0].template"),
    ({"rules": [{"match": {"host": "a"}, "action": "keep", "template": "https://p/{url}"}]},
     "rewrite.rules[0].template"),
    ({"rules": [{"match": {"host": "a"}, "action": "https", "query_key": "u"}]}, "rewrite.rules[0].query_key"),
    ({"rules": [{"match": {"host": "a"}, "action": "keep", "targets": ["pictures"]}]}, "rewrite.rules[0].targets[0]"),
    ({"rules": [{"match": {"host": "a"}, "action": "keep", "targets": []}]}, "rewrite.rules[0].targets"),
    ({"rules": [{"match": {"host": "a"}, "action": "keep", "referrerpolicy": "yes"}]},
     "rewrite.rules[0].referrerpolicy"),
    ({"sanitize": {"iframe_host": []}}, "rewrite.sanitize.iframe_host"),
    ({"sanitize": {"iframe_hosts": [1]}}, "rewrite.sanitize.iframe_hosts[0]"),
    ({"sanitize": {"allow_data_images": "yes"}}, "rewrite.sanitize.allow_data_images"),
    ({"sanitize": {"remove": ["div[["]}}, "rewrite.sanitize.remove[0]"),
    ({"sanitize": {"remove_by_source": ["a"]}}, "rewrite.sanitize.remove_by_source"),
    ({"sanitize": {"remove_by_source": {"blog": ["p", "::nope"]}}}, "rewrite.sanitize.remove_by_source.blog[1]"),
])
def test_invalid_settings_name_the_key(data, key):
    with pytest.raises(ConfigError) as exc:
        parse_rewrite_settings(data)
    assert exc.value.key == key
    assert exc.value.message


def test_error_key_uses_the_given_prefix():
    with pytest.raises(ConfigError) as exc:
        parse_rewrite_settings({"rules": [{"match": {"host": "a"}, "action": "nope"}]}, key="site.rewrite")
    assert exc.value.key == "site.rewrite.rules[0].action"
    assert "unknown action 'nope'" in exc.value.message


# ---------------------------------------------------------------- unwrap: every shape


@pytest.mark.parametrize("rule, url, expected", [
    # https://P/?<url>, inner not encoded, inner query kept
    (unwrap({"prefix": ZF}), ZF + "http://image.woshipm.com/wp-files/a.png?x=1&y=2",
     "http://image.woshipm.com/wp-files/a.png?x=1&y=2"),
    # the same shape matched by host instead of prefix
    (unwrap({"host": "cors.zfour.workers.dev"}), ZF + "https://a.example/b.jpg", "https://a.example/b.jpg"),
    # https://P/?<percent-encoded url>
    (unwrap({"host": "p.example"}), "https://p.example/?https%3A%2F%2Fa.example%2Fb%20c.jpg%3Fs%3D1",
     "https://a.example/b%20c.jpg?s=1"),
    # ?key=<percent-encoded>, key named by the rule
    (unwrap({"host": "wsrv.nl"}, query_key="url"), "https://wsrv.nl/?w=300&url=https%3A%2F%2Fa.example%2Fx.png",
     "https://a.example/x.png"),
    # ?key=<url> found without naming the key
    (unwrap({"host": "img.proxy.example"}), "https://img.proxy.example/fetch?w=10&src=http%3A%2F%2Fa.example%2Fy.gif",
     "http://a.example/y.gif"),
    # https://P/<url>
    (unwrap({"prefix": "https://proxy.example/"}), "https://proxy.example/https://a.example/p/q.jpg?z=1",
     "https://a.example/p/q.jpg?z=1"),
    # https://P/<url> with the `//` collapsed by the proxy's path handling
    (unwrap({"host": "proxy.example"}), "https://proxy.example/http:/a.example/q.jpg", "http://a.example/q.jpg"),
    # https://P/<host>/<path> (wp.com style): https origin, proxy options dropped
    (unwrap({"host_glob": "i?.wp.com"}), "https://i0.wp.com/example.com/wp-content/a.jpg?resize=300%2C200&ssl=1",
     "https://example.com/wp-content/a.jpg"),
    (unwrap({"host_glob": "i?.wp.com"}), "https://i2.wp.com/example.com:8080/a.jpg", "https://example.com:8080/a.jpg"),
    # prefix with a path: the rest after the prefix is the host/path
    (unwrap({"prefix": "https://cdn.example/img/"}), "https://cdn.example/img/origin.example/a.png",
     "https://origin.example/a.png"),
    # protocol-relative inner URL, in the query or in the path
    (unwrap({"prefix": ZF}), ZF + "//a.example/c.jpg", "https://a.example/c.jpg"),
    (unwrap({"host": "p.example"}), "https://p.example//a.example/d.jpg?w=1", "https://a.example/d.jpg"),
    # regex match
    (unwrap({"regex": r"^https://[a-z.]+\.workers\.dev/\?"}), "https://cors.abc.workers.dev/?http://x.example/1.jpg",
     "http://x.example/1.jpg"),
])
def test_unwrap_shapes(rule, url, expected):
    assert rewriter(rule).rewrite_url(url, BASE) == expected


def test_nested_proxies_unwrap_repeatedly():
    r = rewriter(unwrap({"prefix": ZF}), unwrap({"host_glob": "i?.wp.com"}),
                 unwrap({"host": "wsrv.nl"}, query_key="url"))
    url = ZF + "https://wsrv.nl/?url=" + "https%3A%2F%2Fi1.wp.com%2Forigin.example%2Fa.jpg%3Fssl%3D1"
    assert r.rewrite_url(url, BASE) == "https://origin.example/a.jpg"
    counts = [c.count for c in r.report().rules]
    assert counts == [1, 1, 1]


def test_unwrapped_url_meets_the_rules_again():
    r = rewriter(unwrap({"prefix": ZF}), {"match": {"host": "image.woshipm.com"}, "action": "https"})
    assert r.rewrite_url(ZF + "http://image.woshipm.com/a.png", BASE) == "https://image.woshipm.com/a.png"


def test_proxy_loop_is_cut_and_dropped():
    r = rewriter(unwrap({"host": "loop.example"}))
    url = "https://loop.example/?" * 12 + "https://a.example/x.jpg"
    assert r.rewrite_url(url, BASE) is None
    assert r.report().unsafe[0].reason == "more than 8 nested proxies"


@pytest.mark.parametrize("url, reason", [
    (ZF, "proxy URL holds no original URL"),
    (ZF + "   ", "proxy URL holds no original URL"),
    (ZF + "javascript:alert(1)", "proxy URL holds a javascript: URL"),
    (ZF + "data:image/png;base64,AAAA", "proxy URL holds a data: URL"),
    (ZF + "ftp://files.example/a.jpg", "proxy URL holds a ftp: URL"),
    (ZF + "not a url", "no original URL recognised in proxy URL"),
])
def test_unwrap_without_a_usable_inner_url_drops(url, reason):
    r = Rewriter()
    assert r.rewrite_url(url, BASE, source="p.md") is None
    (unsafe,) = r.report().unsafe
    assert unsafe.reason == reason and unsafe.dropped and unsafe.sources == ("p.md",)


def test_unwrap_query_key_missing_drops():
    r = rewriter(unwrap({"host": "wsrv.nl"}, query_key="url"))
    assert r.rewrite_url("https://wsrv.nl/?src=https%3A%2F%2Fa.example%2Fx.png", BASE) is None


# ---------------------------------------------------------------- proxy, https, keep, drop


@pytest.mark.parametrize("template, expected", [
    ("https://wsrv.nl/?url={url_encoded}", "https://wsrv.nl/?url=http%3A%2F%2Fimg.example%3A8080%2Fa%2520b%2Fc.jpg%3Fx%3D1"),
    ("https://i0.wp.com/{host}{path}{query}", "https://i0.wp.com/img.example:8080/a%20b/c.jpg?x=1"),
    ("https://i0.wp.com/{host}{path}", "https://i0.wp.com/img.example:8080/a%20b/c.jpg"),
    ("https://worker.example/{scheme}/{host}{path}", "https://worker.example/http/img.example:8080/a%20b/c.jpg"),
    ("https://cors.example/?{url}", "https://cors.example/?http://img.example:8080/a%20b/c.jpg?x=1"),
])
def test_proxy_template_placeholders(template, expected):
    r = rewriter({"match": {"host": "img.example"}, "action": "proxy", "template": template})
    assert r.rewrite_url("http://img.example:8080/a b/c.jpg?x=1", BASE) == expected


def test_proxy_query_placeholder_is_empty_without_query():
    r = rewriter({"match": {"host_glob": "*"}, "action": "proxy", "template": "https://p.example/{host}{path}{query}"})
    assert r.rewrite_url("https://img.example", BASE) == "https://p.example/img.example/"


def test_proxy_does_not_wrap_twice():
    r = rewriter({"match": {"host_glob": "*"}, "action": "proxy", "template": "https://wsrv.nl/?url={url_encoded}"})
    once = r.rewrite_url("https://a.example/x.jpg", BASE)
    assert once == "https://wsrv.nl/?url=https%3A%2F%2Fa.example%2Fx.jpg"
    assert r.rewrite_url(once, BASE) == once


def test_proxy_defaults_to_images_only():
    r = rewriter({"match": {"host_glob": "*"}, "action": "proxy", "template": "https://wsrv.nl/?url={url_encoded}"})
    assert r.rewrite_url("https://a.example/page", BASE, target="links") == "https://a.example/page"
    assert r.rewrite_url("https://a.example/v.mp4", BASE, target="media") == "https://a.example/v.mp4"


def test_https_upgrade_only_for_matching_hosts():
    r = rewriter({"match": {"host_glob": "*.bgm.tv"}, "action": "https"})
    assert r.rewrite_url("http://lain.bgm.tv/pic/a.jpg", BASE) == "https://lain.bgm.tv/pic/a.jpg"
    assert r.rewrite_url("https://lain.bgm.tv/pic/a.jpg", BASE) == "https://lain.bgm.tv/pic/a.jpg"
    assert r.rewrite_url("http://blur.com/a.jpg", BASE) == "http://blur.com/a.jpg"


def test_keep_stops_later_rules_and_first_match_wins():
    r = rewriter({"match": {"host": "keep.example"}, "action": "keep"},
                 {"match": {"host_glob": "*"}, "action": "https"},
                 {"match": {"host_glob": "*"}, "action": "drop"})
    assert r.rewrite_url("http://keep.example/a.jpg", BASE) == "http://keep.example/a.jpg"
    assert r.rewrite_url("http://other.example/a.jpg", BASE) == "https://other.example/a.jpg"
    assert [c.count for c in r.report().rules] == [1, 1, 0]


def test_drop_rule_on_lead_image_sets_none_without_problem():
    r = rewriter({"match": {"host": "picsum.photos"}, "action": "drop", "targets": ["images"]})
    a = make_article(image="https://picsum.photos/400/300?random=3")
    assert r.rewrite_article(a) == []
    assert a.image is None
    assert r.report().rules[0].count == 1


def test_drop_and_targets():
    r = rewriter({"match": {"host": "picsum.photos"}, "action": "drop", "targets": ["images"]})
    assert r.rewrite_url("https://picsum.photos/400/300?random=3", BASE) is None
    assert r.rewrite_url("https://picsum.photos/", BASE, target="links") == "https://picsum.photos/"


def test_host_match_is_exact_and_case_insensitive():
    r = rewriter({"match": {"host": "A.Example"}, "action": "drop"})
    assert r.rewrite_url("https://a.example/x", BASE) is None
    assert r.rewrite_url("https://b.a.example/x", BASE) == "https://b.a.example/x"
    assert r.rewrite_url("https://A.EXAMPLE/x", BASE) is None


def test_prefix_pattern_origin_is_case_insensitive():
    r = rewriter(unwrap({"prefix": "HTTPS://Cors.Example/?"}))
    assert r.settings.rules[0].pattern == "https://cors.example/?"
    assert r.rewrite_url("https://CORS.example/?https://a.example/X.jpg", BASE) == "https://a.example/X.jpg"


def test_non_ascii_host_rule_matches_punycode_urls():
    r = rewriter({"match": {"host": "Bücher.example"}, "action": "https"})
    assert r.settings.rules[0].pattern == "xn--bcher-kva.example"
    assert r.rewrite_url("http://bücher.example/a.png", BASE) == "https://xn--bcher-kva.example/a.png"


# ---------------------------------------------------------------- normalization and bad input


@pytest.mark.parametrize("url, expected", [
    ("/images/a.jpg", "https://blog.example/images/a.jpg"),
    ("img/a.jpg", "https://blog.example/posts/2021/entry/img/a.jpg"),
    ("../a.jpg", "https://blog.example/posts/2021/a.jpg"),
    ("//upload-images.jianshu.io/upload_images/4153190-a57f503a359d0323",
     "https://upload-images.jianshu.io/upload_images/4153190-a57f503a359d0323"),
    ("  https://a.example/x\n\ty.jpg\r\n", "https://a.example/xy.jpg"),
    ("HTTPS://A.example/X.jpg", "https://a.example/X.jpg"),
    ("https://a.example/a b.jpg", "https://a.example/a%20b.jpg"),
    ("https://a.example/图片/猫.jpg?标题=猫#段", "https://a.example/%E5%9B%BE%E7%89%87/%E7%8C%AB.jpg?%E6%A0%87%E9%A2%98=%E7%8C%AB#%E6%AE%B5"),
    ("https://bücher.example/ä.png", "https://xn--bcher-kva.example/%C3%A4.png"),
    ("https://例え.テスト/a", "https://xn--r8jz45g.xn--zckzah/a"),
    ("https://a.example/100%/%zz/%4/%41%e4", "https://a.example/100%25/%25zz/%254/%41%e4"),
    ("https://a.example/x.jpg@s_2,w_820,h_520", "https://a.example/x.jpg@s_2,w_820,h_520"),
    ("https://a.example/[x]|{y}^`", "https://a.example/%5Bx%5D%7C%7By%7D%5E%60"),
    ("https://user:pa ss@a.example:8443/x", "https://user:pa%20ss@a.example:8443/x"),
    ("https://[2001:db8::1]/x.png", "https://[2001:db8::1]/x.png"),
])
def test_urls_become_absolute_uris(url, expected):
    assert Rewriter().rewrite_url(url, BASE) == expected


@pytest.mark.parametrize("url, reason", [
    ("", "empty URL"),
    ("   ", "empty URL"),
    ("javascript:alert(1)", "scheme 'javascript' is not allowed here"),
    (" JavaScript:alert(1)", "scheme 'javascript' is not allowed here"),
    ("vbscript:msgbox(1)", "scheme 'vbscript' is not allowed here"),
    ("data:image/png;base64,AAAA", "data: URL not allowed here"),
    ("ftp://files.example/a.jpg", "scheme 'ftp' is not allowed here"),
    ("http://[::1/x", "unparseable URL"),
    ("https://a.example:99999/x", "invalid port"),
    ("https://a.example:port/x", "invalid port"),
    ("https:///x.jpg", "no host"),
    ("https://a b.example/x", "host contains characters not allowed in a hostname"),
    ("https://a\u2044b.example/", "host is not a valid internationalized domain name"),
    ("https://a.example/\udc80", "URL contains invalid characters"),
])
def test_unusable_image_urls_are_dropped_with_a_reason(url, reason):
    r = Rewriter()
    assert r.rewrite_url(url, BASE, source="s.md") is None
    assert [u.reason for u in r.report().unsafe] == [reason]


def test_relative_url_without_absolute_base_is_dropped():
    r = Rewriter()
    assert r.rewrite_url("/a.jpg", "") is None
    assert r.rewrite_url("/a.jpg", "posts/x.html") is None
    assert r.report().unsafe[0].reason == "relative URL and no absolute article link to resolve it against"
    assert r.rewrite_url("//a.example/x.jpg", "") == "https://a.example/x.jpg"


@pytest.mark.parametrize("url, expected", [
    ("mailto:me@example.com?subject=你好", "mailto:me@example.com?subject=%E4%BD%A0%E5%A5%BD"),
    ("tel:+1 555", "tel:+1%20555"),
    ("#section-2", "https://blog.example/posts/2021/entry/#section-2"),
    ("ftp://files.example/a.zip", "ftp://files.example/a.zip"),
])
def test_link_targets_allow_more_schemes(url, expected):
    assert Rewriter().rewrite_url(url, BASE, target="links") == expected


@pytest.mark.parametrize("url", ["javascript:void(0)", "vbscript:x", "data:text/html,<script>", "file:///etc/passwd"])
def test_link_targets_drop_dangerous_schemes(url):
    assert Rewriter().rewrite_url(url, BASE, target="links") is None


# ---------------------------------------------------------------- report


def test_report_counts_and_unsafe_urls():
    r = Rewriter()
    a = make_article(
        f'<img src="{ZF}http://lain.bgm.tv/a.jpg"><img src="https://ok.example/b.jpg">'
        '<a href="javascript:x()">x</a><a href="http://site.example/">site</a>',
        image=f"{ZF}http://lain.bgm.tv/a.jpg", source="b.md")
    r.rewrite_article(a)
    r.rewrite_url("http://lain.bgm.tv/a.jpg", BASE, source="c.md")
    rep = r.report()
    assert rep == RewriteReport(
        articles=1,
        rules=(RuleCount(0, f"unwrap prefix={ZF}", "unwrap", 2),),
        unmatched=5,
        unsafe=(
            UnsafeUrl("http://lain.bgm.tv/a.jpg", rep.unsafe[0].reason, False, ("b.md", "c.md")),
            UnsafeUrl("javascript:x()", "scheme 'javascript' is not allowed here", True, ("b.md",)),
        ),
    )
    assert rep.unsafe[0].reason.startswith("still plain http://")
    d = rep.as_dict()
    assert d["rules"] == [{"index": 0, "label": f"unwrap prefix={ZF}", "action": "unwrap", "count": 2}]
    assert d["unsafe"][1] == {"url": "javascript:x()", "reason": "scheme 'javascript' is not allowed here",
                              "dropped": True, "sources": ["b.md"]}


def test_http_links_are_not_reported_insecure():
    r = Rewriter()
    r.rewrite_url("http://site.example/", BASE, target="links")
    assert r.report().unsafe == ()


# ---------------------------------------------------------------- articles


def test_lead_image_is_unwrapped():
    a = make_article("", image=f"{ZF}http://zkres1.myzaker.com/202107/60ea756f8e9f096bf83d5918_1024.jpg")
    assert Rewriter().rewrite_article(a) == []
    assert a.image == "http://zkres1.myzaker.com/202107/60ea756f8e9f096bf83d5918_1024.jpg"


def test_lead_image_relative_and_protocol_relative():
    a = make_article(image="/images/cover.jpg", link="https://site.example/p/1.html")
    Rewriter().rewrite_article(a)
    assert a.image == "https://site.example/images/cover.jpg"
    a = make_article(image="//cdn.example/c.jpg")
    Rewriter().rewrite_article(a)
    assert a.image == "https://cdn.example/c.jpg"


@pytest.mark.parametrize("image, problem", [
    ("https://www.jianshu.com/p/undefined",
     "lead image 'https://www.jianshu.com/p/undefined' is a placeholder, not an image; dropped"),
    ("javascript:alert(1)", "dropped 1 URL(s), scheme 'javascript' is not allowed here: 'javascript:alert(1)'"),
    (ZF, f"dropped 1 URL(s), proxy URL holds no original URL: '{ZF}'"),
])
def test_bad_lead_image_is_dropped_with_a_problem(image, problem):
    a = make_article(image=image, source="x.md")
    assert Rewriter().rewrite_article(a) == [Problem("x.md", problem)]
    assert a.image is None


def test_blank_lead_image_becomes_none_silently():
    a = make_article(image="  ")
    assert Rewriter().rewrite_article(a) == []
    assert a.image is None


def test_rule_can_add_referrerpolicy():
    r = rewriter({"match": {"host": "a.example"}, "action": "keep", "referrerpolicy": True})
    a = make_article('<img src="https://a.example/1.jpg"><img src="https://b.example/2.jpg">')
    r.rewrite_article(a)
    assert a.content == ('<img src="https://a.example/1.jpg" referrerpolicy="no-referrer">'
                         '<img src="https://b.example/2.jpg">')


def test_dropped_urls_are_summarised_per_article():
    body = "".join(f'<img src="ftp://f.example/{i}.jpg">' for i in range(5)) + "<p>text</p>"
    a = make_article(body, source="m.md")
    problems = Rewriter().rewrite_article(a)
    assert a.content == "<p>text</p>"
    assert problems == [Problem("m.md", "dropped 5 URL(s), scheme 'ftp' is not allowed here: "
                                "'ftp://f.example/0.jpg', 'ftp://f.example/1.jpg', 'ftp://f.example/2.jpg' and 2 more")]


def test_rewrite_article_never_raises():
    a = make_article()
    a.content = None  # a caller's bug, not a crash
    problems = Rewriter().rewrite_article(a)
    assert a.content == ""
    assert len(problems) == 1 and problems[0].reason.startswith("rewrite failed (AttributeError")


def test_internal_failure_keeps_text_without_markup(monkeypatch):
    r = Rewriter()
    monkeypatch.setattr(r, "_sanitizer", None)  # simulate a bug inside the HTML pass
    a = make_article('<p onclick="x()">Hello <b>world</b><script>evil()</script></p>', source="bug.md")
    problems = r.rewrite_article(a)
    assert a.content == "<p>Hello world</p>"
    assert problems == [Problem("bug.md", "rewrite failed (AttributeError: 'NoneType' object has no "
                                          "attribute 'clean'); kept as plain text")]


def test_rewrite_url_rejects_unknown_target():
    with pytest.raises(ValueError):
        Rewriter().rewrite_url("https://a.example/", BASE, target="image")


def test_rewriter_has_no_shared_state():
    one, two = Rewriter(), Rewriter()
    one.rewrite_url(ZF + "https://a.example/x.jpg", BASE)
    assert one.report().rules[0].count == 1
    assert two.report().rules[0].count == 0


def test_article_link_is_the_base():
    a = make_article('<a href="../other/">o</a>', link=ARTICLE_LINK)
    Rewriter().rewrite_article(a)
    assert a.content == '<a href="https://blog.example/posts/2021/other/">o</a>'


def test_docs_quick_start_moves_all_images_to_the_new_proxy():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "rewriting.md").read_text(encoding="utf-8")
    configs = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)]
    sections = [c["rewrite"] for c in configs if isinstance(c, dict) and "rewrite" in c]
    assert len(sections) == 3
    for section in sections:
        parse_rewrite_settings(section)
    r = Rewriter(parse_rewrite_settings(sections[0]))
    assert r.rewrite_url(ZF + "http://lain.bgm.tv/a.jpg", BASE) == "https://wsrv.nl/?url=http%3A%2F%2Flain.bgm.tv%2Fa.jpg"
    assert r.rewrite_url("https://site.example/page", BASE, target="links") == "https://site.example/page"
