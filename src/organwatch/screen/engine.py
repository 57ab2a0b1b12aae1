"""Screening a chunk of documents into screen document records, locally (process pool) or on Dask.

``screen_chunk`` is a pure function of (documents, options): the same chunk gives the same records in any
process, so the local and Dask engines return identical results. Per-process caches hold the compiled
pack, scanner and normaliser (compiled on first use, never on import).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from organwatch.gcpause import gc_paused
from organwatch.screen.documents import Document, RecordError
from organwatch.screen.ethics import ethics_fields
from organwatch.screen.logic import PassageLogic, snap_window, worst_label
from organwatch.screen.matching import Matcher
from organwatch.screen.normalise import get_normaliser
from organwatch.screen.rulepack import load_pack
from organwatch.screen.scanner import get_scanner
from organwatch.textscript import is_cjk

COLUMNS = ["document_id", "source", "title", "year", "language", "institution", "document_label", "patterns",
           "passages", "ethics", "errors", "notes"]


@dataclass(frozen=True)
class ScreenOptions:
    rules: str = "ddr_default"
    backend: str = "hyperscan"
    include_text: bool = False
    prefilter: bool = True  # issue 14: raw-byte prefilter (prefilter.py); records are identical either way

    # pickled by its fields (as RangeTask and TaskOutput): unpickling sets attributes one by one, which a frozen
    # dataclass of the compiled build (setup.py) refuses
    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return ScreenOptions, (self.rules, self.backend, self.include_text, self.prefilter)


@lru_cache(maxsize=4)
def _components(rules: str, backend: str):
    pack = load_pack(rules)
    scanner = get_scanner(backend, pack.literal_strings(), key=pack.sha256)

    def scanner_for(literals: list[str], tag: str):
        return get_scanner(backend, literals, key=f"{pack.sha256}:{tag}")

    matcher = Matcher(pack, scanner, get_normaliser(), scanner_for=scanner_for)
    return pack, matcher, PassageLogic(pack)


def _institution(doc: Document, m, lang: str, by_type: dict[str, list]) -> str | None:
    """Institution from metadata, else from institution cues (``INST``) in the first characters of the text
    (``by_type``: the document's events grouped by type, each list in event order):
    zh: the CJK run ending with the first institution suffix (医院, 大学, ...), at most 40 characters;
    en: from "Department of" to the end of the first institution word that follows it, plus the rest of that
    comma-separated item. No regular expressions: the scanner already found the cues."""
    if doc.institution:
        return " ".join(doc.institution.split())[:300]
    inst = by_type.get("INST", [])
    if not inst:
        return None
    if lang == "zh":
        for k, e in enumerate(inst):
            j = e.start
            while j > 0 and e.start - j < 40 and is_cjk(m.norm[j - 1]):
                j -= 1
            end = e
            for f in inst[k + 1:]:  # extend to the last suffix in the same CJK run (大学 ... 附属第一医院)
                if f.end - j > 40 or not all(is_cjk(ch) for ch in m.norm[end.end:f.start]):
                    break
                end = f
            if end.end - j >= 4:
                a = m.orig_offset(j)
                return " ".join(doc.text[a:end.oend].split())[:300]
        return None
    starts = by_type.get("INST_START", [])
    for s0 in starts:
        nxt = [e for e in inst if 0 < e.start - s0.start <= 200]
        if nxt:
            a, b = s0.ostart, nxt[0].oend
            stop = len(doc.text)
            for ch in (",", ";", "\n", "(", "."):
                k = doc.text.find(ch, b, b + 80)
                if k >= 0:
                    stop = min(stop, k)
            b = stop if stop != len(doc.text) else min(len(doc.text), b + 80)
            return " ".join(doc.text[a:b].split())[:300]
    e = inst[0]
    return " ".join(doc.text[e.ostart:e.oend].split())


def _title_end(doc: Document) -> int:
    """Original offset where the title ends (0 when the text does not start with the title)."""
    return len(doc.title) if doc.title and doc.text.startswith(doc.title) else 0


def _passage_record(doc: Document, p: Any, ctx: int, anchor: frozenset[str]) -> dict[str, Any]:
    ev_json = [{"type": e.type, "tag": e.tag or None, "rule": e.rule, "start": e.ostart, "end": e.oend,
                "text": doc.text[e.ostart:e.oend]} for e in p.events]
    first = min(e.ostart for e in p.events)
    a, b = snap_window(doc.text, first, max(e.oend for e in p.events), ctx)
    spans = [[e.ostart, e.oend] for e in p.events if e.type in anchor]
    pages = getattr(doc, "page_offsets", None)
    page = bisect.bisect_right(pages, first) if pages else None
    return {"label": p.label, "pattern": p.pattern, "events": ev_json, "spans": spans,
            "confidence": p.confidence, "reason": p.reason, "signals": p.signals, "also": p.also,
            "start": a, "end": b, "text": doc.text[a:b], "page": page}


def screen_chunk(docs: list[Document], opts: ScreenOptions) -> list[dict[str, Any]]:
    if opts.prefilter:  # issue 14 hook: literal-free documents skip normalisation and logic (prefilter.py)
        from organwatch.screen.prefilter import screen_prefiltered

        return screen_prefiltered(docs, opts, screen_chunk)
    pack, matcher, logic = _components(opts.rules, opts.backend)
    matches = matcher.match([d.text for d in docs])
    ctx_by_lang = {lang: pack.setting("passage_context", lang) for lang in ("zh", "en")}
    anchor = pack.types.of("anchor")
    out = []
    for doc, m in zip(docs, matches, strict=True):
        lang = m.language
        by_type: dict[str, list] = {}
        for e in m.events:
            by_type.setdefault(e.type, []).append(e)
        title_end = _title_end(doc)
        dctx = logic.doc_context(by_type, doc.year, title_end, len(m.norm))
        passages = logic.passages(m.norm, m.events, lang, doc.year, doc=dctx)
        recs = [_passage_record(doc, p, ctx_by_lang.get(p.lang) or ctx_by_lang["en"], anchor) for p in passages]
        label = worst_label(passages)
        patterns = sorted({p.pattern for p in passages if p.label == "violation" and p.pattern})
        rec = {
            "document_id": doc.document_id,
            "source": {"file": doc.file, "record": doc.record, "pages": getattr(doc, "page_offsets", None)},
            "title": doc.title,
            "year": doc.year,
            "language": doc.language or lang,
            "institution": _institution(doc, m, lang, by_type),
            "document_label": label,
            "patterns": patterns,
            "passages": recs,
            "ethics": ethics_fields(m.norm, by_type, doc.year, pack=pack,
                                    lang=doc.language or lang, title_end=title_end),
            "errors": list(doc.errors),
            "notes": list(getattr(doc, "notes", None) or []),  # reader notes (information, not failures)
        }
        if opts.include_text:
            rec["text"] = doc.text
        out.append(rec)
    return out


def screen_isolated(docs: list[Document], opts: ScreenOptions) -> list[dict[str, Any]]:
    """:func:`screen_chunk`, but a document that makes screening fail becomes one error record and the
    other documents of the chunk are still screened (one at a time, only after a failure)."""
    try:
        return screen_chunk(docs, opts)
    except Exception:
        out: list[dict[str, Any]] = []
        for d in docs:
            try:
                out.extend(screen_chunk([d], opts))
            except Exception as e:  # a bug triggered by this record: report it, keep the batch going
                msg = f"screening failed: {type(e).__name__}: {e}"[:300]
                out.append(error_record(RecordError(d.file, d.record, msg, d.line)))
        return out


def error_record(err: RecordError) -> dict[str, Any]:
    return {"document_id": f"{err.file}#{err.record if err.record is not None else 'file'}",
            "source": {"file": err.file, "record": err.record, "pages": None}, "title": "", "year": None,
            "language": None,
            "institution": None, "document_label": "not_applicable", "patterns": [], "passages": [],
            "ethics": None, "errors": [str(err)], "notes": []}


@dataclass(frozen=True)
class RangeTask:
    """A byte range of a JSONL file, read by the worker itself (no parsing or pickling in the main process)."""

    path: str
    start: int
    end: int
    first_line: int  # 1-based line number of the first line in the range
    pre_errors: tuple = ()  # reader failures that came before this task in input order

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return RangeTask, (self.path, self.start, self.end, self.first_line, self.pre_errors)


@dataclass
class DocChunk:
    """Documents read by the main process, with the reader failures that preceded them in input order."""

    docs: list
    pre_errors: tuple = ()


def run_task(task, opts: ScreenOptions) -> list[dict[str, Any]]:
    """Screen one task (a chunk of documents or a JSONL byte range); reader failures become error records."""
    with gc_paused():  # the task's objects are acyclic: reference counting frees them
        return _run_task(task, opts)


def _run_task(task, opts: ScreenOptions) -> list[dict[str, Any]]:
    pre = [error_record(e) for e in getattr(task, "pre_errors", ())]
    if isinstance(task, RangeTask):
        from organwatch.screen.readers.bulk import read_jsonl_range  # issue 14: raw lines marked

        docs: list[Document] = []
        errs: list[dict[str, Any]] = []
        pf_rules = opts.rules if opts.prefilter else None
        for it in read_jsonl_range(task.path, task.start, task.end, task.first_line, pf_rules):
            if isinstance(it, RecordError):
                errs.append(error_record(it))
            else:
                docs.append(it)
        out = (screen_isolated(docs, opts) if docs else []) + errs
        out.sort(key=lambda r: r["source"]["record"] or 0)  # line order within the range
        return pre + out
    if isinstance(task, DocChunk):
        return pre + (screen_isolated(task.docs, opts) if task.docs else [])
    return screen_chunk(task, opts)


@dataclass(frozen=True)
class TaskOutput:
    """What a worker sends back to the CLI: counts, failure lines and the serialised records."""

    n: int
    labels: dict
    errors: list
    payload: bytes | str

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return TaskOutput, (self.n, self.labels, self.errors, self.payload)


def run_task_serialised(task, opts: ScreenOptions, fmt: str) -> TaskOutput:
    from organwatch.screen.sink import serialise

    with gc_paused():  # the task's objects are acyclic: reference counting frees them
        recs = _run_task(task, opts)
        labels: dict[str, int] = {}
        errors: list[str] = []
        for r in recs:
            if r["ethics"] is None:
                errors.append(r["errors"][0] if r["errors"] else r["document_id"])
            else:
                labels[r["document_label"]] = labels.get(r["document_label"], 0) + 1
        out = TaskOutput(len(recs), labels, errors, serialise(recs, fmt, opts.include_text))
        del recs  # freed before the collector runs again, so that its first pass has nothing of the task to visit
    return out


def jsonl_ranges(path: str, block: int = 4 << 20,
                 on_range: Callable[[bytes | bytearray, int], None] | None = None) -> Iterator[RangeTask]:
    """Split a JSONL file at line boundaries into ~``block``-byte tasks (one sequential read, no copies).

    ``on_range(data, n)`` sees the bytes of every range (``data[:n]``), in file order, before the task is
    yielded: the caller hashes and counts the file in the same pass. ``data`` is only valid during the call:
    every block is read into the same buffer (a fresh 4 MB buffer per block cost the main process a page
    fault per 4 KiB page in some runs: 1.1 million faults and 2.3 s of CPU over 2.34 GB)."""
    line = 1
    pos = 0
    buf = bytearray(block)
    with open(path, "rb") as fh:
        while True:
            fh.seek(pos)
            got = fh.readinto(buf)  # a buffered reader fills the buffer up to the end of the file
            if not got:
                break
            data: bytes | bytearray = buf if got == block else buf[:got]
            cut = data.rfind(b"\n")
            if cut < 0 and got == block:  # a line longer than the block: extend to its end (rare: a copy)
                data, cut = _extend_to_line_end(fh, bytes(buf), block)
            if cut < 0:  # last line without a newline
                if on_range is not None:
                    on_range(data, len(data))
                yield RangeTask(path, pos, pos + len(data), line)
                break
            newlines = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8, count=cut + 1) == 10))
            if on_range is not None:
                on_range(data, cut + 1)
            yield RangeTask(path, pos, pos + cut + 1, line)
            line += newlines
            pos += cut + 1


def _extend_to_line_end(fh, data: bytes, block: int) -> tuple[bytes, int]:
    """``data`` (a full block without a newline) extended by further blocks up to and including the next
    newline; (bytes, index of that newline), or (all the rest of the file, -1) when there is none."""
    while True:
        more = fh.read(block)
        if not more:
            return data, -1
        k = more.find(b"\n")
        if k >= 0:
            data += more[:k + 1]
            return data, len(data) - 1
        data += more


def chunked(items: Iterable[Document | RecordError | RangeTask], max_docs: int, max_chars: int,
            on_note: Callable[[RecordError], None] | None = None) -> Iterator[DocChunk | RangeTask]:
    """Group reader output into tasks; reader failures ride with the next task so output keeps input order.
    Reader notes (``RecordError(note=True)``, not failures) go to ``on_note``."""
    chunk: list[Document] = []
    errs: list[RecordError] = []
    size = 0
    for it in items:
        if getattr(it, "note", False):
            if on_note is not None:
                on_note(it)  # type: ignore[arg-type]  # only a RecordError has a true ``note``
            continue
        if isinstance(it, RangeTask):
            if chunk:
                yield DocChunk(chunk, tuple(errs))
                chunk, size, errs = [], 0, []
            yield RangeTask(it.path, it.start, it.end, it.first_line, tuple(errs))
            errs = []
            continue
        if isinstance(it, RecordError):
            if chunk:
                yield DocChunk(chunk, tuple(errs))
                chunk, size, errs = [], 0, []
            errs.append(it)
            continue
        chunk.append(it)
        size += len(it.text)
        if len(chunk) >= max_docs or size >= max_chars:
            yield DocChunk(chunk, tuple(errs))
            chunk, size, errs = [], 0, []
    if chunk or errs:
        yield DocChunk(chunk, tuple(errs))


_WORKER_PRELOAD = ("organwatch.screen.engine", "organwatch.screen.sink", "organwatch.screen.readers.bulk",
                   "organwatch.screen.prefilter", "pandas")


def run_local(chunks: Iterable, opts: ScreenOptions, workers: int,
              on_chunk: Callable[[Any], None], fn: Callable = run_task, extra: tuple = ()) -> None:
    """Screen tasks in a process pool (``workers`` > 1) or in-process, results in input order.

    ``fn(task, opts, *extra)`` is :func:`run_task` (records) or :func:`run_task_serialised` (CLI output)."""
    if workers <= 1:
        for ch in chunks:
            on_chunk(fn(ch, opts, *extra))
        return
    import multiprocessing as mp

    ctx = mp.get_context("forkserver") if hasattr(mp, "get_context") else None
    if ctx is not None:
        # workers fork from a server that has imported the engine, the sink, pyarrow and the pandas that
        # pyarrow imports on first use, instead of importing them each (imports only: nothing is built there)
        ctx.set_forkserver_preload(list(_WORKER_PRELOAD))
    from organwatch.workermem import keep_freed_memory

    # each worker keeps the heap memory it frees for its next task (no page faults on fresh memory per task)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=keep_freed_memory) as ex:
        pending = []
        for ch in chunks:
            pending.append(ex.submit(fn, ch, opts, *extra))
            while len(pending) >= workers * 2:
                on_chunk(pending.pop(0).result())
        for f in pending:
            on_chunk(f.result())


def run_dask(chunks: Iterable, opts: ScreenOptions, scheduler: str,
             on_chunk: Callable[[Any], None], max_in_flight: int = 8, fn: Callable = run_task,
             extra: tuple = ()) -> None:
    """The same job on a Dask cluster at ``scheduler`` (e.g. tcp://127.0.0.1:8786), results in order.

    JSONL byte-range tasks are read by the workers, so input files must be visible to them at the same path.
    """
    from distributed import Client

    with Client(scheduler, timeout="30s") as client:
        pending = []
        for ch in chunks:
            pending.append(client.submit(fn, ch, opts, *extra, pure=False))
            while len(pending) >= max_in_flight:
                on_chunk(pending.pop(0).result())
        for f in pending:
            on_chunk(f.result())

