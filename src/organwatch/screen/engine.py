"""Screening a chunk of documents into screen document records, locally (process pool) or on Dask.

``screen_chunk`` is a pure function of (documents, options): the same chunk gives the same records in any
process, so the local and Dask engines return identical results. Per-process caches hold the compiled
pack, scanner and normaliser (compiled on first use, never on import).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator

from organwatch.screen.documents import Document, RecordError
from organwatch.screen.ethics import ethics_fields
from organwatch.screen.logic import PassageLogic, detect_language, worst_label
from organwatch.screen.matching import Matcher
from organwatch.screen.normalise import get_normaliser
from organwatch.screen.rulepack import load_pack
from organwatch.screen.scanner import get_scanner

COLUMNS = ["document_id", "source", "title", "year", "language", "institution", "document_label", "patterns",
           "passages", "ethics", "errors"]


@dataclass(frozen=True)
class ScreenOptions:
    rules: str = "ddr_default"
    backend: str = "hyperscan"
    include_text: bool = False


@lru_cache(maxsize=4)
def _components(rules: str, backend: str):
    pack = load_pack(rules)
    scanner = get_scanner(backend, pack.literal_strings(), key=pack.sha256)
    matcher = Matcher(pack, scanner, get_normaliser())
    return pack, matcher, PassageLogic(pack)


def _institution(doc: Document, norm: str, lang: str) -> str | None:
    if doc.institution:
        return " ".join(doc.institution.split())[:300]
    return None


def screen_chunk(docs: list[Document], opts: ScreenOptions) -> list[dict[str, Any]]:
    pack, matcher, logic = _components(opts.rules, opts.backend)
    matches = matcher.match([d.text for d in docs])
    out = []
    for doc, m in zip(docs, matches):
        lang = detect_language(m.norm)
        doc_types = {e.type for e in m.events}
        passages = logic.passages(m.norm, m.events, lang, doc.year, doc_types)
        ctx = pack.setting("passage_context", lang)
        recs = []
        for p in passages:
            ev_json = [{"type": e.type, "tag": e.tag or None, "rule": e.rule, "start": e.ostart, "end": e.oend,
                        "text": doc.text[e.ostart:e.oend]} for e in p.events]
            a = max(0, min(e.ostart for e in p.events) - ctx)
            b = min(len(doc.text), max(e.oend for e in p.events) + ctx)
            spans = [[e.ostart, e.oend] for e in p.events if e.type in ("BD", "INT", "VENT", "MASK", "OPEN",
                                                                         "ARREST", "DET", "DCD")]
            recs.append({"label": p.label, "pattern": p.pattern, "events": ev_json, "spans": spans,
                         "confidence": p.confidence, "reason": p.reason, "signals": p.signals, "also": p.also,
                         "start": a, "end": b, "text": doc.text[a:b]})
        label = worst_label(passages)
        patterns = sorted({p.pattern for p in passages if p.label == "violation" and p.pattern})
        rec = {
            "document_id": doc.document_id,
            "source": {"file": doc.file, "record": doc.record},
            "title": doc.title,
            "year": doc.year,
            "language": doc.language or lang,
            "institution": _institution(doc, m.norm, lang),
            "document_label": label,
            "patterns": patterns,
            "passages": recs,
            "ethics": ethics_fields(m.norm, m.events, doc.year),
            "errors": list(doc.errors),
        }
        if opts.include_text:
            rec["text"] = doc.text
        out.append(rec)
    return out


def error_record(err: RecordError) -> dict[str, Any]:
    return {"document_id": f"{err.file}#{err.record if err.record is not None else 'file'}",
            "source": {"file": err.file, "record": err.record}, "title": "", "year": None, "language": None,
            "institution": None, "document_label": "not_applicable", "patterns": [], "passages": [],
            "ethics": None, "errors": [str(err)]}


def chunked(items: Iterable[Document | RecordError], max_docs: int, max_chars: int,
            on_error: Callable[[RecordError], None]) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    size = 0
    for it in items:
        if isinstance(it, RecordError):
            on_error(it)
            continue
        chunk.append(it)
        size += len(it.text)
        if len(chunk) >= max_docs or size >= max_chars:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def run_local(chunks: Iterable[list[Document]], opts: ScreenOptions, workers: int,
              on_chunk: Callable[[list[dict[str, Any]]], None]) -> None:
    """Screen chunks in a process pool (``workers`` > 1) or in-process, results in input order."""
    if workers <= 1:
        for ch in chunks:
            on_chunk(screen_chunk(ch, opts))
        return
    import multiprocessing as mp

    ctx = mp.get_context("forkserver") if hasattr(mp, "get_context") else None
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
        pending = []
        for ch in chunks:
            pending.append(ex.submit(screen_chunk, ch, opts))
            while len(pending) >= workers * 2:
                on_chunk(pending.pop(0).result())
        for f in pending:
            on_chunk(f.result())


def run_dask(chunks: Iterable[list[Document]], opts: ScreenOptions, scheduler: str,
             on_chunk: Callable[[list[dict[str, Any]]], None], max_in_flight: int = 8) -> None:
    """The same job on a Dask cluster at ``scheduler`` (e.g. tcp://127.0.0.1:8786), results in order."""
    from distributed import Client

    with Client(scheduler, timeout="30s") as client:
        pending = []
        for ch in chunks:
            pending.append(client.submit(screen_chunk, ch, opts, pure=False))
            while len(pending) >= max_in_flight:
                on_chunk(pending.pop(0).result())
        for f in pending:
            on_chunk(f.result())


def options_dict(opts: ScreenOptions) -> dict[str, Any]:
    return asdict(opts)
