"""Load stage: find post files and split each into front matter (a mapping) and body text.

Nothing here interprets front-matter values; normalize.py does. Front matter is read with every
plain scalar kept as its literal text (see `_LiteralLoader`), so `title: 12_00` stays "12_00".
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

POST_SUFFIXES = frozenset({".md", ".markdown", ".html"})
_FENCE = re.compile(r"^---[ \t]*$", re.MULTILINE)
# YAML rejects these control characters and XML cannot carry them: they are dropped on read.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")

try:  # the C parser is about 10x faster on large corpora
    _BaseLoader: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader


class _LiteralLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader that leaves plain scalars as text, except empty values and `~`/`null`.

    YAML 1.1 would turn titles such as `12_00` into 1200 and `1936` into an int, and naive dates
    into datetimes; the normalize stage wants the literal text to interpret it itself.
    """


_LiteralLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LiteralLoader.yaml_implicit_resolvers.setdefault("", []).append(
    ("tag:yaml.org,2002:null", re.compile(r"^$"))
)


class PostError(Exception):
    """A post file that cannot be used; the message is the reason."""


@dataclass
class RawPost:
    path: Path
    relpath: str
    """Path relative to its post folder, with '/' separators."""
    front: dict[str, Any]
    body: str
    warnings: list[str] = field(default_factory=list)
    digest: str = ""
    """SHA-1 of the file's bytes."""

    @property
    def is_markdown(self) -> bool:
        return is_markdown(self.path)


def is_markdown(path: Path | str) -> bool:
    return os.path.splitext(path)[1].lower() in (".md", ".markdown")


def find_post_files(folder: Path) -> Iterator[str]:
    """Path of every post file below `folder`, in a stable order; hidden files and folders are ignored.

    Symlinked folders are followed once each: a link back to an ancestor is not a loop."""
    # os.scandir and plain strings: pathlib objects cost a third of a no-change rebuild.
    stack = [str(folder)]
    seen: set[tuple[int, int]] = set()
    while stack:
        current = stack.pop()
        try:
            identity = os.stat(current)
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError:
            continue
        if (identity.st_dev, identity.st_ino) in seen:
            continue
        seen.add((identity.st_dev, identity.st_ino))
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if _is_dir(entry):
                subfolders.append(entry.path)
            elif os.path.splitext(entry.name)[1].lower() in POST_SUFFIXES:
                yield entry.path
        stack.extend(reversed(subfolders))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:  # a broken or looping link
        return False


def read_post(path: Path | str, folder: Path) -> RawPost:
    """Read one post file. Raises PostError with the reason when it cannot be used."""
    path = Path(path)
    data = _read_bytes(path)
    front_text, body = split_front_matter(_decode(data))
    front, warnings = parse_front_matter(front_text)
    digest = hashlib.sha1(data).hexdigest()
    return RawPost(path, path.relative_to(folder).as_posix(), front, body, warnings, digest)


def read_body(path: Path | str) -> str:
    """Only the body of a post file (front matter not parsed). Raises PostError."""
    return split_front_matter(_decode(_read_bytes(Path(path))))[1]


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PostError(f"cannot read file: {exc.strerror or exc}") from None


def _decode(data: bytes) -> str:
    if not data.strip():
        raise PostError("empty file")
    if b"\x00" in data:
        raise PostError("binary file (contains NUL bytes), not a post")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PostError(f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def split_front_matter(text: str) -> tuple[str, str]:
    """Split `---` fenced front matter from the body; blank lines may precede the first fence."""
    stripped = text.lstrip("\r\n\t ")
    opening = _FENCE.match(stripped)
    if not opening:
        raise PostError("no front matter: the file does not start with a '---' line")
    closing = _FENCE.search(stripped, opening.end())
    if not closing:
        raise PostError("front matter is not closed: no second '---' line")
    front = stripped[opening.end():closing.start()].lstrip("\r\n")
    return front, stripped[closing.end():].lstrip("\r\n")


def parse_front_matter(text: str) -> tuple[dict[str, Any], list[str]]:
    """Parse front matter as YAML; fall back to simple `key: value` lines when YAML rejects it."""
    try:
        front = yaml.load(text, Loader=_LiteralLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        front = _read_simple_lines(text)
        if front is None:
            raise PostError(f"invalid YAML front matter: {_yaml_reason(exc)}") from None
        return front, [f"front matter is not valid YAML ({_yaml_reason(exc)}); read as plain key: value lines"]
    if front is None:
        return {}, []
    if not isinstance(front, dict):
        raise PostError(f"front matter is not a mapping of keys to values (got {type(front).__name__})")
    return front, []


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{problem} at line {mark.line + 1}" if mark else problem


_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*):(?:[ \t]+(.*?))?[ \t]*$")
_ITEM_LINE = re.compile(r"^[ \t]*-[ \t]+(.*?)[ \t]*$")
# Values that open YAML structure (flow collections, block scalars, anchors, tags) are not
# plain text, so a front matter that uses them is not rescued.
_STRUCTURE_START = tuple("[{|>&*!")


def _read_simple_lines(text: str) -> dict[str, Any] | None:
    """Read front matter made only of `key: value`, `- item` and continuation lines.

    Returns None when a line has any other shape, so only plainly simple front matter is
    rescued (the corpus has titles wrapped in seven double quotes, or starting with `@`).
    """
    front: dict[str, Any] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if (match := _KEY_LINE.match(line)) is not None:
            key, value = match.group(1), match.group(2)
            if value and value.startswith(_STRUCTURE_START):
                return None
            front[key] = _unquote(value) if value else None
        elif key is not None and (item := _ITEM_LINE.match(line)) is not None and not isinstance(front[key], str):
            front[key] = [*(front[key] or []), _unquote(item.group(1))]
        elif key is not None and line[:1] in " \t" and isinstance(front[key], str):
            front[key] = f"{front[key]} {line.strip()}"
        else:
            return None
    return front


def _unquote(value: str) -> str:
    """Strip quotes a broken generator wrapped around a value: `\"\"\"'Avowed'\"\"\"` -> `Avowed`."""
    while len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1].replace("''", "'")
    return value
