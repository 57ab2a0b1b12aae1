"""Streaming writer for screen document records (flat memory): JSONL, CSV (the project's spreadsheet-safe
writer, organwatch.output) or Parquet with a fixed schema.

Nested fields are native in JSONL/Parquet and JSON strings in CSV (cli.md). The Parquet schema is explicit
so that every batch (and every run) has the same column types, whatever the first batch contained.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from organwatch.findings import _jsonable
from organwatch.output import csv_writer

_EVENT = pa.struct([("type", pa.string()), ("tag", pa.string()), ("rule", pa.string()), ("start", pa.int64()),
                    ("end", pa.int64()), ("text", pa.string())])
_PASSAGE = pa.struct([("label", pa.string()), ("pattern", pa.string()), ("events", pa.list_(_EVENT)),
                      ("spans", pa.list_(pa.list_(pa.int64()))), ("confidence", pa.float64()),
                      ("reason", pa.string()), ("signals", pa.list_(pa.string())), ("also", pa.list_(pa.string())),
                      ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("page", pa.int64())])
_DATE = pa.struct([("status", pa.string()), ("transplant_years", pa.list_(pa.int64())),
                   ("publication_year", pa.int64()), ("voluntary_claim", pa.bool_()), ("note", pa.string())])
_ETHICS = pa.struct([("donor_source", pa.list_(pa.string())), ("no_prisoner_statement", pa.bool_()),
                     ("donor_consent", pa.bool_()), ("recipient_consent_only", pa.bool_()),
                     ("ethics_approval", pa.bool_()), ("death_determination", pa.list_(pa.string())),
                     ("date_plausibility", _DATE), ("missing", pa.list_(pa.string())),
                     # issue 12 (screen helper): negated statements, applicability of the §6 standard
                     ("negated", pa.list_(pa.string())), ("standard_applies", pa.bool_()),
                     ("applicability", pa.string()), ("fails_standard", pa.bool_()),
                     ("evidence", pa.list_(pa.struct([("field", pa.string()), ("start", pa.int64()),
                                                      ("end", pa.int64()), ("negated", pa.bool_())])))])
SCHEMA_FIELDS = [("document_id", pa.string()), ("source", pa.struct([("file", pa.string()), ("record", pa.int64()),
                                       ("pages", pa.list_(pa.int64()))])),
                 ("title", pa.string()), ("year", pa.int64()), ("language", pa.string()),
                 ("institution", pa.string()), ("document_label", pa.string()), ("patterns", pa.list_(pa.string())),
                 ("passages", pa.list_(_PASSAGE)), ("ethics", _ETHICS), ("errors", pa.list_(pa.string())),
                 # reader notes (Document.notes: decoding choices, records without a title): information, not errors
                 ("notes", pa.list_(pa.string()))]


def schema(include_text: bool = False) -> pa.Schema:
    return pa.schema(SCHEMA_FIELDS + ([("text", pa.string())] if include_text else []))


def arrow_table(records: list[dict[str, Any]], sch: pa.Schema) -> pa.Table:
    """The records as a table of ``sch``, converted column by column (a missing key is a null). One
    ``pa.array`` per column is 25-30 % faster than ``Table.from_pylist`` of row dicts (measured on the
    benchmark corpora: 2.15 against 3.0 ms per 4 MB task of (d)) and gives the same table."""
    return pa.Table.from_arrays([pa.array([r.get(name) for r in records], type=sch.field(name).type)
                                 for name in sch.names], schema=sch)


def serialise(records: list[dict[str, Any]], fmt: str, include_text: bool = False) -> bytes | str:
    """Records as a payload the main process appends without re-parsing: Arrow IPC (parquet) or text lines."""
    sch = schema(include_text)
    cols = sch.names
    if fmt == "parquet":
        table = arrow_table(records, sch)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, sch) as w:
            w.write_table(table)
        return sink.getvalue().to_pybytes()
    if fmt == "csv":
        import io

        buf = io.StringIO()
        w = csv_writer(buf)
        for r in records:
            w.writerow(_csv_row(r, cols))
        return buf.getvalue()
    return "".join(json.dumps(_jsonable({c: r.get(c) for c in cols}), ensure_ascii=False) + "\n" for r in records)


def _csv_row(r: dict[str, Any], cols: list[str]) -> list[Any]:
    row = []
    for c in cols:
        v = _jsonable(r.get(c))
        if isinstance(v, (list, dict)):
            v = json.dumps(v, ensure_ascii=False, sort_keys=True)
        elif v is None:
            v = ""
        row.append(v)
    return row


class RecordSink:
    """``metadata`` (e.g. provenance) is stored as Parquet key-value metadata under the key ``organwatch``."""

    def __init__(self, path: Path, fmt: str, include_text: bool = False, metadata: dict[str, Any] | None = None):
        self.path = Path(path)
        self.fmt = fmt
        self.schema = schema(include_text)
        if metadata:
            self.schema = self.schema.with_metadata({"organwatch": json.dumps(_jsonable(metadata), ensure_ascii=False,
                                                                              sort_keys=True)})
        self.columns = self.schema.names
        self.count = 0
        self._pq: pq.ParquetWriter | None = None
        self._fh = None
        self._csv = None
        if fmt == "parquet":
            # no dictionary encoding: ~40 % less writer CPU for these mostly unique strings
            self._pq = pq.ParquetWriter(self.path, self.schema, store_schema=False, use_dictionary=False)
        else:
            # the sink owns the handle for its lifetime and closes it in close()
            self._fh = open(self.path, "w", encoding="utf-8", newline="" if fmt == "csv" else "\n")  # noqa: SIM115
            if fmt == "csv":
                self._csv = csv_writer(self._fh)
                self._csv.writerow(self.columns)

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self.count += len(records)
        if self._pq is not None:
            self._pq.write_table(arrow_table(records, self.schema))
        elif self._csv is not None:
            for r in records:
                self._csv.writerow(_csv_row(r, self.columns))
        elif self._fh is not None:
            for r in records:
                self._fh.write(json.dumps(_jsonable({c: r.get(c) for c in self.columns}), ensure_ascii=False))
                self._fh.write("\n")

    def write_payload(self, payload: bytes | str, n: int) -> None:
        """Append a payload made by :func:`serialise` in a worker."""
        if n == 0:
            return
        self.count += n
        if self._pq is not None:
            with pa.ipc.open_stream(payload) as r:
                self._pq.write_table(r.read_all().replace_schema_metadata(self.schema.metadata))
        elif self._fh is not None:
            self._fh.write(payload if isinstance(payload, str) else payload.decode("utf-8"))

    def set_metadata(self, metadata: dict[str, Any]) -> None:
        """Attach metadata known only at the end of the run (Parquet key-value metadata ``organwatch``)."""
        if self._pq is not None:
            self._pq.add_key_value_metadata({"organwatch": json.dumps(_jsonable(metadata), ensure_ascii=False,
                                                                      sort_keys=True)})

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
            self._pq = None
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RecordSink:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
