"""The two-level scan (screen/nearscan.py: near-only cues looked for only around anchor hits) gives the
matcher's output of the one-level scan: on the labelled sets, and on generated chunks that put cues at the
edges of the near window, with both backends and at every buffer width (Latin-1, UTF-16, UTF-32)."""

from __future__ import annotations

import dataclasses
import json
import random
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from organwatch.screen import nearscan
from organwatch.screen.engine import _components
from organwatch.screen.matching import Matcher
from organwatch.screen.normalise import get_normaliser
from organwatch.screen.rulepack import load_pack
from organwatch.screen.scanner import buffer_of, get_scanner

PACK = load_pack("ddr_default")
DATA = Path(__file__).parent / "data" / "screen"


@lru_cache(maxsize=2)
def _pair(backend: str) -> tuple[Matcher, Matcher]:
    """(one-level matcher, two-level matcher) over the same scanner and normaliser."""
    scanner = get_scanner(backend, PACK.literal_strings(), key=PACK.sha256)

    def scanner_for(literals: list[str], tag: str):
        return get_scanner(backend, literals, key=f"{PACK.sha256}:test:{tag}")

    norm = get_normaliser()
    return Matcher(PACK, scanner, norm), Matcher(PACK, scanner, norm, scanner_for=scanner_for)


def _assert_same(texts: list[str], backend: str = "hyperscan") -> None:
    one, two = _pair(backend)
    a, b = one.match_arrays(texts)[-1], two.match_arrays(texts)[-1]
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].tolist() == b[k].tolist(), k
    for x, y in zip(one.match(texts), two.match(texts), strict=True):
        assert (x.norm, x.events, x.language) == (y.norm, y.events, y.language)


def _labelled() -> list[str]:
    return [json.loads(x)["text"] for f in sorted(DATA.glob("labelled*.jsonl"))
            for x in f.read_text("utf-8").splitlines() if x.strip()]


@pytest.mark.parametrize("backend", ["hyperscan", "re2"])
def test_two_level_scan_equals_the_one_level_scan_on_the_labelled_sets(backend):
    texts = _labelled()
    assert len(texts) > 100
    rng = random.Random(31)
    chunks = [texts[i:i + 25] for i in range(0, len(texts), 25)]
    chunks += [[" ".join(rng.sample(texts, 4)) for _ in range(6)] for _ in range(4)]  # several anchors apart
    for chunk in chunks:
        _assert_same(chunk, backend)


def _literals(pred) -> list[str]:
    out = [lit.text for lit, o in zip(PACK.literals, PACK.owners, strict=True) if pred({PACK.rules[r].type for r in o})]
    return sorted(out)[::max(1, len(out) // 40)]  # about 40, spread over the sorted list


_NEAR = set(nearscan.near_literals(PACK))
_ANCHORS = PACK.types.of("anchor")
_WINDOW = _pair("hyperscan")[1].near_window
_ANCHOR_TERMS = _literals(lambda ts: bool(ts & _ANCHORS))
_NEAR_TERMS = sorted(PACK.literals[i].text for i in _NEAR)[::12]
_OTHER_TERMS = _literals(lambda ts: not ts & _ANCHORS)
_MARGIN = max(len(PACK.literals[i].text) for i in _NEAR)
# filler lengths around the edges of a window: the near window W and the literal margin M
_GAPS = [0, 1, 3, _WINDOW - 2, _WINDOW, _WINDOW + 1, _WINDOW + _MARGIN - 1, _WINDOW + _MARGIN, _WINDOW + _MARGIN + 2,
         2 * _WINDOW + 2 * _MARGIN + 3]
_PIECES = st.one_of(
    st.sampled_from(_ANCHOR_TERMS), st.sampled_from(_NEAR_TERMS), st.sampled_from(_OTHER_TERMS),
    st.builds(lambda n, c: c * n, st.sampled_from(_GAPS), st.sampled_from(["x", "甲", " ", "a ", "。"])),
    st.sampled_from([" ", "\n\n", "-", "。", "𠀀", "Donor", "RECIPIENT"]),
)
_DOC = st.lists(_PIECES, max_size=14).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(_DOC, min_size=1, max_size=4))
def test_two_level_scan_equals_the_one_level_scan_on_generated_chunks(docs):
    _assert_same(docs)


@settings(max_examples=40, deadline=None)
@given(st.lists(_DOC, min_size=1, max_size=3))
def test_two_level_scan_equals_the_one_level_scan_with_re2(docs):
    _assert_same(docs, "re2")


def test_every_buffer_width_is_split():
    anchor = next(t for t in _ANCHOR_TERMS if t.isascii())
    cue = "recipient"
    assert PACK.literal_strings().index(cue) in _NEAR
    gap = " " * (_WINDOW + _MARGIN + 5)
    for extra in ("", "供者", "𠀀"):  # Latin-1, UTF-16, UTF-32 buffers
        text = f"{cue}{gap}{anchor} {cue}{gap}{extra}{cue}"
        _assert_same([text])


def test_cues_far_from_anchors_are_not_scanned_for():
    """The feature is on in the engine: a near-only cue far from every anchor is not among the scanner's hits,
    one near an anchor is."""
    _pack, matcher, _logic = _components("ddr_default", "hyperscan")
    cue = PACK.literal_strings().index("术后")
    assert cue in _NEAR
    anchor = next(t for t in _ANCHOR_TERMS if not t.isascii())
    far = "术后" + "甲" * (3 * _WINDOW) + anchor + "。术后"
    nt = matcher.norm.normalise(far)
    cps = nt.codepoints()
    buf, width = buffer_of(cps)
    full = matcher.scanner.scan(buf, width)[0].tolist()
    hits = matcher.scan(buf, width)[0].tolist()
    assert full.count(cue) == 2 and hits.count(cue) == 1
    matcher.near_window, saved = 0, matcher.near_window  # no pruning (keep_all): every literal everywhere
    try:
        assert matcher.scan(buf, width)[0].tolist() == full
    finally:
        matcher.near_window = saved


def test_windows_merge_and_clip():
    lo, hi = nearscan.windows(np.array([5, 10, 100]), window=3, margin=2, n=104)
    assert lo.tolist() == [0, 95] and hi.tolist() == [16, 104]
    lo, hi = nearscan.windows(np.array([10, 20]), window=2, margin=1, n=50)
    assert lo.tolist() == [7, 17] and hi.tolist() == [14, 24]


def test_a_type_that_suppresses_a_type_outside_the_window_keeps_its_literals_in_the_main_scan():
    recipient = {i for i, o in enumerate(PACK.owners) if {PACK.rules[r].type for r in o} == {"RECIPIENT"}}
    assert recipient and recipient <= _NEAR
    changed = dataclasses.replace(PACK, suppress={**PACK.suppress, "BD": ["RECIPIENT"]})  # BD is an anchor
    assert not recipient & set(nearscan.near_literals(changed))
    assert "BD" in _ANCHORS and "BD" not in PACK.types.of("near_only")
