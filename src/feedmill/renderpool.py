"""Render many feed nodes on both cores.

feedgen builds each feed as an lxml tree in Python; 400 feeds of 20 large items take about 3 s
on one core. Workers are forked after the bodies are finished, so they inherit the nodes and
only node indices go in and file bytes come out.
"""

from __future__ import annotations

from collections.abc import Iterator

from .config import Config
from .jsonfeed import render_json
from .model import FeedNode
from .parallel import fork_map, worth_forking
from .render import RenderedFeed, render_node

POOL_THRESHOLD = 40
"""Below this many nodes, forking workers costs more than it saves."""
CHUNK = 8

# The nodes and config of the build, in a forked worker only (set by _adopt, never in the parent).
_inherited: tuple[list[FeedNode], Config] | None = None


def render_nodes(nodes: list[FeedNode], config: Config) -> Iterator[list[RenderedFeed]]:
    """Every format of each node, in the order of `nodes`."""
    if not worth_forking(len(nodes), POOL_THRESHOLD):
        for node in nodes:
            yield render_all_formats(node, config)
        return
    chunks = [range(i, min(i + CHUNK, len(nodes))) for i in range(0, len(nodes), CHUNK)]
    for rendered in fork_map(_render_chunk, chunks, initializer=_adopt, initargs=(nodes, config)):
        yield from rendered


def render_all_formats(node: FeedNode, config: Config) -> list[RenderedFeed]:
    feeds = render_node(node, config)
    if "json" in config.output.formats:
        feeds.append(render_json(node, config))
    return feeds


def _adopt(nodes: list[FeedNode], config: Config) -> None:
    global _inherited  # noqa: PLW0603 - per worker process, see above
    _inherited = (nodes, config)


def _render_chunk(indices: range) -> list[list[RenderedFeed]]:
    assert _inherited is not None
    nodes, config = _inherited
    return [render_all_formats(nodes[i], config) for i in indices]
