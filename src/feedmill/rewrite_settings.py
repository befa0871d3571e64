"""The `rewrite:` section of the config: rules and sanitize options, validated into frozen data.

The shape is documented in docs/rewriting.md. Every error names the dotted key that is wrong,
e.g. `rewrite.rules[2].action`, through `ConfigError`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import idna
from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from feedmill.config import ConfigError

ACTIONS = ("unwrap", "proxy", "https", "keep", "drop")
MATCH_KINDS = ("host", "host_glob", "prefix", "regex")
TARGETS = ("images", "media", "links")
PLACEHOLDERS = ("url", "url_encoded", "scheme", "host", "path", "query")

ZFOUR_PROXY = "https://cors.zfour.workers.dev/?"
_ORIGIN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


@dataclass(frozen=True)
class Rule:
    """One rewrite rule: when `match_kind`/`pattern` matches a URL of a kind in `targets`, do `action`."""

    index: int
    match_kind: str
    pattern: str
    action: str
    targets: frozenset[str]
    query_key: str | None = None
    template: str | None = None
    referrerpolicy: bool = False
    name: str | None = None

    @property
    def label(self) -> str:
        """A readable name for reports: the configured name or `action match=pattern`."""
        return self.name or f"{self.action} {self.match_kind}={self.pattern}"


@dataclass(frozen=True)
class SanitizeSettings:
    """What the sanitizer removes besides the fixed list of dangerous elements and attributes."""

    iframe_hosts: tuple[str, ...] = ()
    allow_data_images: bool = True
    background_images: bool = True
    remove: tuple[str, ...] = ("div.support-author",)
    remove_by_source: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class RewriteSettings:
    rules: tuple[Rule, ...]
    sanitize: SanitizeSettings


def default_rules() -> tuple[Rule, ...]:
    """Today's corpus behaviour: recover the original URL from the dead zfour CORS proxy."""
    return (Rule(0, "prefix", ZFOUR_PROXY, "unwrap", frozenset(TARGETS)),)


def parse_rewrite_settings(data: Mapping[str, Any] | None, key: str = "rewrite") -> RewriteSettings:
    """Validate the `rewrite:` mapping; absent keys get the defaults. Raises `ConfigError`."""
    if data is None:
        return RewriteSettings(default_rules(), SanitizeSettings())
    _check_mapping(data, key, ("rules", "sanitize"))
    rules_data = data.get("rules")
    rules = default_rules() if rules_data is None else _parse_rules(rules_data, f"{key}.rules")
    return RewriteSettings(rules, _parse_sanitize(data.get("sanitize"), f"{key}.sanitize"))


def _check_mapping(data: Any, key: str, allowed: tuple[str, ...]) -> None:
    if not isinstance(data, Mapping):
        raise ConfigError(key, f"must be a mapping, not {type(data).__name__}")
    for k in data:
        if k not in allowed:
            raise ConfigError(f"{key}.{k}", f"unknown key; expected one of: {', '.join(allowed)}")


def _expect(value: Any, kind: type | tuple[type, ...], key: str, what: str) -> Any:
    # bool is an int subclass and YAML turns `yes` into True: reject it where a str is expected.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(key, f"must be {what}, not {type(value).__name__}")
    return value


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    _expect(value, list, key, "a list of strings")
    return tuple(_expect(v, str, f"{key}[{i}]", "a string") for i, v in enumerate(value))


def _parse_rules(data: Any, key: str) -> tuple[Rule, ...]:
    _expect(data, list, key, "a list of rules")
    return tuple(_parse_rule(item, i, f"{key}[{i}]") for i, item in enumerate(data))


_RULE_KEYS = ("match", "action", "targets", "query_key", "template", "referrerpolicy", "name")


def _parse_rule(data: Any, index: int, key: str) -> Rule:
    _check_mapping(data, key, _RULE_KEYS)
    if "match" not in data or "action" not in data:
        raise ConfigError(key, "a rule needs `match` and `action`")
    kind, pattern = _parse_match(data["match"], f"{key}.match")
    action = _expect(data["action"], str, f"{key}.action", "a string")
    if action not in ACTIONS:
        raise ConfigError(f"{key}.action", f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}")
    template = _parse_template(data.get("template"), action, f"{key}.template")
    query_key = data.get("query_key")
    if query_key is not None:
        _expect(query_key, str, f"{key}.query_key", "a string")
        if action != "unwrap":
            raise ConfigError(f"{key}.query_key", "only meaningful for action `unwrap`")
    return Rule(
        index=index,
        match_kind=kind,
        pattern=pattern,
        action=action,
        targets=_parse_targets(data.get("targets"), action, f"{key}.targets"),
        query_key=query_key,
        template=template,
        referrerpolicy=_expect(data.get("referrerpolicy", False), bool, f"{key}.referrerpolicy", "true or false"),
        name=None if data.get("name") is None else _expect(data["name"], str, f"{key}.name", "a string"),
    )


def _parse_match(data: Any, key: str) -> tuple[str, str]:
    _check_mapping(data, key, MATCH_KINDS)
    if len(data) != 1:
        raise ConfigError(key, f"needs exactly one of: {', '.join(MATCH_KINDS)}")
    ((kind, pattern),) = data.items()
    pattern = _expect(pattern, str, f"{key}.{kind}", "a string")
    if not pattern:
        raise ConfigError(f"{key}.{kind}", "must not be empty")
    if kind == "regex":
        try:
            re.compile(pattern)
        except re.error as e:
            raise ConfigError(f"{key}.regex", f"invalid regular expression: {e}") from None
    if kind in ("host", "host_glob"):
        pattern = pattern.lower()
    if kind == "prefix":
        # URLs are matched after normalization, which lower-cases the scheme and host.
        pattern = _ORIGIN.sub(lambda m: m.group(0).lower(), pattern, count=1)
    if kind == "host" and not pattern.isascii():
        # URLs are matched after IDNA encoding, so the pattern must be in the same form.
        try:
            pattern = idna.encode(pattern, uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise ConfigError(f"{key}.host", f"not a valid host name: {e}") from None
    return kind, pattern


def _parse_targets(data: Any, action: str, key: str) -> frozenset[str]:
    if data is None:
        # An image proxy cannot serve web pages or video: proxying links by default would break them.
        return frozenset({"images"}) if action == "proxy" else frozenset(TARGETS)
    targets = _str_list(data, key)
    for i, t in enumerate(targets):
        if t not in TARGETS:
            raise ConfigError(f"{key}[{i}]", f"unknown target {t!r}; expected one of: {', '.join(TARGETS)}")
    if not targets:
        raise ConfigError(key, "must name at least one target")
    return frozenset(targets)


def _parse_template(data: Any, action: str, key: str) -> str | None:
    if action != "proxy":
        if data is not None:
            raise ConfigError(key, "only meaningful for action `proxy`")
        return None
    if data is None:
        raise ConfigError(key, "action `proxy` needs a template, e.g. https://wsrv.nl/?url={url_encoded}")
    template = _expect(data, str, key, "a string")
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as e:
        raise ConfigError(key, f"invalid template: {e}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise ConfigError(key, f"unknown placeholder {{{name}}}; expected: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        if spec or conversion:
            raise ConfigError(key, f"placeholder {{{name}}} takes no format spec or conversion")
    if not template.lower().startswith(("https://", "http://")):
        raise ConfigError(key, "must start with https:// (or http://)")
    return template


_SANITIZE_KEYS = ("iframe_hosts", "allow_data_images", "background_images", "remove", "remove_by_source")


def _parse_sanitize(data: Any, key: str) -> SanitizeSettings:
    if data is None:
        return SanitizeSettings()
    _check_mapping(data, key, _SANITIZE_KEYS)
    defaults = SanitizeSettings()
    remove = defaults.remove if data.get("remove") is None else _selectors(data["remove"], f"{key}.remove")
    return SanitizeSettings(
        iframe_hosts=tuple(h.lower() for h in _str_list(data.get("iframe_hosts", []), f"{key}.iframe_hosts")),
        allow_data_images=_expect(data.get("allow_data_images", True), bool, f"{key}.allow_data_images", "true or false"),
        background_images=_expect(data.get("background_images", True), bool, f"{key}.background_images", "true or false"),
        remove=remove,
        remove_by_source=_parse_by_source(data.get("remove_by_source"), f"{key}.remove_by_source"),
    )


def _parse_by_source(data: Any, key: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if data is None:
        return ()
    _expect(data, Mapping, key, "a mapping of source folder to selectors")
    out = []
    for folder, selectors in data.items():
        folder = _expect(folder, str, key, "a mapping with string keys").strip("/")
        if not folder:
            raise ConfigError(key, "a source folder must not be empty")
        out.append((folder, _selectors(selectors, f"{key}.{folder}")))
    return tuple(out)


def _selectors(data: Any, key: str) -> tuple[str, ...]:
    selectors = _str_list(data, key)
    for i, sel in enumerate(selectors):
        try:
            CSSSelector(sel)
        except SelectorError as e:
            raise ConfigError(f"{key}[{i}]", f"invalid CSS selector {sel!r}: {e}") from None
    return selectors
