"""The screener's fast paths give exactly what the plain computations give (issue 14): the record-line count,
the single-pass JSONL ranges, the two-group matcher, the document language from the code-point table."""

from __future__ import annotations

import hashlib
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from organwatch import textscript
from organwatch.screen.documents import _pieces, document_language
from organwatch.screen.engine import _components, jsonl_ranges
from organwatch.screen.readers import FileReport, _ranges
from organwatch.screen.readers.stream import RecordCounter, count_record_lines

DATA = Path(__file__).parent / "data" / "screen"


def _counted(data: bytes, cuts: list[int]) -> int:
    c = RecordCounter(rb"^[ \t]*[^\s]")
    k = 0
    for j in sorted(cuts):
        c.feed(data[k:j])
        k = j
    c.feed(data[k:])
    c.finish()
    return c.count


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b" ", b"\t", b"\n", b"\r", b"\f", b"\v", b"{", b"x", b"}", b"\n\n", b"  {"]),
                max_size=40), st.lists(st.integers(0, 60), max_size=5))
def test_record_line_count_equals_the_streaming_counter(parts, cuts):
    data = b"".join(parts)
    assert count_record_lines(data) == _counted(data, [c for c in cuts if c <= len(data)])


def test_record_line_count_of_a_prefix():
    data = b'{"a": 1}\n\n  \n\t{"b": 2}\n \f{"c"}\n{"d": 4}'
    assert count_record_lines(data) == 3  # {"a"}, \t{"b"} and {"d"}; " \f{" starts with whitespace after a space
    assert count_record_lines(data, data.index(b"{\"d")) == 2


def test_single_pass_ranges_hash_and_count_the_whole_file(tmp_path):
    lines = ['{"id": "a", "text": "供者"}', "", "   ", '\t{"id": "b"}', '{"id": "c", "text": "x"}'] * 50
    p = tmp_path / "c.jsonl"
    raw = ("\n".join(lines) + "\n" + '{"id": "last"}').encode("utf-8")  # no newline at the end
    p.write_bytes(raw)
    rep = FileReport(p.name, str(p), "jsonl")
    tasks = list(_ranges(p, rep))
    assert rep.sha256 == hashlib.sha256(raw).hexdigest()
    assert rep.seen == _counted(raw, []) == 151
    assert tasks[0].start == 0 and tasks[-1].end == len(raw)
    # small blocks: the ranges partition the file and every range is seen once, in order
    seen: list[bytes] = []
    small = list(jsonl_ranges(str(p), block=64, on_range=lambda d, n: seen.append(bytes(d[:n]))))
    assert b"".join(seen) == raw
    assert [t.end for t in small[:-1]] == [t.start for t in small[1:]]


def _texts() -> list[str]:
    items = [json.loads(x) for f in sorted(DATA.glob("labelled*.jsonl")) for x in f.read_text("utf-8").splitlines()
             if x.strip()]
    texts = [it["text"] for it in items]
    rng = random.Random(14)
    return texts + [" ".join(rng.sample(texts, 3)) for _ in range(40)] + ["", "abc", "  供者  "]


def test_two_group_matcher_equals_one_document_at_a_time():
    _pack, matcher, _logic = _components("ddr_default", "hyperscan")
    texts = _texts()
    assert any(t.isascii() for t in texts) and any(not t.isascii() for t in texts)
    chunk = matcher.match(texts)
    for t, m in zip(texts, chunk, strict=True):
        one = matcher.match([t])[0]
        assert (m.norm, m.events, m.language) == (one.norm, one.events, one.language)
        assert [m.orig_offset(a) for a in range(len(m.norm))] == [one.orig_offset(a) for a in range(len(one.norm))]


def _language_reference(text: str, window: int = 2000) -> str | None:
    """document_language as first written (per-character script counts with textscript.script_counts)."""
    letter = re.compile("[A-Za-z\u00c0-\u024f]")
    text = text[:400_000]
    if text.isascii():
        return "en" if letter.search(text) else None
    votes: dict[str, int] = {}
    for i, j in _pieces(text, window):
        piece = text[i:j]
        counts = textscript.script_counts(piece)
        if counts[:4] == (0, 0, 0, 0):
            if letter.search(piece):
                votes["en"] = votes.get("en", 0) + len(piece.split())
            continue
        lang = textscript.language_of_counts(counts)
        if lang is None:
            continue
        votes[lang] = votes.get(lang, 0) + counts[0] + counts[1] + counts[2] + len(piece.split())
    return max(sorted(votes), key=lambda k: votes[k]) if votes else None


_SCRIPTS = st.sampled_from(["供者脑死亡", "the donor ", "ドナー", "기증자", "донор ", "é ", "Ω", "\n\n", "\f", "12 ",
                            "…", "  ", "ǎ", "𠀀", "\u3000"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_SCRIPTS, max_size=60), st.integers(3, 50))
def test_document_language_equals_the_per_character_count(parts, window):
    text = "".join(parts)
    assert document_language(text, window) == _language_reference(text, window)


def test_outright_language_only_when_no_word_count_could_change_the_vote():
    from organwatch.screen.documents import _outright

    # zh: 900 CJK characters in one passage; en: at most (1000 - 0 + 1) // 2 = 500 words in another
    assert _outright([("zh", 0, 1000, 900), ("en", 1000, 2000, 0)]) == "zh"
    # en could have up to 1,000 words against zh's least of 901: the words must be counted
    assert _outright([("zh", 0, 1000, 900), ("en", 1000, 3000, 0)]) is None
    # a tie of the bounds is not outright (the vote's alphabetical tie-break would decide it)
    assert _outright([("zh", 0, 10, 4), ("en", 10, 19, 0)]) is None
    # and on generated mixed texts both outcomes occur, each agreeing with the full vote
    seen = set()
    for text in ("供者脑死亡。" * 300 + "\n\nthe donor was " * 20, "供者。\n\n" + "the donor was declared " * 200,
                 "供者脑死亡" * 50 + "\n\n" + "the donor " * 60):
        ballots = _ballots(text)
        got = _outright(ballots)
        seen.add(got is None)
        if got is not None:
            assert got == _language_reference(text)
        assert document_language(text) == _language_reference(text)
    assert seen == {True, False}


def _ballots(text: str) -> list[tuple[str, int, int, int]]:
    ballots = []
    for i, j in _pieces(text, 2000):
        counts = textscript.script_counts(text[i:j])
        lang = textscript.language_of_counts(counts) if counts[:4] != (0, 0, 0, 0) else "en"
        if lang is not None:
            ballots.append((lang, i, j, counts[0] + counts[1] + counts[2]))
    return ballots


def test_script_categories_fill_unseen_code_points_on_first_sight():
    from organwatch.screen.documents import _category_table, _script_categories

    _category_table.cache_clear()  # a fresh table: every code point outside the preset ranges is unknown
    text = "Ωμέγα 供者 ✓\u2003ٴ𝔸 донор"
    cats = _script_categories(text)
    assert 255 not in cats and len(cats) == len(text)
    expected = [0 if textscript.script_counts(c)[0] else 3 if textscript.script_counts(c)[3] else
                4 if c.isalpha() else 6 if c.isspace() else 5 for c in text]
    assert list(cats) == expected
    assert _script_categories(text) == cats  # the second sight reads the filled table
    assert document_language(text, 5) == _language_reference(text, 5)


def test_document_language_on_the_labelled_sets():
    for t in _texts():
        assert document_language(t) == _language_reference(t)


@pytest.mark.parametrize("backend", ["hyperscan", "re2"])
def test_latin1_buffers_give_the_hits_of_utf16_buffers(backend):
    from organwatch.screen.scanner import buffer_of, encode, get_scanner

    pack, matcher, _logic = _components("ddr_default", "hyperscan")
    lits = pack.literal_strings()
    sc = get_scanner(backend, lits, key=pack.sha256 + "-test")
    texts = [t for t in _texts() if all(ord(c) < 0x100 for c in t)]
    text = matcher.norm.normalise("\x00".join(texts) + " café naïve").text
    buf, width = buffer_of(np.frombuffer(encode(text, 4), dtype="<u4"))
    assert width == 1
    wide = sc.scan(encode(text, 2), 2)
    narrow = sc.scan(buf, 1)
    assert len(wide[0]) > 100
    assert all((a == b).all() for a, b in zip(narrow, wide, strict=True))
    assert [len(x) for x in sc.scan(b"", 1)] == [0, 0, 0]


_YEARISH = st.sampled_from(["19", "20", "2019", "1998", "2005年", "至", "-", " to ", "and", "年", "。", "1", "0",
                            "2", "9", " ", "x", "2010-2014", "1960", "2049", "2050", "\n"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_YEARISH, max_size=40))
def test_year_matches_equal_finditer(parts):
    from organwatch.screen.ethics import _RANGE_RX, _YEAR_RX, _century_starts, _matches

    text = "".join(parts)
    for rx in (_RANGE_RX, _YEAR_RX):
        got = [(m.span(), m.groups()) for m in _matches(rx, text, _century_starts(text))]
        assert got == [(m.span(), m.groups()) for m in rx.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["供者", "a", " ", "\t", "\u3000", "\u00a0", "\x1c", "\u2028", "é", "\n", "x y"]),
                max_size=40), st.integers(0, 5), st.integers(0, 45))
def test_word_count_from_categories_equals_str_split(parts, i, j):
    from organwatch.screen.documents import _NOT_SPACE, _script_categories, _words

    text = "".join(parts)
    assert _words(_script_categories(text).translate(_NOT_SPACE), i, j) == len(text[i:j].split())


_ASCII_PARTS = st.sampled_from(["a", "B", "Donor", " ", "  ", "\t", "\n", "\n\n", "\r\n", "\f", "\v", "\x0b \t", "(ab)",
                                "x-", "\x00", "\x1f", "9", ".", "TRANSPLANT", "  \n "])


def _plain(n, text):
    fast = n.ascii_fast_path
    n.ascii_fast_path = False
    try:
        return n.normalise(text)
    finally:
        n.ascii_fast_path = fast  # set back, not deleted: a compiled class (setup.py) cannot delete it


@pytest.mark.parametrize("config", [{}, {"case_fold": False}, {"collapse_whitespace": False},
                                    {"case_fold": False, "collapse_whitespace": False}])
@settings(max_examples=150, deadline=None)
@given(parts=st.lists(_ASCII_PARTS, max_size=30))
def test_ascii_normalisation_equals_the_code_point_tables(config, parts):
    from organwatch.screen.normalise import Normaliser

    text = "".join(parts)
    n = Normaliser(config)
    fast, plain = n.normalise(text), _plain(n, text)
    assert fast.text == plain.text
    positions = np.arange(len(fast.text))
    assert fast._map(positions).tolist() == plain._map(positions).tolist()
    assert fast.codepoints().tolist() == plain.codepoints().tolist() == [ord(c) for c in fast.text]


def test_cjk_mask_equals_the_ranges():
    cps = np.concatenate([np.arange(0x110000 + 3, dtype=np.int64), [-1, 2**40]])
    ranges = np.zeros(len(cps), dtype=bool)
    for lo, hi in textscript.CJK_RANGES:
        ranges |= (cps >= lo) & (cps < hi)
    assert (textscript.cjk_mask(cps) == ranges).all()
    assert (textscript.cjk_mask(cps[:0x110000].astype(np.uint32)) == ranges[:0x110000]).all()
    assert bool(textscript.cjk_mask(np.array(0x4E00))) and textscript.cjk_mask(np.zeros(0, np.uint8)).shape == (0,)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(["\n", "\f", " ", "\t", "\r", "\v", "a", "中", "\u3000", "\x1c", "\x85", "\u2028",
                                 "\n\n", " \n", "\n \f \n", "x\n"]), max_size=25))
def test_passage_breaks_equal_the_regex(parts):
    from organwatch.screen.documents import _PASSAGE_SPLIT, _passage_breaks

    text = "".join(parts)
    assert _passage_breaks(text) == [m.span() for m in _PASSAGE_SPLIT.finditer(text)]


def _byte_counts_numpy(data: bytes) -> tuple[int, int, int, int]:
    b = np.frombuffer(data, dtype=np.uint8)
    n = len(b) - int(np.count_nonzero((b & 0xC0) == 0x80))
    non_ascii = n - int(np.count_nonzero(b < 0x80))
    sure_cjk = int(np.count_nonzero((b >= 0xE5) & (b <= 0xE9)))
    deletable = int(np.count_nonzero((b <= 0x20) | ((b >= 0x28) & (b <= 0x29)) | ((b >= 0x30) & (b <= 0x39))
                                     | ((b >= 0x41) & (b <= 0x5A)) | ((b >= 0x61) & (b <= 0x7A))))
    return n, non_ascii, sure_cjk, deletable


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60) | st.text(max_size=30).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_prefilter_byte_counts_equal_the_per_byte_masks(data):
    from organwatch.screen.prefilter import _byte_counts

    assert _byte_counts(data) == _byte_counts_numpy(data)
    every = bytes(range(256)) + data
    assert _byte_counts(every) == _byte_counts_numpy(every)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 2)), max_size=60),
       st.sampled_from([(4, 41, 3), (1 << 30, 1 << 30, 1 << 10)]))
def test_composite_key_order_equals_lexsort(rows, bounds):
    from organwatch.screen.scanner import lexorder

    keys = [np.array([r[k] for r in rows], dtype=np.int64) for k in range(3)]
    order = lexorder([(keys[k], bounds[k]) for k in range(3)])  # the second bounds overflow: lexsort path
    assert order.tolist() == np.lexsort((keys[2], keys[1], keys[0])).tolist()


def _expand_and_delete_full_map(n, original, t_cps, D, exp_pos):
    """The per-character computation the segment map replaced: a start map as long as the text."""
    size = len(original)
    keep = np.ones(size, dtype=bool)
    keep[D] = False
    lens = keep.astype(np.int64)
    reps = {}
    for p in exp_pos:
        if keep[p]:
            rep = n._expand[original[p]]
            lens[p] = len(rep)
            reps[int(p)] = rep
    start_map = np.repeat(np.arange(size, dtype=np.int64), lens)
    out = t_cps[start_map].astype(np.uint32)
    offs = np.cumsum(lens) - lens
    for p, rep in reps.items():
        o = int(offs[p])
        out[o:o + len(rep)] = [ord(ch) for ch in rep]
    return out.tobytes().decode("utf-32-le", "surrogatepass"), start_map


_EXPANDING_PARTS = st.sampled_from(["℃", "Ⅱ", "㈠", "ﬁ", "㎎", "⑴", "供者", "脑死亡", " ", "  ", "\n", "a", "B", "(nao)",
                                    "(gong1 zhe3)", "\u3000", "體", "ＡＢ", "x", "1", "。", "\x00"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_EXPANDING_PARTS, min_size=1, max_size=30))
def test_expansion_segment_map_equals_the_full_start_map(parts):
    from organwatch.screen.normalise import get_normaliser

    n = get_normaliser()
    text = "".join(parts)
    nt = n.normalise(text)
    tr = n._translate(text)
    if isinstance(tr, type(nt)) or len(tr[4]) == 0:
        return  # no expansion: another path
    t, t_cps, ws, flags, exp_pos = tr
    dels = n._space_deletions(text, t_cps, ws, flags) + n._pinyin_deletions(text, t, t_cps)
    D = np.unique(np.concatenate(dels)) if dels else np.zeros(0, dtype=np.int64)
    ref_text, ref_map = _expand_and_delete_full_map(n, text, t_cps, D, exp_pos)
    assert nt.text == ref_text and nt.seg_start is not None
    assert nt.codepoints().tolist() == [ord(c) for c in ref_text]
    assert nt._map(np.arange(len(ref_text))).tolist() == ref_map.tolist()
    if len(ref_text):
        a = np.arange(len(ref_text))
        assert nt.orig_spans(a, a + 1)[1].tolist() == (ref_map + 1).tolist()


def _last_boundary_rfind(text, lo, pos, ends):
    """The per-character computation the boundary regex replaced."""
    best = -1
    for ch in ends:
        i = text.rfind(ch, lo, pos)
        if i > best:
            best = i
    i = text.rfind(". ", max(lo, best), pos)
    if i >= 0 and i + 1 > best:
        best = i + 1
    if "," in ends:
        i = text.rfind(", ", max(lo, best), pos)
        if i >= 0 and i + 1 > best:
            best = i + 1
    return best + 1 if best >= 0 else None


def _next_boundary_find(text, pos, hi, ends):
    best = hi + 1
    for ch in ends:
        i = text.find(ch, pos, hi)
        if 0 <= i < best:
            best = i
    i = text.find(". ", pos, hi)
    if 0 <= i < best:
        best = i
    return best + 1 if best <= hi else None


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(["。", "；", ";", "!", "?", "！", "？", "\n", "，", ",", "：", ":", ".", " ", ". ", ", ",
                                 "a", "供", "x y", "\u3000"]), max_size=20), st.integers(0, 25), st.integers(0, 25),
       st.booleans())
def test_boundaries_equal_the_find_loops(parts, lo, pos, clause):
    from organwatch.screen.logic import _last_boundary, _next_boundary
    from organwatch.screen.patterns import CLAUSE_END, SENTENCE_END

    text = "".join(parts)
    ends = CLAUSE_END if clause else SENTENCE_END
    assert _last_boundary(text, lo, pos, ends) == _last_boundary_rfind(text, lo, pos, ends)
    assert _next_boundary(text, lo, pos, ends) == _next_boundary_find(text, lo, pos, ends)


def test_raw_line_sample_selects_dense_ranges_whole_and_leaves_sparse_ones_to_the_text_scan():
    from organwatch.screen.prefilter import SAMPLE
    from organwatch.screen.readers.bulk import raw_hits

    calls = []

    def hit(raw):
        calls.append(raw)
        return raw.startswith(b"L")

    dense = [b"L1", b"", b"x"] * SAMPLE  # 2 of every 3 lines blank or not: half of the non-blank lines match
    hits, all_from = raw_hits(dense, 5, hit)
    assert len(calls) == SAMPLE and all_from is not None
    assert hits == {5 + 3 * k for k in range(SAMPLE // 2)} and all_from == 5 + 3 * (SAMPLE // 2 - 1) + 3
    calls.clear()
    sparse = [b"x"] * (SAMPLE - 1) + [b"L"] + [b"L"] * 10
    hits, all_from = raw_hits(sparse, 1, hit)
    assert len(calls) == SAMPLE and all_from is None and hits == {SAMPLE}  # the rest is not scanned raw
    assert raw_hits([b"L", b"  "], 1, hit) == ({1}, None)  # shorter than the sample


@pytest.mark.parametrize("include_text", [False, True])
def test_column_wise_arrow_table_equals_from_pylist(include_text):
    """``sink.arrow_table`` (one ``pa.array`` per column) gives the table and the IPC bytes of row-wise
    ``Table.from_pylist``, on the labelled sets' records plus an error record and one with keys missing."""
    import pyarrow as pa

    from organwatch.screen import sink
    from organwatch.screen.documents import RecordError
    from organwatch.screen.engine import RangeTask, ScreenOptions, error_record, run_task

    path = DATA / "labelled_dev.jsonl"
    recs = run_task(RangeTask(str(path), 0, path.stat().st_size, 1), ScreenOptions(include_text=include_text))
    recs += [error_record(RecordError("f.jsonl", 7, "ValueError: bad", 7)), {"document_id": "only-an-id"}]
    if include_text:
        recs[0]["text"] = recs[0].get("text", "") + "\u4e2d\U0001F600"
    assert sum(1 for r in recs if r.get("passages")) > 20  # nested passages and events are in the sample
    sch = sink.schema(include_text)
    got = sink.arrow_table(recs, sch)
    want = pa.Table.from_pylist([{c: r.get(c) for c in sch.names} for r in recs], schema=sch)
    assert got.equals(want)

    def ipc(t):
        out = pa.BufferOutputStream()
        with pa.ipc.new_stream(out, sch) as w:
            w.write_table(t)
        return out.getvalue().to_pybytes()

    assert ipc(got) == ipc(want)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 300), min_size=1, max_size=30), st.sampled_from([1, 7, 64, 128, 1000]),
       st.booleans())
def test_ranges_from_one_reused_buffer_partition_the_file(lengths, block, final_newline):
    """``jsonl_ranges`` reads every block into one buffer: the ranges still partition the file at newlines,
    ``on_range`` sees each range's bytes once and in order (also lines longer than several blocks, a file
    that ends on a block boundary and one without a final newline)."""
    import tempfile

    raw = b"\n".join(b"x" * n for n in lengths) + (b"\n" if final_newline else b"")
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "r.jsonl"
        p.write_bytes(raw)
        seen: list[bytes] = []
        tasks = list(jsonl_ranges(str(p), block=block, on_range=lambda d, n: seen.append(bytes(d[:n]))))
    assert b"".join(seen) == raw
    assert [len(s) for s in seen] == [t.end - t.start for t in tasks]
    assert (tasks[0].start if tasks else 0) == 0 and (tasks[-1].end if tasks else 0) == len(raw)
    for t in tasks:
        assert t.first_line == raw[:t.start].count(b"\n") + 1
        assert t.end == len(raw) or raw[t.end - 1:t.end] == b"\n"
