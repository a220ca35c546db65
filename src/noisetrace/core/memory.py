"""Give freed heap memory back to the operating system between the runs of a grid.

A grid trains many models one after another in one process (Xception, then Xception+LSTM, RGB then
SRM …). Each frees everything when it ends, but glibc's allocator keeps the freed, fragmented heap
pages, so the resident size of the process grew by about 300 MB per run in the demo's grid (4.9 GB
after 16 runs), while the live Python and tensor objects did not grow at all. ``malloc_trim(0)``
returns those pages: measured on the same grid, the resident size then stays at about 1 GB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

__all__ = ["release_freed_memory"]


def release_freed_memory() -> bool:
    """Ask glibc to return free heap pages to the OS; ``False`` where there is no glibc (macOS,
    Windows, musl), which have their own policies and need nothing here."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return False
    trim.argtypes = [ctypes.c_size_t]
    return bool(trim(0))
