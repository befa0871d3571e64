"""Command line: a thin layer over the library's functions. Exit codes are in the README.

Output is for two audiences: a person at a terminal (progress bars for slow stages) and cron
(no TTY: only warnings, errors and one summary line; `--log-format json` for log collectors).
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from . import __version__
from .config import Config, ConfigError, load_config
from .model import Problem
from .pipeline import BuildReport, Progress, build, feed_nodes
from .state import BuildLocked

if TYPE_CHECKING:
    from .rewrite import UnsafeUrl

EXIT_OK, EXIT_PROBLEMS, EXIT_CONFIG, EXIT_SHRINK, EXIT_SOURCES, EXIT_IO, EXIT_LOCKED = 0, 1, 2, 3, 4, 74, 75
DEFAULT_CONFIG = Path("config/feedmill.yml")

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_CONFIG, show_default=True, help="YAML config file.",
)


@click.group()
@click.version_option(__version__, prog_name="feedmill")
def main() -> None:
    """Publish per-category RSS 2.0 and Atom feeds from Hexo-style posts."""


build_options = [
    config_option,
    click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                 help="Output folder (overrides output.dir)."),
    click.option("--strict", is_flag=True, help="Exit 1 when any post was skipped."),
    click.option("--dry-run", is_flag=True, help="Report what would change; write nothing."),
    click.option("--allow-shrink", is_flag=True,
                 help="Let a feed lose more than half its items; delete feeds of vanished categories."),
    click.option("--wait", type=float, default=0, show_default=True, metavar="SECONDS",
                 help="Wait this long for another running build to finish."),
    click.option("-q", "--quiet", is_flag=True, help="Print only errors."),
    click.option("-v", "--verbose", is_flag=True, help="Also list every file written."),
    click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                 help="json: one JSON object per event, for log collectors."),
]


def with_options(options: list[Any]) -> Any:
    def decorate(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


@main.command("build")
@with_options(build_options)
def build_command(config_path: Path, out: Path | None, strict: bool, dry_run: bool, allow_shrink: bool,
                  wait: float, quiet: bool, verbose: bool, log_format: str) -> None:
    """Build every feed of the config (posts, and articles `collect` stored)."""
    sys.exit(_build(_Log(log_format, quiet), config_path, out=out, strict=strict, dry_run=dry_run,
                    allow_shrink=allow_shrink, wait=wait, verbose=verbose))


@main.command("collect")
@config_option
@click.option("--write-posts", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Also write every stored article as a Hexo post in DIR.")
@click.option("--wait", type=float, default=0, show_default=True, metavar="SECONDS",
              help="Wait this long for another running feedmill to finish.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def collect_command(config_path: Path, write_posts: Path | None, wait: float, quiet: bool, log_format: str) -> None:
    """Fetch the remote sources into the article store (exit 4 when a source failed)."""
    sys.exit(_collect(_Log(log_format, quiet), config_path, write_posts, wait))


@main.command("run")
@with_options(build_options)
def run_command(config_path: Path, out: Path | None, strict: bool, dry_run: bool, allow_shrink: bool,
                wait: float, quiet: bool, verbose: bool, log_format: str) -> None:
    """collect, then build: the command for cron. Exit code: build's, else collect's."""
    log = _Log(log_format, quiet)
    # A dry run writes nothing, the article store included: it only builds from what is stored.
    collected = EXIT_OK if dry_run else _collect(log, config_path, None, wait)
    if collected in (EXIT_CONFIG, EXIT_LOCKED, EXIT_IO):
        sys.exit(collected)
    built = _build(log, config_path, out=out, strict=strict, dry_run=dry_run,
                   allow_shrink=allow_shrink, wait=wait, verbose=verbose)
    sys.exit(built or collected)


def _build(log: _Log, config_path: Path, *, out: Path | None, strict: bool, dry_run: bool,
           allow_shrink: bool, wait: float, verbose: bool) -> int:
    with _progress_bars(enabled=not log.json and not log.quiet) as progress:
        report = _guarded(log, build, config_path, out=out, dry_run=dry_run, allow_shrink=allow_shrink,
                          wait=wait, progress=progress)
    if isinstance(report, int):
        return report
    _log_report(report, log, verbose)
    if report.errors:
        return EXIT_IO
    if report.refused:
        return EXIT_SHRINK
    return EXIT_PROBLEMS if strict and report.skipped else EXIT_OK


def _guarded(log: _Log, job: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a library call; a config error or a held lock becomes its message and exit code."""
    try:
        return job(*args, **kwargs)
    except ConfigError as exc:
        log.event("error", "config error", message=f"config error: {exc}", key=exc.key, file=exc.file)
        return EXIT_CONFIG
    except BuildLocked as exc:
        log.event("error", "locked", message=str(exc))
        return EXIT_LOCKED
    except (OSError, sqlite3.Error) as exc:  # the state or output folder cannot be used
        where = getattr(exc, "filename", None)
        message = f"cannot use {where}: {exc.strerror}" if where and getattr(exc, "strerror", None) else str(exc)
        log.event("error", "io error", message=message)
        return EXIT_IO


def _collect(log: _Log, config_path: Path, write_posts: Path | None, wait: float) -> int:
    from .collector import collect  # requests and feedparser load only here

    report = _guarded(log, collect, config_path, write_posts_to=write_posts, wait=wait)
    if isinstance(report, int):
        return report
    for outcome in report.outcomes:
        if outcome.problem:
            log.event("error", "source failed", message=f"{outcome.source.name}: {outcome.problem}",
                      name=outcome.source.name, source=outcome.source.url, reason=outcome.problem.reason)
        log.problems("warning", "warning", list(outcome.warnings))
    counts = {status: sum(o.status == status for o in report.outcomes) for status in ("ok", "not-modified", "failed")}
    new = sum(o.new for o in report.outcomes)
    updated = sum(o.updated for o in report.outcomes)
    message = (f"feedmill collect: {len(report.outcomes)} sources, {counts['ok']} fetched, "
               f"{counts['not-modified']} not modified, {counts['failed']} failed; "
               f"{new} new and {updated} updated articles")
    if report.pruned:
        message += f", {report.pruned} pruned"
    if report.posts is not None:
        message += f"; {len(report.posts.written)} posts written, {len(report.posts.unchanged)} unchanged"
        log.problems("error", "write failed", report.posts.failed)
    log.event("info", "summary", message=message, sources=len(report.outcomes), failed=counts["failed"],
              new=new, updated=updated, pruned=report.pruned)
    if report.posts is not None and report.posts.failed:
        return EXIT_IO
    return EXIT_SOURCES if report.failed else EXIT_OK


@main.command("check-images")
@config_option
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per request.")
@click.option("--max-time", type=float, default=120.0, show_default=True, help="Seconds for the whole check.")
def check_images_command(config_path: Path, concurrency: int, timeout: float, max_time: float) -> None:
    """Check that every image URL in the written feeds loads; list dead ones by host.

    Exits 1 when an image is dead.
    """
    from .checkimages import check_images, image_urls_in_feeds  # requests loads only here

    config = _load_or_exit(config_path)
    urls = image_urls_in_feeds(config.output.dir)
    report = check_images(urls, concurrency=concurrency, timeout=timeout, total_timeout=max_time)
    click.echo(report.format())
    sys.exit(EXIT_PROBLEMS if report.dead_count else EXIT_OK)


@main.command("serve")
@config_option
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Folder to serve instead of the config's output.dir.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
def serve_command(config_path: Path, directory: Path | None, port: int) -> None:
    """Preview the built feeds on http://127.0.0.1 (not a production server)."""
    from .serve import make_server

    folder = directory or _load_or_exit(config_path).output.dir
    try:
        server = make_server(folder, port)
    except OSError as exc:  # a missing folder, or the port is taken
        click.echo(f"feedmill: cannot serve {folder}: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    click.echo(f"Serving {folder} at http://127.0.0.1:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@main.command("snippet")
@config_option
@click.argument("category", default="")
def snippet_command(config_path: Path, category: str) -> None:
    """Print the <link rel="alternate"> tags of CATEGORY's feeds, for a page's <head>.

    CATEGORY is a slug path (new-media/36kr) or category names joined by '/' (新媒体/36kr);
    without it, the site-wide feeds.
    """
    from .browser import autodiscovery_links, find_node

    config = _load_or_exit(config_path)
    try:
        node = find_node(feed_nodes(config), category)
    except ConfigError as exc:
        click.echo(f"feedmill: config error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    if node is None:
        raise click.BadParameter(f"no feed for category {category!r}", param_hint="CATEGORY")
    click.echo(autodiscovery_links(node, config))


def _load_or_exit(config_path: Path) -> Config:
    try:
        return load_config(config_path)
    except ConfigError as exc:
        click.echo(f"feedmill: config error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


class _Log:
    """Events as text lines (stderr for problems) or as JSON objects, one per line."""

    def __init__(self, log_format: str, quiet: bool) -> None:
        self.json = log_format == "json"
        self.quiet = quiet

    def event(self, level: str, kind: str, **fields: Any) -> None:
        if self.quiet and level not in ("error", "skipped"):
            return
        if self.json:
            click.echo(json.dumps({"level": level, "event": kind, **fields}, ensure_ascii=False, default=str))
        elif kind == "summary":
            click.echo(fields["message"])
        else:
            stream_err = level in ("error", "warning", "skipped")
            click.echo(f"{level}: {fields.get('message') or fields.get('path')}", err=stream_err)

    def problems(self, level: str, kind: str, problems: list[Problem]) -> None:
        for problem in problems:
            self.event(level, kind, message=str(problem), source=problem.source, reason=problem.reason)


def _log_report(report: BuildReport, log: _Log, verbose: bool) -> None:
    log.problems("skipped", "post skipped", report.skipped)
    log.problems("error", "write failed", report.errors)
    log.problems("error", "shrink refused", report.refused)
    log.problems("warning", "warning", report.warnings)
    if report.rewrites:
        _log_unsafe_urls(report.rewrites.unsafe, log, verbose)
    if verbose:
        verb = "would write" if report.dry_run else "wrote"
        for relpath in report.feeds_written:
            log.event("info", verb, path=str(report.output_dir / relpath))
        for relpath in report.feeds_deleted:
            log.event("info", "would delete" if report.dry_run else "deleted", path=str(report.output_dir / relpath))
    log.event("info", "summary", message=_summary(report), posts_read=report.posts_read,
              skipped=len(report.skipped), drafts=report.drafts, written=len(report.feeds_written),
              unchanged=len(report.feeds_unchanged), deleted=len(report.feeds_deleted),
              refused=len(report.refused), dry_run=report.dry_run,
              rewrites=report.rewrites.as_dict() if report.rewrites else None)


def _log_unsafe_urls(unsafe: Sequence[UnsafeUrl], log: _Log, verbose: bool) -> None:
    """One warning per reason, naming the hosts (a corpus can hold thousands of such URLs);
    every URL with -v."""
    by_reason: dict[tuple[str, bool], list[UnsafeUrl]] = {}
    for url in unsafe:
        by_reason.setdefault((url.reason, url.dropped), []).append(url)
    for (reason, dropped), urls in by_reason.items():
        hosts = Counter(urlsplit(u.url).hostname or "?" for u in urls)
        shown = ", ".join(f"{host} ({count})" for host, count in hosts.most_common(5))
        more = f" and {len(hosts) - 5} more hosts" if len(hosts) > 5 else ""
        verb = "dropped" if dropped else "kept"
        log.event("warning", "unsafe urls", message=f"{len(urls)} URLs {verb}, {reason}: {shown}{more}",
                  reason=reason, dropped=dropped, count=len(urls), hosts=dict(hosts))
        if verbose:
            for url in urls:
                log.event("info", "unsafe url", path=f"{url.url} (in {', '.join(url.sources)})")


def _summary(report: BuildReport) -> str:
    written = "would be written" if report.dry_run else "written"
    text = (f"feedmill: {report.posts_read} posts read, {len(report.skipped)} skipped, "
            f"{report.drafts} drafts; {len(report.feeds_written)} files {written}, "
            f"{len(report.feeds_unchanged)} unchanged")
    if report.feeds_deleted:
        text += f", {len(report.feeds_deleted)} deleted"
    if report.refused:
        text += f", {len(report.refused)} kept by the shrink guard"
    if report.rewrites:
        rewritten = sum(rule.count for rule in report.rewrites.rules)
        text += f"; {rewritten} URLs rewritten by rules"
    return f"{text} in {report.output_dir}"


@contextmanager
def _progress_bars(enabled: bool) -> Iterator[Progress | None]:
    """tqdm bars on a terminal, shown only for stages that take longer than a second."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, delay=1.0, leave=False, unit="")
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()



if __name__ == "__main__":
    main()
