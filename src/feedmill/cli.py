"""Command line: a thin layer over the library's functions. Exit codes are in the README."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .browser import autodiscovery_links, find_node
from .config import Config, ConfigError, load_config
from .pipeline import BuildReport, build, feed_nodes
from .serve import make_server

EXIT_OK, EXIT_SKIPPED, EXIT_CONFIG = 0, 1, 2
DEFAULT_CONFIG = Path("config/feedmill.yml")


@click.group()
@click.version_option(__version__, prog_name="feedmill")
def main() -> None:
    """Publish per-category RSS 2.0 and Atom feeds from Hexo-style posts."""


@main.command("build")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="YAML config file.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (overrides output.dir).")
@click.option("--strict", is_flag=True, help="Exit 1 when any post was skipped.")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors (skipped posts).")
@click.option("-v", "--verbose", is_flag=True, help="Also list every file written.")
def build_command(config_path: Path, out: Path | None, strict: bool, quiet: bool, verbose: bool) -> None:
    """Build every feed of the config."""
    try:
        report = build(config_path, out=out)
    except ConfigError as exc:
        click.echo(f"feedmill: config error: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    _print_report(report, quiet=quiet, verbose=verbose)
    sys.exit(EXIT_SKIPPED if strict and report.skipped else EXIT_OK)


def _print_report(report: BuildReport, *, quiet: bool, verbose: bool) -> None:
    for problem in report.skipped:
        click.echo(f"skipped: {problem}", err=True)
    if quiet:
        return
    for problem in report.warnings:
        click.echo(f"warning: {problem}", err=True)
    if verbose:
        for relpath in report.feeds_written:
            click.echo(f"wrote {report.output_dir / relpath}")
    click.echo(
        f"feedmill: {report.posts_read} posts read, {len(report.skipped)} skipped, "
        f"{report.drafts} drafts; {len(report.feeds_written)} files written, "
        f"{len(report.feeds_unchanged)} unchanged in {report.output_dir}"
    )


@main.command("serve")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="YAML config file (for output.dir).")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Folder to serve instead of the config's output.dir.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
def serve_command(config_path: Path, directory: Path | None, port: int) -> None:
    """Preview the built feeds on http://127.0.0.1 (not a production server)."""
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
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="YAML config file.")
@click.argument("category", default="")
def snippet_command(config_path: Path, category: str) -> None:
    """Print the <link rel="alternate"> tags of CATEGORY's feeds, for a page's <head>.

    CATEGORY is a slug path (new-media/36kr) or category names joined by '/' (新媒体/36kr);
    without it, the site-wide feeds.
    """
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
