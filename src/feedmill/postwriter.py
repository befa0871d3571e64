"""Writing stored articles as Hexo posts, so a Hexo site can keep working from the store.

Each article gets one file, `<folder>/<category path>/<title>.md`, with front matter in the
corpus's fields and the HTML body as is. Where each article's file is, is remembered in
`<folder>/.feedmill-posts.json`, so an article keeps its file when its title changes upstream,
and files feedmill did not write are never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timezone
from email.utils import format_datetime
from pathlib import Path, PurePosixPath

import yaml

from .model import Article, Problem
from .publish import write_if_changed

MANIFEST = ".feedmill-posts.json"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_MAX_NAME_BYTES = 150  # well under the usual 255-byte limit, leaving room for a suffix and ".md"
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)$", re.IGNORECASE)


@dataclass(frozen=True)
class WriteReport:
    written: list[Path]
    """Files created or changed."""
    unchanged: list[Path]
    failed: list[Problem]
    """Files that could not be written, with the reason."""


def write_posts(articles: Sequence[Article], folder: str | Path) -> WriteReport:
    """Write each article as a Hexo post in `folder`; only files whose bytes change are rewritten.

    New names are made safe and unique: when two articles would share a name (or a file that
    feedmill did not write already has it), the later ones get a short id suffix.
    """
    folder = Path(folder)
    manifest = _load_manifest(folder)
    report = WriteReport([], [], [])
    try:
        for path, article in _assign_paths(articles, folder, manifest).items():
            try:
                changed = write_if_changed(path, render_post(article).encode("utf-8"))
            except OSError as exc:
                report.failed.append(Problem(str(path), f"cannot write: {exc.strerror or exc}"))
                continue
            (report.written if changed else report.unchanged).append(path)
    finally:
        # Even after a failure: the names given out so far must stay theirs on the next run.
        write_if_changed(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    return report


def render_post(article: Article) -> str:
    """The post text: YAML front matter in the corpus's fields, then the HTML body as is."""
    front: dict[str, object] = {"title": article.title}
    paths = [list(p) for p in article.categories]
    if paths:
        # Hexo reads a flat list as one path, and a list of lists as several.
        front["categories"] = paths[0] if len(paths) == 1 else paths
    if article.tags:
        front["tags"] = list(article.tags)
    if article.image:
        front["headimg"] = article.image
    front["author"] = article.author or ""
    front["comments"] = False
    front["date"] = format_datetime(article.published.astimezone(timezone.utc), usegmt=True)
    if article.updated:
        front["updated"] = format_datetime(article.updated.astimezone(timezone.utc), usegmt=True)
    front["thumbnail"] = article.image or ""
    matter = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=10**6)
    return f"---\n{matter}---\n\n{article.content}\n"


def _assign_paths(articles: Sequence[Article], folder: Path, manifest: dict[str, str]) -> dict[Path, Article]:
    """Known articles keep their file; new ones get a fresh name. Updates `manifest` in place."""
    paths: dict[Path, Article] = {}
    fresh: list[Article] = []
    # Oldest first, so among articles sharing a title the oldest keeps the plain name.
    for article in sorted(articles, key=lambda a: (a.published, a.source, a.guid)):
        known = manifest.get(_key(article))
        if known and folder / known not in paths:
            paths[folder / known] = article
        else:
            fresh.append(article)
    taken = {folder / p for p in manifest.values()} | set(paths)
    for article in fresh:
        path = _fresh_path(article, folder, taken)
        taken.add(path)
        paths[path] = article
        manifest[_key(article)] = path.relative_to(folder).as_posix()
    return paths


def _fresh_path(article: Article, folder: Path, taken: set[Path]) -> Path:
    directory = folder.joinpath(*(_safe_name(part) for part in _first_category(article)))
    stem = _safe_name(article.title)
    path = directory / f"{stem}.md"
    if path in taken or path.exists():
        digest = hashlib.sha1(_key(article).encode()).hexdigest()[:8]
        path = directory / f"{stem}-{digest}.md"
    return path


def _key(article: Article) -> str:
    return f"{article.source}\n{article.guid}"


def _load_manifest(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    # Only paths that stay inside the folder: the manifest is a file anyone could edit.
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and _is_inside(v)}


def _is_inside(relative: str) -> bool:
    path = PurePosixPath(relative)
    return not path.is_absolute() and ".." not in path.parts and path.suffix == ".md"


def _first_category(article: Article) -> tuple[str, ...]:
    return article.categories[0] if article.categories else ()


def _safe_name(text: str) -> str:
    """A single path component: no separators, control or reserved characters, no dot names."""
    name = " ".join(_UNSAFE.sub("_", text).split()).strip(". ")
    name = _truncate_utf8(name, _MAX_NAME_BYTES).strip(". ")
    if not name or _WINDOWS_RESERVED.match(name):
        name = f"_{name}" if name else "untitled"
    return name


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")
