"""Process-level memory settings of the server: fewer malloc arenas."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(arenas: int = ARENAS) -> None:
    """At most `arenas` glibc malloc arenas, in this process and the workers it starts.

    glibc gives busy threads arenas of their own (up to 8 per core): the request threads,
    ONNX Runtime's and Chroma's each keep freed memory in theirs. Measured on a 100k-chunk
    archive under eval.scale's load (eval/results/scale.md): RSS 883 MB with the default,
    741 MB with 2 arenas, 737 MB with 1, 754 MB with jemalloc; latency unchanged within noise.
    An explicit MALLOC_ARENA_MAX in the environment wins.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)  # read at start-up by worker processes
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        if libc is None or not hasattr(libc, "mallopt") or libc.mallopt(_M_ARENA_MAX, arenas) != 1:
            log.debug("mallopt(M_ARENA_MAX) not available: the C library's default arenas")
    except OSError:  # not glibc (musl, macOS): nothing to tune
        log.debug("no C library to tune")
