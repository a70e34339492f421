"""One writer per data directory: an exclusive lock that processes writing an embedded store take.

The embedded store (Chroma's files) and the derived indexes beside it belong to one process
at a time; two writers on one directory (two `qa serve`, or `qa serve` and `qa ingest`) can
corrupt it. A writer takes an advisory `flock` on a file in the directory for as long as it
runs; the kernel releases it when the process ends, however it ends, so a killed process never
leaves a stale lock. The file holds the holder's process id, for the message the next one sees.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

LOCK_FILE = "writer.lock"

_held: dict[Path, int] = {}  # data directory -> the descriptor this process holds its lock on
_guard = threading.Lock()


class DirectoryInUse(RuntimeError):
    """Another process writes to this data directory."""


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return "another process"
    return f"process {text}" if text.isdigit() else "another process"


def lock_data_dir(data_dir: Path) -> None:
    """Take this directory's writer lock for the rest of this process (again in one process: nothing to do).

    Raises DirectoryInUse, naming the holder's process id, when another process has it.
    """
    folder = Path(data_dir).expanduser().resolve()
    with _guard:
        if folder in _held:
            return
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise DirectoryInUse(
                f"data directory {folder} is in use by {holder} (a running qa serve, ingest or watch); "
                "stop it, or write through its API, or use another QA_DATA_DIR"
            ) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        os.set_inheritable(fd, False)
        _held[folder] = fd


def unlock_data_dir(data_dir: Path) -> None:
    """Give the lock back before the process ends (tests; a process that ends releases it anyway)."""
    folder = Path(data_dir).expanduser().resolve()
    with _guard:
        fd = _held.pop(folder, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
