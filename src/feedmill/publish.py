"""Publish stage: write files atomically, and only when their bytes changed.

A reader fetching a feed while a build runs sees the old file or the new one, never a mix:
each file is written to a temporary file in the same folder, flushed to disk, then renamed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_if_changed(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` atomically unless it already holds exactly these bytes."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes private files; the new file keeps the old one's mode, or is world-readable.
        os.fchmod(fd, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return True


def inside(folder: Path, relpath: str) -> Path:
    """`folder / relpath`, refusing any path that would land outside `folder`."""
    target = (folder / relpath).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise ValueError(f"refusing to write outside the output folder: {relpath}")
    return target


def remove_file(folder: Path, relpath: str) -> None:
    """Delete `folder / relpath`, then its parent folders that became empty (not `folder`)."""
    target = inside(folder, relpath)
    target.unlink(missing_ok=True)
    parent, top = target.parent, folder.resolve()
    while parent != top and parent.is_relative_to(top) and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
