"""Worker processes keep the heap memory they free, for their next task (glibc ``mallopt``; elsewhere nothing).

A screen task allocates and frees large arrays and strings (code points of a 4 MB chunk, its hits, its lines).
glibc returns freed memory to the kernel above a trim threshold and serves allocations above an mmap
threshold with fresh mappings; both thresholds adapt to the allocation history. Every fresh page then costs a
page fault (about 2 microseconds in a virtual machine), and depending on that history a worker settles into a
mode with ten times the faults of the other: on corpus (d), 26,000 against 300,000 faults for 16 tasks, and up
to a sixth of the task time. Fixed thresholds (mmap above 32 MiB, trim above 1 GiB) keep a worker's heap at its
peak instead. The peak itself does not change; the memory is given back when the worker exits. Only the
local pool's workers do this: the workers of a Dask cluster belong to whoever runs it (glibc reads the same
settings from ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` in their environment).
"""

from __future__ import annotations

import ctypes
import sys

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 1 << 30

_applied = False


def keep_freed_memory() -> bool:
    """Set the thresholds in this process; True when they were set (Linux with glibc), else False."""
    global _applied
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):  # musl and other C libraries without mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return _applied


def applied(*_args: object) -> bool:
    """Whether :func:`keep_freed_memory` set the thresholds in this process (a task function for tests)."""
    return _applied
