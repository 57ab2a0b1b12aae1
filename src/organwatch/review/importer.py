"""Import ``organwatch screen`` results (JSONL, JSONL.gz or Parquet) into a project file.

Tolerant of missing optional fields (everything but ``document_id``); a record that cannot be used is isolated,
counted and kept in ``import_errors`` with its record number, and every other record is imported. A file that
cannot be read at all raises :class:`InputError` (one line, exit 2).

Hits: one per flagged passage (screen label in ``[import] hit_labels`` of review.toml, by default violation and
suspicious; ``--all-passages`` takes every passage), ``hit_id = "<document_id>#p<index>"`` (0-based passage index
in the record). A flagged document without passages becomes one document-level hit ``"<document_id>#doc"``.
Documents without hits are kept (they still take part in de-duplication).
"""

from __future__ import annotations

import datetime as _dt
import gzip
import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from organwatch import __version__
from organwatch.errors import InputError
from organwatch.findings import sha256_file
from organwatch.review.dedup import dedup_key

MAX_LINE_BYTES = 64 * 1024 * 1024  # one JSONL record; longer lines are isolated as bad records
# a .jsonl.gz that inflates beyond both limits is refused as a likely decompression bomb
BOMB_MIN_BYTES = 2 * 1024 ** 3
BOMB_MAX_RATIO = 200
BATCH = 5000


def _hit_labels() -> tuple[str, ...]:
    from organwatch.review.config import settings

    return tuple(settings()["import"]["hit_labels"])


class RecordError(ValueError):
    """One bad record (isolated, counted, reported)."""


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
    errors: list[tuple[int, str]] = field(default_factory=list)
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
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise InputError(f"unreadable Parquet file ({e})", file=path) from None
        # columns organwatch stored as JSON text because their values share no Arrow type (output.py)
        meta = pf.schema_arrow.metadata or {}
        try:
            json_cols = set(json.loads(meta.get(b"organwatch.json_columns", b"[]")))
        except ValueError:
            json_cols = set()
        n = 0
        for batch in pf.iter_batches(batch_size=BATCH):
            for rec in batch.to_pylist():
                n += 1
                bad = None
                for c in json_cols & rec.keys():
                    if isinstance(rec[c], str):
                        try:
                            rec[c] = json.loads(rec[c])
                        except (ValueError, RecursionError):
                            bad = RecordError(f"field '{c}': invalid JSON text")
                yield n, bad or rec
        return
    opener = gzip.open if fmt == "jsonl.gz" else open
    try:
        fh = opener(path, "rb")
    except OSError as e:
        raise InputError(f"cannot open ({e.strerror or e})", file=path) from None
    compressed = path.stat().st_size if fmt == "jsonl.gz" else 0
    inflated = 0
    with fh:
        n = 0
        while True:
            try:
                line = fh.readline(MAX_LINE_BYTES + 1)
            except (OSError, EOFError, gzip.BadGzipFile) as e:
                raise InputError(f"unreadable compressed file ({e})", file=path, record=n + 1) from None
            if not line:
                break
            if compressed:
                inflated += len(line)
                if inflated > BOMB_MIN_BYTES and inflated > BOMB_MAX_RATIO * compressed:
                    raise InputError(f"refused: inflates more than {BOMB_MAX_RATIO} times its size (likely a "
                                     "decompression bomb)", file=path, record=n + 1)
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                n += 1
                while line and not line.endswith(b"\n"):  # skip the rest of the over-long line
                    line = fh.readline(MAX_LINE_BYTES)
                yield n, RecordError(f"record longer than {MAX_LINE_BYTES} bytes")
                continue
            if not line.strip():
                continue
            n += 1
            try:
                rec = json.loads(line)
            except (UnicodeDecodeError, ValueError, RecursionError) as e:
                msg = str(e).splitlines()[0] if str(e) else type(e).__name__
                if n == 1 and not line.lstrip().startswith((b"{", b"[")):
                    raise InputError("not JSON Lines or Parquet screen results (first record is not JSON)",
                                     file=path, line=1) from None
                yield n, RecordError(f"invalid JSON ({msg})")
                continue
            if not isinstance(rec, dict):
                yield n, RecordError("not a JSON object")
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
                except ValueError:
                    prov[k] = v.decode("utf-8", "replace")
    for side in (Path(str(path) + ".provenance.json"), path.with_suffix(".provenance.json")):
        if side.is_file() and side.stat().st_size < 16 * 1024 * 1024:
            try:
                prov["sidecar"] = json.loads(side.read_text("utf-8"))
            except ValueError:
                pass
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


def _int(v: Any, name: str) -> int | None:
    if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, bool):
        raise RecordError(f"field '{name}': not an integer ({v!r})")
    if isinstance(v, float):
        if not v.is_integer():
            raise RecordError(f"field '{name}': not an integer ({v!r})")
        return int(v)
    try:
        return int(str(v).strip())
    except ValueError:
        raise RecordError(f"field '{name}': not an integer ({str(v)[:40]!r})") from None


def _conf(v: Any, where: str) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise RecordError(f"field '{where}.confidence': not a number") from None
    if not (0.0 <= f <= 1.0):
        raise RecordError(f"field '{where}.confidence': {f} is outside [0, 1]")
    return f


def _spans(v: Any, where: str) -> list[list[int]]:
    if v is None:
        return []
    if not isinstance(v, (list, tuple)):
        raise RecordError(f"field '{where}.spans': not a list")
    out = []
    for s in v:
        if not isinstance(s, (list, tuple)) or len(s) != 2:
            raise RecordError(f"field '{where}.spans': each span must be [start, end]")
        a, b = _int(s[0], f"{where}.spans"), _int(s[1], f"{where}.spans")
        if a is None or b is None or a < 0 or b < a:
            raise RecordError(f"field '{where}.spans': invalid span {list(s)!r}")
        out.append([a, b])
    return out


def _events(v: Any, where: str) -> list[dict[str, Any]]:
    if v is None:
        return []
    if not isinstance(v, (list, tuple)):
        raise RecordError(f"field '{where}.events': not a list")
    out = []
    for e in v:
        if not isinstance(e, dict):
            raise RecordError(f"field '{where}.events': each event must be an object")
        out.append({"type": _s(e.get("type")), "start": _int(e.get("start"), f"{where}.events.start"),
                    "end": _int(e.get("end"), f"{where}.events.end"), "text": _s(e.get("text"))})
    return out


def record_rows(rec: dict[str, Any], all_passages: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(document row, hit rows) for one screen record; raises :class:`RecordError` for unusable records.

    Hits are the passages flagged by the screener (``[import] hit_labels``), or every passage with ``all_passages``;
    the hit id keeps the passage's index in the record either way."""
    doc_id = rec.get("document_id")
    if doc_id is None or isinstance(doc_id, (dict, list, bool)) or str(doc_id).strip() == "":
        raise RecordError("field 'document_id': missing")
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
        raise RecordError("field 'passages': not a list")
    hits = []
    for i, p in enumerate(passages):
        where = f"passages[{i}]"
        if not isinstance(p, dict):
            raise RecordError(f"field '{where}': not an object")
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
        input_pk = cur.lastrowid
        next_doc = (con.execute("SELECT COALESCE(MAX(doc_pk), 0) FROM documents").fetchone()[0]) + 1
        known = {r[0] for r in con.execute("SELECT document_id FROM documents")}
        docs: list[tuple] = []
        hits: list[tuple] = []

        def flush() -> None:
            con.executemany("INSERT INTO documents(doc_pk, input_pk, document_id, source, title, year, language, "
                            "document_label, patterns, ethics, errors, institution, identifier, dedup_key) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", docs)
            con.executemany("INSERT INTO hits(hit_id, doc_pk, passage_index, machine_label, pattern, confidence, "
                            "events, spans, text, text_start, year, institution, language) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", hits)
            docs.clear()
            hits.clear()

        for n, rec in iter_records(path, fmt):
            summary.records = n
            if isinstance(rec, RecordError):
                summary.failed += 1
                summary.errors.append((n, str(rec)))
                continue
            try:
                doc, hs = record_rows(rec, all_passages=all_passages)
            except RecordError as e:
                summary.failed += 1
                summary.errors.append((n, str(e)))
                continue
            if doc["document_id"] in known:
                summary.skipped += 1
                continue
            known.add(doc["document_id"])
            docs.append((next_doc, input_pk, doc["document_id"], doc["source"], doc["title"], doc["year"],
                         doc["language"], doc["document_label"], doc["patterns"], doc["ethics"], doc["errors"],
                         doc["institution"], doc["identifier"], doc["dedup_key"]))
            for h in hs:
                hits.append((h["hit_id"], next_doc, h["passage_index"], h["machine_label"], h["pattern"],
                             h["confidence"], h["events"], h["spans"], h["text"], h["text_start"], h["year"],
                             h["institution"], h["language"]))
            next_doc += 1
            summary.imported += 1
            summary.hits += len(hs)
            if len(docs) >= BATCH:
                flush()
                if progress:
                    progress(summary)
        flush()
        con.executemany("INSERT INTO import_errors(input_pk, record, message) VALUES (?,?,?)",
                        [(input_pk, n, m) for n, m in summary.errors])
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
