"""Room on the data directory's disk: a write is refused before the disk fills, and a full disk is named."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path


class StorageFull(RuntimeError):
    """The disk under the data directory has no room for a write; nothing of that write was acknowledged."""


def free_mb(folder: Path) -> float:
    """Megabytes free on the disk holding `folder` (its nearest existing parent)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free / 2**20


def check_room(folder: Path, min_free_mb: float) -> None:
    """Refuse a write while less than `min_free_mb` is free: a store that runs out mid-write may
    be left unable to compact or delete, so the margin is kept rather than used up."""
    if min_free_mb <= 0:
        return
    free = free_mb(folder)
    if free < min_free_mb:
        raise StorageFull(
            f"the disk holding the data directory has {free:.0f} MB free, under the {min_free_mb:g} MB kept free "
            "(QA_MIN_FREE_MB): delete documents or free space, then try again"
        )


def disk_full(exc: BaseException) -> bool:
    """Whether a write failed for want of room, whatever layer said so (OS, SQLite, Chroma)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text  # SQLite and Chroma: "database or disk is full"


def as_storage_full(exc: BaseException, folder: Path) -> StorageFull | None:
    """The write's error as a `StorageFull`, when it is one: said so, or the disk is nearly full now."""
    if disk_full(exc) or free_mb(folder) < 1:
        return StorageFull(f"the disk holding the data directory is full ({free_mb(folder):.0f} MB free): the write was not stored; delete documents or free space, then try again")
    return None
