"""Two-level scan of a chunk: literals of near-only cues are looked for only in the windows around anchor hits.

Most hits in a dense chunk are cues that the matcher keeps only within ``near_window`` characters of an
anchor (pack ``[types] near_only``: 术后, 患者, recipient). Scanning for them everywhere costs one Python
callback per hit (python-hyperscan takes the GIL back for each one), and the matcher then drops most of them.
Here the literals owned only by near-only types are left out of the chunk's scan. The anchor hits found by
the scan of the other literals give windows ``[start - W - M, start + W + M]``, where W is the near window
and M the longest literal left out. The windows are merged, copied into one buffer with a NUL between them,
scanned once, and their hits are mapped back.

The matcher's output is unchanged, by construction:

- a near-only hit that the matcher keeps starts within W of an anchor, so it lies inside a window;
- so does every hit that could drop it: a hit of its type that contains it, or a ``[suppress]`` hit that
  contains it. Such a hit is at most M long and covers the kept hit, so it starts after ``anchor - W - M``
  and ends before ``anchor + W + M``;
- a literal is left out only when every type owning it is near-only, none is an anchor, each suppresses
  only near-only types, and the literal holds no NUL. So its hits far from anchors can drop nothing the
  matcher keeps, and no hit can span two windows;
- the windows come from every hit of an anchor literal, before word boundaries and suppression: a superset
  of the anchors the matcher measures distances from.

tests/test_screen_nearscan.py compares this with the one-level scan, on the labelled sets and on generated
chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from organwatch.screen.rulepack import RulePack
from organwatch.screen.scanner import Scanner, in_hit_order


@dataclass(frozen=True)
class NearSplit:
    """The pack's literals in two scanners: ``main`` (ids ``main_ids``) everywhere, ``near`` (ids
    ``near_ids``) only around anchor hits."""

    main: Scanner
    main_ids: np.ndarray
    near: Scanner
    near_ids: np.ndarray
    anchor_literal: np.ndarray  # per literal of the pack: owned by an anchor type
    margin: int  # the longest literal of ``near``, in characters


def near_literals(pack: RulePack) -> list[int]:
    """Indices of the literals that only the window scan looks for (see the module docstring)."""
    roles = pack.types
    near, anchor = roles.of("near_only"), roles.of("anchor")
    suppresses: dict[str, set[str]] = {}  # type -> the types it suppresses
    for suppressed, by in pack.suppress.items():
        for t in by:
            suppresses.setdefault(t, set()).add(suppressed)

    def windowed(t: str) -> bool:
        return t in near and t not in anchor and suppresses.get(t, set()) <= near

    out = []
    for i, (lit, owners) in enumerate(zip(pack.literals, pack.owners, strict=True)):
        types = {pack.rules[r].type for r in owners}
        if types and all(windowed(t) for t in types) and "\x00" not in lit.text:
            out.append(i)
    return out


def plan(pack: RulePack, scanner_for: Callable[[list[str], str], Any]) -> NearSplit | None:
    """The split of the pack's literals, or None when there is nothing to leave out (or no anchor literal).
    ``scanner_for(literals, tag)`` builds a scanner for a subset of the literals."""
    near = near_literals(pack)
    texts = pack.literal_strings()
    anchors = pack.types.of("anchor")
    anchor_literal = np.array([any(pack.rules[r].type in anchors for r in o) for o in pack.owners], dtype=bool)
    taken = np.zeros(len(texts), dtype=bool)
    taken[near] = True
    if not near or not (anchor_literal & ~taken).any():
        return None
    main = np.flatnonzero(~taken)
    return NearSplit(scanner_for([texts[i] for i in main], "main"), main.astype(np.int64),
                     scanner_for([texts[i] for i in near], "near"), np.array(near, dtype=np.int64),
                     anchor_literal, max(len(texts[i]) for i in near))


def windows(anchor_starts: np.ndarray, window: int, margin: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Merged windows ``[start, end)`` around sorted anchor starts in a text of ``n`` characters."""
    lo = np.maximum(anchor_starts - window - margin, 0)
    hi = np.minimum(anchor_starts + window + margin + 1, n)  # both sorted, as the anchor starts are
    first = np.ones(len(lo), dtype=bool)
    first[1:] = lo[1:] > hi[:-1]
    at = np.flatnonzero(first)
    ends = np.concatenate([at[1:], [len(lo)]]) - 1
    return lo[at], hi[ends]


def scan(split: NearSplit, buf: bytes | memoryview, width: int, window: int
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hits of a chunk's buffer as ``Scanner.scan`` gives them (pack literal ids, character starts and
    ends, sorted by start, length, id), except the hits of ``split.near`` outside the windows around anchor
    hits."""
    raw = memoryview(buf).cast("B")
    n = raw.nbytes // width
    ids, starts, ends = split.main.scan(buf, width)
    ids = split.main_ids[ids]
    anchor_starts = starts[split.anchor_literal[ids]]
    if not len(anchor_starts):
        return ids, starts, ends
    lo, hi = windows(anchor_starts, window, split.margin, n)
    at = np.concatenate([[0], np.cumsum(hi - lo + 1)[:-1]])  # where each window starts in the joined buffer
    joined = (b"\x00" * width).join([raw[a * width:b * width] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
    w_ids, w_starts, w_ends = split.near.scan(joined, width)
    shift = (lo - at)[np.searchsorted(at, w_starts, side="right") - 1]
    ids = np.concatenate([ids, split.near_ids[w_ids]])
    starts = np.concatenate([starts, w_starts + shift])
    ends = np.concatenate([ends, w_ends + shift])
    return in_hit_order(ids, starts, ends)
