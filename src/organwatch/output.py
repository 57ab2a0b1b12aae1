"""Writing result tables the same way for every engine: ``--out PATH --format jsonl|csv|parquet``.

Nested fields (lists, objects) are JSON strings in CSV and native types in JSONL/Parquet (cli.md).
This is the one CSV writer of the project (:func:`csv_writer`, :func:`csv_cell`): cells that a spreadsheet
would run as a formula (first character ``=``, ``+``, ``-``, ``@``, TAB or CR) get a leading ``'`` (OWASP,
"CSV injection"), and every field holding CR or LF is quoted. ``ORGANWATCH_CSV_RAW=1`` (or
:func:`set_csv_raw`, behind the commands' ``--csv-raw`` flag) turns neutralising off for machine pipelines
that read the CSV back; quoting stays.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from organwatch.errors import UsageError
from organwatch.findings import _jsonable

TABLE_FORMATS = ("jsonl", "csv", "parquet")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_csv_raw = os.environ.get("ORGANWATCH_CSV_RAW", "") not in ("", "0")


def set_csv_raw(value: bool) -> None:
    """Write CSV cells unneutralised (for pipelines that read organwatch CSV back, never for spreadsheets)."""
    global _csv_raw
    _csv_raw = bool(value)


def csv_cell(v: Any) -> str:
    """One CSV cell: JSON text for lists/objects, '' for None, and a leading ' before formula characters."""
    if isinstance(v, (list, dict)):
        v = json.dumps(v, ensure_ascii=False, sort_keys=True)
    elif v is None:
        v = ""
    text = str(v)
    if not _csv_raw and text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text


class _SafeWriter:
    """``csv.writer`` whose rows go through :func:`csv_cell`; fields with CR or LF are always quoted."""

    def __init__(self, fh: Any) -> None:
        self._fh = fh
        self._w = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)

    def writerow(self, row: Sequence[Any]) -> None:
        cells = [csv_cell(v) for v in row]
        if any("\r" in c for c in cells):  # csv quotes only the line terminator ("\n"); a bare CR must be quoted too
            self._fh.write(",".join('"' + c.replace('"', '""') + '"' if ("\r" in c or "\n" in c or "," in c
                                                                       or '"' in c) else c for c in cells) + "\n")
        else:
            self._w.writerow(cells)

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        for r in rows:
            self.writerow(r)


def csv_writer(fh: Any) -> _SafeWriter:
    """The project's CSV writer (spreadsheet-safe; see the module docstring)."""
    return _SafeWriter(fh)


def infer_format(path: str | Path | None, fmt: str | None, default: str = "jsonl") -> str:
    if fmt:
        fmt = fmt.lower()
    elif path is not None:
        suffix = Path(path).suffix.lower().lstrip(".")
        fmt = {"parquet": "parquet", "pq": "parquet", "csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl",
               "json": "jsonl"}.get(suffix, default)
    else:
        fmt = default
    if fmt not in TABLE_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(TABLE_FORMATS)}, not '{fmt}'")
    return fmt


def write_records(records: Sequence[dict[str, Any]], path: str | Path, fmt: str,
                  columns: Sequence[str] | None = None) -> None:
    """Write records to ``path`` in ``fmt``. ``columns`` fixes the column order (and the CSV header)."""
    records = [_jsonable(r) for r in records]
    if columns is None:
        columns = list(dict.fromkeys(k for r in records for k in r))
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UsageError(f"{path}: output directory does not exist")
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for r in records:
                fh.write(json.dumps({c: r.get(c) for c in columns}, ensure_ascii=False, sort_keys=False))
                fh.write("\n")
    elif fmt == "csv":
        path.write_text(records_to_csv(records, columns), encoding="utf-8")
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(records_to_arrow(records, columns), path)
    else:  # pragma: no cover - guarded by infer_format
        raise UsageError(f"unknown format {fmt}")


def records_to_arrow(records: Sequence[dict[str, Any]], columns: Sequence[str]):
    """An Arrow table with native nested types where a column's values share one type. A free-form column
    whose values cannot share an Arrow type (e.g. finding statistics) is stored as JSON text and named in the
    schema metadata key ``organwatch.json_columns``."""
    import pyarrow as pa

    arrays, json_cols = {}, []
    for c in columns:
        vals = [r.get(c) for r in records]
        try:
            arrays[c] = pa.array(vals) if vals else pa.array([], pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            arrays[c] = pa.array([None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True)
                                  for v in vals], pa.string())
            json_cols.append(c)
    table = pa.table(arrays)
    return table.replace_schema_metadata({"organwatch.json_columns": json.dumps(json_cols)})


def records_to_csv(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv_writer(buf)
    w.writerow(columns)
    for r in records:
        w.writerow([r.get(c) for c in columns])
    return buf.getvalue()
