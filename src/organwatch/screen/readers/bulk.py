"""JSONL readers that run the raw-byte prefilter on the first input lines of a range before they are parsed.

A line whose raw bytes already match a prefilter pattern marks its document as selected, so the prefilter
never re-encodes that document's text; a line without a raw match is decided later on its screened text
(the raw line is not sound on its own: JSON escapes such as ``\\u4f9b`` and the blank line that joins title
and abstract are invisible in the raw bytes). Only a sample of each range is scanned raw (:func:`raw_hits`):
dense text is then selected whole, sparse text is left to the scan of the screened text. Parsing itself
stays in :mod:`.tabular` (one code path for fields, ids and errors). Measured on the 40 MB benchmark corpus
on this machine (one core): ``json.loads`` per line 415 MB/s, ``orjson.loads`` 304 MB/s, ``pysimdjson``
(text field only) 481 MB/s, pyarrow's JSON reader 77 MB/s, hyperscan over the raw lines 1,490-1,780 MB/s;
docs/screen-speed.md has the table. The standard library stays the parser (no new dependency for a gain that
is within noise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from organwatch.screen.documents import Document, RecordError


def raw_hits(lines: list[bytes], first_line: int, hit: Callable[[bytes], bool]) -> tuple[set[int], int | None]:
    """(line numbers whose raw bytes match, among the first ``SAMPLE`` non-blank lines; the first line number
    from which every line counts as matching, or None). When at least half of the sample matches, the range
    is dense text that the prefilter cannot thin out, and the rest is selected without a scan; otherwise
    the rest is left to the scan of the screened text (scanning its raw lines too would scan it twice).
    Selecting a document without a match is always sound: it is screened fully, as with ``--no-prefilter``."""
    from organwatch.screen.prefilter import SAMPLE

    hits: set[int] = set()
    seen = 0
    for n, raw in enumerate(lines, first_line):
        if not raw.strip():
            continue
        if hit(raw):
            hits.add(n)
        seen += 1
        if seen == SAMPLE:
            return hits, (n + 1 if 2 * len(hits) >= SAMPLE else None)
    return hits, None


def _marked(lines: list[bytes], items: Iterable[Document | RecordError], first_line: int,
            rules: str) -> Iterator[Document | RecordError]:
    from organwatch.screen.prefilter import get_prefilter

    hits, all_from = raw_hits(lines, first_line, get_prefilter(rules).hit)
    for it in items:
        if isinstance(it, Document) and (it.record in hits or (all_from is not None and it.record >= all_from)):
            it.prefilter_mark = rules
        yield it


def read_jsonl_range(path: str, start: int, end: int, first_line: int, rules: str | None = None
                     ) -> Iterator[Document | RecordError]:
    """:func:`.tabular.read_jsonl_range` (its parsing, unchanged), with the documents of raw-matching lines
    marked for ``rules`` (``None``: no prefilter, plain reading). The range is read once; the parser and the
    scan get the same raw lines."""
    from organwatch.screen.prefilter import available
    from organwatch.screen.readers.tabular import read_jsonl_range as parse_range
    from organwatch.screen.readers.tabular import read_range_lines

    if rules is None or not available():
        yield from parse_range(path, start, end, first_line)
        return
    lines = read_range_lines(path, start, end)
    yield from _marked(lines, parse_range(path, start, end, first_line, lines), first_line, rules)
