"""Streaming writers of claim and capture records (Parquet with a fixed schema, JSONL, CSV via organwatch.output).

Records are buffered in batches of :data:`BATCH` and written as they come, so a scan of a large crawl keeps
only one batch in memory. Parquet files carry the run's provenance under the key ``organwatch``: in the schema
metadata (rule pack, options, input files; ``pyarrow.parquet.read_schema``) and, with the per-file counts
known at the end, in the file's key-value metadata (``pyarrow.parquet.ParquetFile(path).metadata.metadata``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from organwatch.errors import InputError

BATCH = 5000


def _schema(kind: str) -> Any:
    import pyarrow as pa

    s, f, b, i = pa.string(), pa.float64(), pa.bool_(), pa.int64()
    if kind == "claims":
        cols = [("claim_id", s), ("url", s), ("capture_time", s), ("archive_record", s), ("charset", s),
                ("language", s), ("advertiser", s), ("hospital", s), ("organ", s), ("wait_min_days", f),
                ("wait_max_days", f), ("wait_vague", b), ("wait_text", s), ("price_min", f), ("price_max", f),
                ("currency", s), ("price_text", s), ("span", pa.list_(i)), ("quote", s), ("rule", s), ("site", s),
                ("advertiser_kind", s), ("foreign_patients", b), ("charset_source", s), ("source_file", s),
                ("record", i), ("archive_url", s), ("payload_digest", s)]
    else:
        cols = [("site", s), ("url", s), ("capture_time", s), ("archive_record", s), ("archive_url", s),
                ("source_file", s), ("record", i), ("charset", s), ("language", s), ("prefilter", b), ("claims", i)]
    return pa.schema(cols)


class RecordSink:
    """``add`` records, ``close(metadata)`` at the end; ``kind`` is "claims" or "captures"."""

    def __init__(self, path: Path, fmt: str, kind: str, columns: list[str], metadata: dict[str, Any] | None = None):
        if path.parent and not path.parent.exists():
            raise InputError(f"{path}: output directory does not exist")
        self.path, self.fmt, self.columns = path, fmt, columns
        self.buf: list[dict[str, Any]] = []
        self.count = 0
        self._pq: Any = None
        self._fh: Any = None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            self.schema = _schema(kind)
            assert self.schema.names == columns
            if metadata:
                self.schema = self.schema.with_metadata({"organwatch": json.dumps(metadata, ensure_ascii=False)})
            self._pq = pq.ParquetWriter(path, self.schema)
        else:
            from organwatch.output import csv_writer

            self._fh = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
            if fmt == "csv":
                self._csv = csv_writer(self._fh)
                self._csv.writerow(columns)

    def add(self, records: list[dict[str, Any]]) -> None:
        self.buf.extend(records)
        self.count += len(records)
        if len(self.buf) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        if self._pq is not None:
            import pyarrow as pa

            self._pq.write_table(pa.Table.from_pylist([{c: r.get(c) for c in self.columns} for r in self.buf],
                                                      schema=self.schema))
        elif self.fmt == "csv":
            self._csv.writerows([[r.get(c) for c in self.columns] for r in self.buf])
        else:
            for r in self.buf:
                self._fh.write(json.dumps({c: r.get(c) for c in self.columns}, ensure_ascii=False) + "\n")
        self.buf = []

    def close(self, metadata: dict[str, Any] | None = None) -> None:
        self.flush()
        if self._pq is not None:
            if metadata:
                self._pq.add_key_value_metadata({"organwatch": json.dumps(metadata, ensure_ascii=False)})
            self._pq.close()
        if self._fh is not None:
            self._fh.close()
