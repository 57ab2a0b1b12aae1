"""Import ``organwatch screen`` results (JSONL, JSONL.gz or Parquet) into a project file.

Tolerant of missing optional fields (everything but ``document_id``); a record that cannot be used is isolated,
counted and kept in ``import_errors`` with its record number, and every other record is imported. A file that
cannot be read at all raises :class:`InputError` (one line, exit 2).

Hits: one per flagged passage (screen label in ``[import] hit_labels`` of review.toml, by default violation and
suspicious; ``--all-passages`` takes every passage), ``hit_id = "<document_id>#p<index>"`` (0-based passage index
in the record). A flagged document without passages becomes one document-level hit ``"<document_id>#doc"``.
Documents without hits are kept (they still take part in de-duplication).

Memory stays bounded whatever the file holds (docs/security.md): JSONL is read in 1 MiB chunks (runs of blank
lines cost nothing), a record longer than ``MAX_LINE_BYTES`` is skipped without being held, a ``.jsonl.gz`` is
refused as a decompression bomb as soon as it has inflated more than ``BOMB_MIN_BYTES`` at more than
``BOMB_MAX_RATIO`` times the compressed bytes read so far (counted while streaming, nothing buffered), records
with more than ``MAX_ITEMS`` passages, spans or events are refused, at most ``MAX_ERRORS_KEPT`` error messages
are held in memory (all of them go to ``import_errors``), and a file whose records are nearly all unusable is
refused once ``MAX_FAILED`` records have failed.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import json
import math
import re
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from organwatch import __version__
from organwatch.errors import InputError, RecordError
from organwatch.findings import sha256_file
from organwatch.review.dedup import dedup_key

MAX_LINE_BYTES = 16 * 1024 * 1024  # one JSONL record; longer lines are isolated as bad records, never held
CHUNK = 1024 * 1024
# a .jsonl.gz that has inflated beyond BOMB_MIN_BYTES, at more than BOMB_MAX_RATIO times the compressed bytes
# read so far, is refused as a likely decompression bomb (JSON screen results compress 5-20 times)
BOMB_MIN_BYTES = 16 * 1024 * 1024
BOMB_MAX_RATIO = 200
MAX_ITEMS = 10_000  # passages per record, spans or events per passage
MAX_ERRORS_KEPT = 1000  # error messages held in memory (and printed by --json); all go to import_errors
MAX_FAILED = 10_000  # more failed records than this, and ten times more than imported ones: not screen results
MAX_ROW_GROUP_BYTES = 1024 ** 3  # Parquet row groups declaring more (uncompressed) are refused
BATCH = 5000
_BLANK_RUNS = re.compile(rb"(?:[ \t\r\f\v]*\n)+")


def _hit_labels() -> tuple[str, ...]:
    from organwatch.review.config import settings

    return tuple(settings()["import"]["hit_labels"])


def _bad(message: str, field: str | None = None) -> RecordError:
    """One unusable record (isolated, counted, reported; the reader fills in where)."""
    return RecordError(message=message, field=field)


@dataclass
class ImportSummary:
    file: str
    sha256: str
    format: str
    records: int = 0
    imported: int = 0
    skipped: int = 0  # document_id already in the project
    failed: int = 0
    hits: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    provenance: dict[str, Any] = field(default_factory=dict)


# -- readers ------------------------------------------------------------------------------------------------
def _sniff(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"PAR1":
        return "parquet"
    if head[:2] == b"\x1f\x8b":
        return "jsonl.gz"
    return "jsonl"


def iter_records(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    """(1-based record number, record or the error that made it unusable)."""
    if fmt == "parquet":
        yield from _iter_parquet(path)
        return
    yield from _iter_jsonl(path, fmt)


def _iter_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        _parquet_guard(pf, path)
        # columns organwatch stored as JSON text because their values share no Arrow type (output.py)
        meta = pf.schema_arrow.metadata or {}
    except InputError:
        raise
    except Exception as e:  # pyarrow raises several types for corrupt files
        raise InputError(f"unreadable Parquet file ({_one_line(e)})", file=path) from None
    try:
        json_cols = set(json.loads(meta.get(b"organwatch.json_columns", b"[]")))
    except (ValueError, TypeError, RecursionError):
        json_cols = set()
    n = 0
    batches = pf.iter_batches(batch_size=BATCH)
    while True:
        try:
            batch = next(batches, None)
        except Exception as e:  # a damaged page or row group: pyarrow raises several types
            raise InputError(f"unreadable Parquet file ({_one_line(e)})", file=path, record=n + 1) from None
        if batch is None:
            return
        for rec in batch.to_pylist():
            n += 1
            yield n, _decode_json_columns(rec, json_cols)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300]


def _decode_json_columns(rec: dict[str, Any], json_cols: set) -> dict[str, Any] | RecordError:
    for c in json_cols & rec.keys():
        if isinstance(rec[c], str):
            try:
                rec[c] = json.loads(rec[c])
            except (ValueError, RecursionError):
                return _bad("invalid JSON text", c)
    return rec


def _parquet_guard(pf, path: Path) -> None:
    md = pf.metadata
    for i in range(md.num_row_groups):
        if md.row_group(i).total_byte_size > MAX_ROW_GROUP_BYTES:
            raise InputError(f"refused: Parquet row group {i} declares more than {MAX_ROW_GROUP_BYTES // 1024 ** 2} "
                             "MiB", file=path)


def _consumed(fh) -> int:
    """Compressed bytes read so far from a gzip file (its underlying file position)."""
    try:
        return int(fh.fileobj.tell())
    except (AttributeError, OSError, ValueError):
        return 0


def _chunks(path: Path, fmt: str) -> Iterator[bytes]:
    """The (inflated) bytes of a JSONL file in chunks, refusing a decompression bomb while streaming."""
    gz = fmt == "jsonl.gz"
    try:
        fh = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as e:
        raise InputError(f"cannot open ({e.strerror or e})", file=path) from None
    inflated = 0
    with fh:
        while True:
            try:
                chunk = fh.read(CHUNK)
            except (OSError, EOFError, zlib.error) as e:
                raise InputError(f"unreadable compressed file ({e})", file=path) from None
            if not chunk:
                return
            inflated += len(chunk)
            if gz and inflated > BOMB_MIN_BYTES and inflated > BOMB_MAX_RATIO * max(_consumed(fh), 1):
                raise InputError(f"refused: inflates more than {BOMB_MAX_RATIO} times its size (likely a "
                                 "decompression bomb)", file=path)
            yield chunk


def _lines(path: Path, fmt: str) -> Iterator[bytes | None]:
    """Non-blank lines of a JSONL file; None stands for a line longer than MAX_LINE_BYTES (skipped unheld)."""
    pending = b""
    skipping = False
    for chunk in _chunks(path, fmt):
        if skipping:
            j = chunk.find(b"\n")
            if j < 0:
                continue
            chunk, skipping = chunk[j + 1:], False
            yield None
        parts = _BLANK_RUNS.sub(b"\n", chunk).split(b"\n")
        parts[0] = pending + parts[0]
        pending = parts.pop()
        for line in parts:
            if line.strip():
                yield line
        if len(pending) > MAX_LINE_BYTES:
            pending, skipping = b"", True
    if skipping:
        yield None
    elif pending.strip():
        yield pending


def _iter_jsonl(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any] | RecordError]]:
    n = 0
    for line in _lines(path, fmt):
        n += 1
        if line is None:
            yield n, _bad(f"record longer than {MAX_LINE_BYTES} bytes")
            continue
        try:
            rec = json.loads(line)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            if n == 1 and not line.lstrip().startswith((b"{", b"[")):
                raise InputError("not JSON Lines or Parquet screen results (first record is not JSON)",
                                 file=path, line=1) from None
            yield n, _bad(f"invalid JSON ({msg[:200]})")
            continue
        if not isinstance(rec, dict):
            yield n, _bad("not a JSON object")
            continue
        yield n, rec


def _provenance(path: Path, fmt: str) -> dict[str, Any]:
    """Screening provenance shipped with the results: Parquet key-value metadata or a sidecar JSON file."""
    prov: dict[str, Any] = {}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            meta = pq.read_schema(path).metadata or {}
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise InputError(f"unreadable Parquet file ({e})", file=path) from None
        for k, v in meta.items():
            k = k.decode("utf-8", "replace")
            if k.startswith("organwatch"):
                try:
                    prov[k] = json.loads(v)
                except (ValueError, RecursionError):
                    prov[k] = v.decode("utf-8", "replace")[:10_000]
    for side in (Path(str(path) + ".provenance.json"), path.with_suffix(".provenance.json")):
        if side.is_file() and side.stat().st_size < 16 * 1024 * 1024:
            with contextlib.suppress(ValueError, RecursionError):  # not provenance: ignored
                prov["sidecar"] = json.loads(side.read_text("utf-8"))
            break
    return prov


# -- record -> rows -----------------------------------------------------------------------------------------
def _s(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v if x is not None) or None
    if isinstance(v, dict):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return str(v)


def _j(v: Any) -> str | None:
    return None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)


INT64 = 2 ** 63 - 1


def _int(v: Any, name: str) -> int | None:
    """An integer SQLite can store (|v| < 2**63), None for missing; anything else is a bad record."""
    if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool):
        raise _bad(f"not an integer ({v!r})", name)
    if isinstance(v, float):
        if not v.is_integer():
            raise _bad(f"not an integer ({v!r})", name)
        v = int(v)
    elif not isinstance(v, int):
        text = str(v).strip()
        if len(text) > 20:
            raise _bad(f"not a 64-bit integer ({text[:40]!r}…)", name)
        try:
            v = int(text)
        except ValueError:
            raise _bad(f"not an integer ({text[:40]!r})", name) from None
    if abs(v) > INT64:
        raise _bad(f"integer out of range ({str(v)[:40]}…)", name)
    return v


def _many(v: Any, what: str) -> None:
    if len(v) > MAX_ITEMS:
        raise _bad(f"more than {MAX_ITEMS} items ({len(v)})", what)


def _conf(v: Any, where: str) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise _bad("not a number", f"{where}.confidence") from None
    if not (0.0 <= f <= 1.0):
        raise _bad(f"{f} is outside [0, 1]", f"{where}.confidence")
    return f


def _spans(v: Any, where: str) -> list[list[int]]:
    if v is None:
        return []
    if not isinstance(v, (list, tuple)):
        raise _bad("not a list", f"{where}.spans")
    _many(v, f"{where}.spans")
    out = []
    for s in v:
        if not isinstance(s, (list, tuple)) or len(s) != 2:
            raise _bad("each span must be [start, end]", f"{where}.spans")
        a, b = _int(s[0], f"{where}.spans"), _int(s[1], f"{where}.spans")
        if a is None or b is None or a < 0 or b < a:
            raise _bad(f"invalid span {str(list(s))[:80]}", f"{where}.spans")
        out.append([a, b])
    return out


def _events(v: Any, where: str) -> list[dict[str, Any]]:
    if v is None:
        return []
    if not isinstance(v, (list, tuple)):
        raise _bad("not a list", f"{where}.events")
    _many(v, f"{where}.events")
    out = []
    for e in v:
        if not isinstance(e, dict):
            raise _bad("each event must be an object", f"{where}.events")
        out.append({"type": _s(e.get("type")), "start": _int(e.get("start"), f"{where}.events.start"),
                    "end": _int(e.get("end"), f"{where}.events.end"), "text": _s(e.get("text"))})
    return out


def record_rows(rec: dict[str, Any], all_passages: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(document row, hit rows) for one screen record; raises :class:`RecordError` for unusable records.

    Hits are the passages flagged by the screener (``[import] hit_labels``), or every passage with ``all_passages``;
    the hit id keeps the passage's index in the record either way."""
    doc_id = rec.get("document_id")
    if doc_id is None or isinstance(doc_id, (dict, list, bool)) or str(doc_id).strip() == "":
        raise _bad("missing", "document_id")
    doc_id = str(doc_id)
    title = _s(rec.get("title"))
    year = _int(rec.get("year"), "year")
    inst = _s(rec.get("institution"))
    lang = _s(rec.get("language"))
    patterns = rec.get("patterns")
    if patterns is not None and not isinstance(patterns, (list, tuple)):
        patterns = [patterns]
    ident, key = dedup_key({**rec, "title": title, "year": year})
    doc = {"document_id": doc_id, "source": _j(rec.get("source")), "title": title, "year": year,
           "language": lang, "document_label": _s(rec.get("document_label")),
           "patterns": _j(list(patterns) if patterns is not None else None), "ethics": _j(rec.get("ethics")),
           "errors": _j(rec.get("errors")), "institution": inst, "identifier": ident or None, "dedup_key": key}
    passages = rec.get("passages")
    if passages is None:
        passages = []
    if not isinstance(passages, (list, tuple)):
        raise _bad("not a list", "passages")
    _many(passages, "passages")
    hits = []
    for i, p in enumerate(passages):
        where = f"passages[{i}]"
        if not isinstance(p, dict):
            raise _bad("not an object", where)
        text = _s(p.get("text"))
        start = _int(p.get("start"), f"{where}.start")
        plabel = _s(p.get("label"))
        conf = _conf(p.get("confidence"), where)
        events, spans = _events(p.get("events"), where), _spans(p.get("spans"), where)  # validated either way
        if not all_passages and plabel is not None and plabel not in _hit_labels():
            continue
        hits.append({"hit_id": f"{doc_id}#p{i}", "passage_index": i, "machine_label": plabel,
                     "pattern": _s(p.get("pattern")), "confidence": conf, "events": _j(events), "spans": _j(spans),
                     "text": text, "text_start": start if start is not None else (0 if text is not None else None),
                     "year": year, "institution": inst, "language": lang})
    if not passages and doc["document_label"] in _hit_labels():
        pats = [str(x) for x in patterns or [] if x is not None]
        hits.append({"hit_id": f"{doc_id}#doc", "passage_index": -1, "machine_label": doc["document_label"],
                     "pattern": pats[0] if len(pats) == 1 else (";".join(pats) or None), "confidence": None,
                     "events": "[]", "spans": "[]", "text": None, "text_start": None, "year": year,
                     "institution": inst, "language": lang})
    return doc, hits


# -- import -------------------------------------------------------------------------------------------------
class _Batch:
    """Rows waiting to be inserted (documents, hits, import errors), written every ``BATCH`` documents."""

    def __init__(self, con: sqlite3.Connection, input_pk: int, summary: ImportSummary, next_doc: int):
        self.con, self.input_pk, self.summary, self.next_doc = con, input_pk, summary, next_doc
        self.known = {r[0] for r in con.execute("SELECT document_id FROM documents")}
        self.docs: list[tuple] = []
        self.hits: list[tuple] = []
        self.errors: list[tuple] = []

    def fail(self, n: int, err: RecordError) -> None:
        s = self.summary
        s.failed += 1
        msg = str(err)
        self.errors.append((self.input_pk, n, msg))
        if len(s.errors) < MAX_ERRORS_KEPT:
            s.errors.append((n, msg))
        if s.failed > MAX_FAILED and s.failed > 10 * s.imported:
            raise InputError(f"not screen results: {s.failed:,} of the first {n:,} records are unusable "
                             f"(first: {s.errors[0][1] if s.errors else msg})", file=Path(s.file).name)

    def add(self, n: int, rec: dict[str, Any] | RecordError, all_passages: bool) -> None:
        if isinstance(rec, RecordError):
            self.fail(n, rec)
            return
        try:
            doc, hs = record_rows(rec, all_passages=all_passages)
        except RecordError as e:
            self.fail(n, e)
            return
        if doc["document_id"] in self.known:
            self.summary.skipped += 1
            return
        self.known.add(doc["document_id"])
        self.docs.append((self.next_doc, self.input_pk, doc["document_id"], doc["source"], doc["title"], doc["year"],
                          doc["language"], doc["document_label"], doc["patterns"], doc["ethics"], doc["errors"],
                          doc["institution"], doc["identifier"], doc["dedup_key"]))
        self.hits.extend((h["hit_id"], self.next_doc, h["passage_index"], h["machine_label"], h["pattern"],
                          h["confidence"], h["events"], h["spans"], h["text"], h["text_start"], h["year"],
                          h["institution"], h["language"]) for h in hs)
        self.next_doc += 1
        self.summary.imported += 1
        self.summary.hits += len(hs)

    def full(self) -> bool:
        return len(self.docs) >= BATCH or len(self.errors) >= BATCH or len(self.hits) >= 4 * BATCH

    def flush(self) -> None:
        self.con.executemany("INSERT INTO documents(doc_pk, input_pk, document_id, source, title, year, language, "
                             "document_label, patterns, ethics, errors, institution, identifier, dedup_key) "
                             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", self.docs)
        self.con.executemany("INSERT INTO hits(hit_id, doc_pk, passage_index, machine_label, pattern, confidence, "
                             "events, spans, text, text_start, year, institution, language) "
                             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", self.hits)
        self.con.executemany("INSERT INTO import_errors(input_pk, record, message) VALUES (?,?,?)", self.errors)
        self.docs.clear()
        self.hits.clear()
        self.errors.clear()


def import_results(con: sqlite3.Connection, path: Path, progress=None,
                   screen_summaries: list[dict[str, Any]] | None = None, all_passages: bool = False) -> ImportSummary:
    """Import one results file in a single transaction; returns its summary.

    ``screen_summaries``: run summaries of `organwatch screen --json` (rule pack name/version/sha256, backend,
    inputs); the one whose ``out`` names this file (or the only one given) goes into the input's provenance.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such results file", file=path)
    fmt = _sniff(path)
    summary = ImportSummary(file=str(path), sha256=sha256_file(path), format=fmt)
    summary.provenance = _provenance(path, fmt)
    if screen_summaries:
        match = [s for s in screen_summaries if Path(str(s.get("out", ""))).name == path.name]
        if match or len(screen_summaries) == 1:
            summary.provenance["screen_summary"] = (match or screen_summaries)[0]
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    con.execute("BEGIN IMMEDIATE")
    try:
        cur = con.execute("INSERT INTO inputs(name, sha256, format, records, imported, skipped, failed, hits, "
                          "provenance, imported_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          (path.name, summary.sha256, fmt, 0, 0, 0, 0, 0, "{}", now))
        input_pk = int(cur.lastrowid or 0)
        next_doc = (con.execute("SELECT COALESCE(MAX(doc_pk), 0) FROM documents").fetchone()[0]) + 1
        batch = _Batch(con, input_pk, summary, next_doc)
        for n, rec in iter_records(path, fmt):
            summary.records = n
            batch.add(n, rec, all_passages)
            if batch.full():
                batch.flush()
                if progress:
                    progress(summary)
        batch.flush()
        con.execute("UPDATE inputs SET records=?, imported=?, skipped=?, failed=?, hits=?, provenance=? "
                    "WHERE input_pk=?", (summary.records, summary.imported, summary.skipped, summary.failed,
                                         summary.hits, json.dumps(summary.provenance, ensure_ascii=False,
                                                                  sort_keys=True, default=str), input_pk))
        regroup(con)
        from organwatch.review.schema import rebuild_facets

        rebuild_facets(con)
        con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('organwatch_version', ?)", (__version__,))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    if progress:
        progress(summary)
    return summary


def regroup(con: sqlite3.Connection) -> None:
    """(Re)compute duplicate groups over the whole project: same non-empty key -> same group."""
    con.execute("UPDATE documents SET dup_group = NULL WHERE dup_group IS NOT NULL")
    con.execute("""UPDATE documents SET dup_group = g.first FROM
                     (SELECT dedup_key, MIN(doc_pk) AS first FROM documents WHERE dedup_key != ''
                      GROUP BY dedup_key HAVING COUNT(*) > 1) AS g
                   WHERE documents.dedup_key = g.dedup_key""")
