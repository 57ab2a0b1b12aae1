"""The cyclic garbage collector paused for a block of allocation-heavy work (claims batches, screen tasks).

Such blocks allocate many small acyclic objects (claims, events, records) that reference counting frees; the
collector's passes over them cost time and find nothing. It runs again, and collects what the block left,
once the block ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
