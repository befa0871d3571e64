"""The build, top to bottom: load -> normalize -> group -> finish bodies -> render -> publish.

Bodies are finished (Markdown rendered, URLs rewritten, summary filled) after grouping, and only
for articles that appear in a feed that has to be rendered again. The build cache (cache.py)
lets an unchanged post skip load and normalize, and an unchanged feed skip rendering.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .cache import BuildCache, CachedFeed, CachedPost, FileStamp, PostOutcome, open_cache
from .config import FEED_FILE_NAMES, Config, ConfigError, PostFolder, load_config
from .group import feed_relpath, group_articles, make_guids_unique
from .load import PostError, find_post_files, read_post
from .model import Article, FeedNode, Problem
from .normalize import is_draft, normalize_post
from .publish import inside, remove_file, write_if_changed
from .state import locked

if TYPE_CHECKING:
    from .bodies import BodyResult
    from .rewrite import RewriteReport

READ_POOL_THRESHOLD = 500
"""From this many post files to read, a process pool reads them (it costs ~0.1 s to start)."""
READ_CHUNK = 250
Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total) while a stage runs."""


@dataclass
class BuildReport:
    """What a build did, as data; the CLI only formats it."""

    output_dir: Path
    dry_run: bool = False
    posts_read: int = 0
    """Articles read: post files that became articles, and stored remote articles."""
    drafts: int = 0
    skipped: list[Problem] = field(default_factory=list)
    """Posts left out of every feed, each with the reason."""
    warnings: list[Problem] = field(default_factory=list)
    """Problems that did not stop anything from being published, each with what was done."""
    refused: list[Problem] = field(default_factory=list)
    """Feeds the shrink guard kept as they were published (see `allow_shrink`)."""
    feeds_written: list[str] = field(default_factory=list)
    """Paths under output_dir of files whose bytes changed (or would, in a dry run)."""
    feeds_unchanged: list[str] = field(default_factory=list)
    feeds_deleted: list[str] = field(default_factory=list)
    hub_notified: list[str] = field(default_factory=list)
    """Feed URLs the WebSub hub accepted a publish ping for (changed feeds only)."""
    errors: list[Problem] = field(default_factory=list)
    """Files that could not be written or deleted (read-only folder, disk full), with the reason;
    the published file, if any, is left as it was."""
    rewrites: RewriteReport | None = None
    """Rewrites per rule and URLs no rule could make safe, in the bodies finished by this build
    (bodies taken from the build cache are not counted again)."""


def build(
    config: Config | str | Path | Mapping[str, Any],
    *,
    out: str | Path | None = None,
    dry_run: bool = False,
    allow_shrink: bool = False,
    wait: float = 0,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> BuildReport:
    """Build every feed of `config` (a Config, a YAML file path, or a mapping).

    Raises ConfigError before anything is written when the config or a post folder is unusable,
    and state.BuildLocked when another build of the same state folder runs for longer than `wait` seconds.
    `allow_shrink` lets a feed lose more than half its items, and deletes feeds of categories
    that no longer have posts. `dry_run` reports what would change and writes nothing.
    """
    if not isinstance(config, Config):
        config = load_config(config, out=out)
    _check_post_folders(config)
    report = BuildReport(output_dir=config.output.dir, dry_run=dry_run)
    cache_path = config.state_dir / "build-cache.sqlite" if use_cache else None
    with locked(config.state_dir, wait), open_cache(
        cache_path, lambda msg: report.warnings.append(Problem(str(cache_path), msg))
    ) as cache:
        _Build(config, cache, report, allow_shrink, progress or _no_progress).run()
    if not dry_run and config.websub.hub:
        from .websub import notify_hub

        hub = notify_hub(config, report.feeds_written)
        report.hub_notified.extend(hub.announced)
        report.warnings.extend(hub.problems)
    return report


def feed_nodes(config: Config | str | Path | Mapping[str, Any]) -> list[FeedNode]:
    """The feeds a build would write: posts read and grouped, nothing rendered or written."""
    if not isinstance(config, Config):
        config = load_config(config)
    _check_post_folders(config)
    report = BuildReport(output_dir=config.output.dir)
    with open_cache(None, lambda message: None) as cache:
        return _Build(config, cache, report, False, _no_progress).group()


def _check_post_folders(config: Config) -> None:
    for index, folder in enumerate(config.posts):
        if not folder.dir.is_dir():
            # A missing mount must not turn into feeds that lost all their items.
            raise ConfigError(f"posts[{index}].dir", f"folder not found: {folder.dir}", config.file)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


def _settings_key(*parts: object) -> str:
    """A digest of settings and data that is the same in every process for equal values."""
    text = json.dumps(_canonical((__version__, *parts)), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    # repr() is not enough: a frozenset's order changes with each process's string hashing.
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (set, frozenset)):
        return sorted((_canonical(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_canonical(item) for item in value]
    if isinstance(value, Mapping):
        return sorted(([_canonical(k), _canonical(v)] for k, v in value.items()), key=repr)
    if is_dataclass(value) and not isinstance(value, type):
        return [type(value).__name__, [[f.name, _canonical(getattr(value, f.name))] for f in fields(value)]]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # Path, ZoneInfo (its key), FileStamp's ints are covered above


@dataclass
class _Post:
    """What the build knows of where one article came from."""

    digest: str
    """SHA-1 of the post file, or of the stored article: changes whenever anything in it changes."""
    html: str | None = None
    """The body of a stored article (a post's body is read from its file when needed)."""
    remote_source: str | None = None
    """The remote source a stored article came from."""
    path: str | None = None
    """The post file; None for a stored article."""


class _Build:
    def __init__(self, config: Config, cache: BuildCache, report: BuildReport,
                 allow_shrink: bool, progress: Progress) -> None:
        self.config = config
        self.cache = cache
        self.report = report
        self.allow_shrink = allow_shrink
        self.progress = progress
        self.formats = config.output.formats
        self.posts: dict[str, _Post] = {}
        self.finished: set[str] = set()
        self.digests: dict[str, str] = {}
        self.fresh: list[str] = []
        # A source's own rewrite section changes its bodies as much as the global one.
        self.body_settings = _settings_key(config.rewrite, config.source_rewrites)
        self.feed_settings = _settings_key(config.site, config.output, config.websub, self.body_settings)

    def run(self) -> None:
        files = self.list_files()
        build_key = _settings_key(self.config, self.allow_shrink, self.store_stamp())
        if self.replay(build_key, files):
            return
        articles = self.load(files)
        self.report.warnings.extend(make_guids_unique(articles))
        nodes = group_articles(articles, self.config.output.limit, self.config.output.slugs)
        stale = self.plan(nodes)
        while failed := self.finish([a for node in stale for a in node.articles]):
            # A post vanished after it was listed: leave it out and group again.
            articles = [a for a in articles if a.source not in failed]
            nodes = group_articles(articles, self.config.output.limit, self.config.output.slugs)
            stale = self.plan(nodes)
        self.report.feeds_unchanged.extend(self.fresh)
        self.render(stale)
        self.render_site_files(nodes)
        self.remove_vanished(nodes)
        if not self.report.dry_run:
            if not self.report.errors:  # a failed write must be tried again, not replayed
                self.cache.remember_last_build(_last_build_record(build_key, files, self.report))
            published = {self.body_key(a) for node in nodes for a in node.articles}
            self.cache.commit(set(files), published)

    def group(self) -> list[FeedNode]:
        """Load and group only (for `feed_nodes`)."""
        articles = self.load(self.list_files())
        make_guids_unique(articles)
        return group_articles(articles, self.config.output.limit, self.config.output.slugs)

    # --- the shortcut for a build whose inputs and outputs are as the last build left them ---

    def list_files(self) -> dict[str, tuple[int, FileStamp | None]]:
        """Every post file with the index of its folder and its stamp (None: cannot stat)."""
        files: dict[str, tuple[int, FileStamp | None]] = {}
        for index, folder in enumerate(self.config.posts):
            for path in find_post_files(folder.dir):
                try:
                    files[path] = (index, FileStamp.of(path))
                except OSError:
                    files[path] = (index, None)
        return files

    def store_stamp(self) -> tuple[FileStamp | None, ...]:
        """Changes whenever `collect` changes the article store (SQLite in WAL mode)."""
        if not self.config.sources:
            return ()
        from .store import DB_NAME

        stamps = []
        for suffix in ("", "-wal"):
            try:
                stamps.append(FileStamp.of(self.config.state_dir / f"{DB_NAME}{suffix}"))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def replay(self, build_key: str, files: dict[str, tuple[int, FileStamp | None]]) -> bool:
        """Report the last build again when nothing it read or wrote has changed since."""
        last = self.cache.last_build()
        if not last or last["key"] != build_key or last["files"] != _file_record(files):
            return False
        feeds = last["feeds"]
        for relpath in feeds:
            if not self.is_current(relpath, None):
                return False
        recorded = last["report"]
        self.report.posts_read, self.report.drafts = recorded["posts_read"], recorded["drafts"]
        for name in ("skipped", "warnings", "refused"):
            getattr(self.report, name).extend(Problem(*problem) for problem in recorded[name])
        self.report.feeds_unchanged.extend(feeds)
        return True

    # --- load + normalize, through the cache ---

    def load(self, files: dict[str, tuple[int, FileStamp | None]]) -> list[Article]:
        settings = [
            _settings_key(self.config.site.url, self.config.site.timezone.key, self.config.undated, folder)
            for folder in self.config.posts
        ]
        outcomes: dict[str, tuple[PostOutcome, str]] = {}
        pending: list[tuple[str, int]] = []
        for key, (index, stamp) in files.items():
            cached = self.cache.post(key) if stamp else None
            if cached and cached.stamp == stamp and cached.settings == settings[index]:
                outcomes[key] = (cached.outcome, cached.sha)
            elif stamp:
                pending.append((key, index))
        for (key, index), (outcome, digest) in zip(pending, self.read_posts(pending)):
            outcomes[key] = (outcome, digest)
            stamp = files[key][1]
            assert stamp is not None
            self.cache.remember_post(key, CachedPost(stamp, digest, settings[index], outcome))
        articles: list[Article] = []
        for key, (_, stamp) in files.items():
            if stamp is None:
                reason = "cannot read file: it vanished or is not accessible"
                self.report.skipped.append(Problem(self.config.display_path(key), reason))
            elif (article := self.take(key, *outcomes[key])) is not None:
                articles.append(article)
        return articles + self.load_remote()

    def read_posts(self, pending: list[tuple[str, int]]) -> list[tuple[PostOutcome, str]]:
        """Read and normalize these post files: in a process pool when there are many."""
        from .parallel import chunked, fork_map, worth_forking  # multiprocessing: only when reading

        folders = self.config.posts
        if not worth_forking(len(pending), READ_POOL_THRESHOLD):
            results = []
            for done, (key, index) in enumerate(pending, 1):
                self.progress("load", done, len(pending))
                results.append(_read_and_normalize(Path(key), folders[index], self.config))
            return results
        # Only what normalizing needs crosses to the workers (remote sources hold unpicklable views).
        light = replace(self.config, sources=(), source_rewrites={}, rewrite=None)
        chunks = chunked(pending, READ_CHUNK)
        results = []
        for chunk_results in fork_map(_read_chunk, chunks, [light] * len(chunks)):
            results.extend(chunk_results)
            self.progress("load", len(results), len(pending))
        return results

    def load_remote(self) -> list[Article]:
        """The stored articles of the configured remote sources (`feedmill collect` fills the store)."""
        if not self.config.sources:
            return []
        from .collector import stored_articles
        from .store import Store

        with Store.open(self.config.state_dir) as store:
            articles = stored_articles(store, self.config.sources)
        for article in articles:
            digest = _settings_key(article)  # every field, the body included
            url = article.source.split(" [", 1)[0]
            self.posts[article.source] = _Post(digest, article.content, url)
            article.content = ""  # finished, like a post's body, only when a feed needs it
        self.report.posts_read += len(articles)
        return articles

    def take(self, key: str, outcome: PostOutcome, digest: str) -> Article | None:
        shown = self.config.display_path(key)
        self.report.warnings.extend(Problem(shown, warning) for warning in outcome.warnings)
        if outcome.kind == "draft":
            self.report.drafts += 1
            return None
        if outcome.article is None:
            self.report.skipped.append(Problem(shown, outcome.reason))
            return None
        self.report.posts_read += 1
        article = outcome.article
        article.source = shown  # the build cache keys posts by their full path
        self.posts[shown] = _Post(digest, path=key)
        return article

    # --- which feeds must be rendered again ---

    def plan(self, nodes: list[FeedNode]) -> list[FeedNode]:
        """Nodes with a feed file whose inputs changed, or that is missing or was altered.

        The files of the other nodes are listed in `self.fresh` (planning may run again when a
        post vanished while its body was read)."""
        self.digests = {}
        self.fresh = []
        stale = []
        for node in nodes:
            relpaths = []
            for fmt in self.formats:
                relpath = feed_relpath(node, fmt)
                self.digests[relpath] = self.digest(node, fmt)
                relpaths.append(relpath)
            if all(self.is_current(relpath, self.digests[relpath]) for relpath in relpaths):
                self.fresh.extend(relpaths)
            else:
                stale.append(node)
        return stale

    def digest(self, node: FeedNode, fmt: str) -> str:
        """Everything a feed file is made from. Only strings here, so repr() is stable and
        cheaper than the canonical form settings need (this runs for every file of a build)."""
        items = [(a.guid, self.posts[a.source].digest, a.published.isoformat()) for a in node.articles]
        text = repr((self.feed_settings, fmt, node.path, node.slugs, items))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def is_current(self, relpath: str, digest: str | None) -> bool:
        """Is the feed file as the cache recorded it (and, given a digest, made from these inputs)?"""
        cached = self.cache.feed(relpath)
        if cached is None or (digest is not None and cached.digest != digest):
            return False
        try:
            # A plain join: relpaths come from slugs, and `inside` guards every write.
            return FileStamp.of(os.path.join(self.config.output.dir, relpath)) == cached.stamp
        except OSError:
            return False

    # --- bodies ---

    def finish(self, articles: list[Article]) -> set[str]:
        """Finish the bodies of these articles; return the sources that could not be read."""
        # Markdown, lxml and the rewrite engine load only when a body must be finished.
        from .bodies import BodyJob, finish_bodies
        from .rewrite import combine_reports

        unique = {a.source: a for a in articles if a.source not in self.finished}
        jobs, waiting = [], []
        for source, article in sorted(unique.items()):
            cached = self.cache.body(self.body_key(article), self.body_settings)
            if cached is not None:
                self.apply_body(article, cached)
            else:
                post = self.posts[source]
                jobs.append(BodyJob(source, post.path, article.link, article.summary, article.image,
                                    post.html, post.remote_source))
                waiting.append(article)
        failed: set[str] = set()
        results, rewrites = finish_bodies(jobs, self.config.rewrite, self.progress, self.config.source_rewrites)
        self.report.rewrites = combine_reports([r for r in (self.report.rewrites, rewrites) if r])
        for article, result in zip(waiting, results):
            if isinstance(result, str):
                self.report.skipped.append(Problem(article.source, result))
                self.report.posts_read -= 1
                failed.add(article.source)
            else:
                self.cache.remember_body(self.body_key(article), self.body_settings, result)
                self.apply_body(article, result)
        return failed

    def body_key(self, article: Article) -> str:
        # The finished body depends on the file and on the link relative URLs resolve against.
        return _settings_key(self.posts[article.source].digest, article.link)

    def apply_body(self, article: Article, result: BodyResult) -> None:
        article.content, article.summary, article.image = result.html, result.summary, result.image
        self.report.warnings.extend(Problem(article.source, w) for w in result.warnings)
        self.finished.add(article.source)

    # --- render + publish ---

    def render(self, nodes: list[FeedNode]) -> None:
        from .renderpool import render_nodes  # feedgen loads only when a feed must be rendered

        for done, feeds in enumerate(render_nodes(nodes, self.config), 1):
            self.progress("render", done, len(nodes))
            for feed in feeds:
                self.publish(feed.relpath, feed.data, feed.items)

    def render_site_files(self, nodes: list[FeedNode]) -> None:
        """OPML, the browser stylesheet and the index page: small, so made on every build."""
        from .browser import render_index, render_stylesheet
        from .opml import render_opml

        files = [render_opml(nodes, self.config)]
        if self.config.output.stylesheet and {"rss", "atom"} & set(self.formats):
            files.append(render_stylesheet())
        if self.config.output.index:
            files.append(render_index(nodes, self.config))
        for file in files:
            self.digests[file.relpath] = hashlib.sha1(file.data).hexdigest()
            self.publish(file.relpath, file.data, file.items)

    def publish(self, relpath: str, data: bytes, items: int) -> None:
        target = inside(self.config.output.dir, relpath)
        previous = self.cache.feed(relpath)
        old_items = previous.items if previous else _count_items(target)
        if old_items is not None and items * 2 < old_items and not self.allow_shrink:
            self.report.refused.append(Problem(
                relpath, f"would shrink from {old_items} to {items} items; the published feed was kept "
                         "(run with --allow-shrink if that is intended)"))
            return
        if self.report.dry_run:
            changed = not target.is_file() or target.read_bytes() != data
        else:
            try:
                changed = write_if_changed(target, data)
            except OSError as exc:
                self.report.errors.append(Problem(str(target), f"cannot write: {exc.strerror or exc}"))
                return
            self.cache.remember_feed(relpath, CachedFeed(self.digests[relpath], FileStamp.of(target), items))
        (self.report.feeds_written if changed else self.report.feeds_unchanged).append(relpath)

    def remove_vanished(self, nodes: list[FeedNode]) -> None:
        """Feeds of categories that have no posts any more: deleted only when allowed.

        Also removes temporary files a killed build left behind (this build holds the lock,
        so no other build is writing them)."""
        out = self.config.output.dir
        if not self.report.dry_run:
            for leftover in out.rglob(".*.tmp"):
                leftover.unlink(missing_ok=True)
        current = set(self.digests)
        # Files this build would have written: recorded by earlier builds, or found under the
        # names of the configured formats (after the cache was deleted).
        names = {FEED_FILE_NAMES[fmt] for fmt in self.formats}
        on_disk = {p.relative_to(out).as_posix() for name in names for p in out.rglob(name)}
        for relpath in sorted((on_disk | self.cache.feed_paths()) - current):
            if not (out / relpath).is_file():
                self.cache.forget_feed(relpath)
            elif not self.allow_shrink:
                self.report.refused.append(Problem(relpath, _vanished_reason(relpath, names)))
            else:
                self.delete(relpath)

    def delete(self, relpath: str) -> None:
        out = self.config.output.dir
        if not self.report.dry_run:
            try:
                remove_file(out, relpath)
            except OSError as exc:
                self.report.errors.append(Problem(str(out / relpath), f"cannot delete: {exc.strerror or exc}"))
                return
            self.cache.forget_feed(relpath)
        self.report.feeds_deleted.append(relpath)


def _vanished_reason(relpath: str, names: set[str]) -> str:
    if relpath.rsplit("/", 1)[-1] not in names:
        why = "its format is no longer in output.formats"
    else:
        why = "its category has no posts any more"
    return f"{why}; the published file was kept (run with --allow-shrink to delete it)"


def _file_record(files: dict[str, tuple[int, FileStamp | None]]) -> dict[str, list[int] | None]:
    return {key: [stamp.size, stamp.mtime_ns] if stamp else None for key, (_, stamp) in files.items()}


def _last_build_record(key: str, files: dict[str, tuple[int, FileStamp | None]],
                       report: BuildReport) -> dict[str, Any]:
    def problems(items: list[Problem]) -> list[list[str]]:
        return [[p.source, p.reason] for p in items]

    return {
        "key": key,
        "files": _file_record(files),
        "feeds": sorted(report.feeds_written + report.feeds_unchanged),
        "report": {
            "posts_read": report.posts_read, "drafts": report.drafts,
            "skipped": problems(report.skipped), "warnings": problems(report.warnings),
            "refused": problems(report.refused),
        },
    }


def _read_chunk(items: list[tuple[str, int]], config: Config) -> list[tuple[PostOutcome, str]]:
    return [_read_and_normalize(Path(key), config.posts[index], config) for key, index in items]


def _read_and_normalize(path: Path, folder: PostFolder, config: Config) -> tuple[PostOutcome, str]:
    """Load and normalize one post file; also return the file's digest."""
    try:
        raw = read_post(path, folder.dir)
    except PostError as exc:
        return PostOutcome("skipped", reason=str(exc)), ""
    if is_draft(raw.front):
        return PostOutcome("draft", warnings=tuple(raw.warnings)), raw.digest
    try:
        article = normalize_post(raw, folder, config)
    except PostError as exc:
        return PostOutcome("skipped", reason=str(exc), warnings=tuple(raw.warnings)), raw.digest
    except Exception as exc:  # noqa: BLE001 - one post's unforeseen content must not stop the build
        reason = f"could not be read ({type(exc).__name__}: {exc})"
        return PostOutcome("skipped", reason=reason, warnings=tuple(raw.warnings)), raw.digest
    article.content = ""  # the body is read again, and only, when a feed needs it
    return PostOutcome("article", article, warnings=tuple(raw.warnings)), raw.digest


_ITEM = re.compile(rb"<(?:item|entry)[\s>]")


def _count_items(path: Path) -> int | None:
    """Items in a published feed file; None when there is none to protect."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if path.suffix == ".json":
        try:
            return len(json.loads(data).get("items", []))
        except (ValueError, AttributeError):
            return None
    return len(_ITEM.findall(data))
