"""Writing result tables the same way for every engine: ``--out PATH --format jsonl|csv|parquet``.

Nested fields (lists, objects) are JSON strings in CSV and native types in JSONL/Parquet (cli.md).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable, Sequence

from organwatch.errors import UsageError
from organwatch.findings import _jsonable

TABLE_FORMATS = ("jsonl", "csv", "parquet")


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
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist([{c: r.get(c) for c in columns} for r in records]) if records else \
            pa.table({c: pa.array([], pa.string()) for c in columns})
        pq.write_table(table, path)
    else:  # pragma: no cover - guarded by infer_format
        raise UsageError(f"unknown format {fmt}")


def records_to_csv(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in records:
        row = []
        for c in columns:
            v = r.get(c)
            if isinstance(v, (list, dict)):
                v = json.dumps(v, ensure_ascii=False, sort_keys=True)
            elif v is None:
                v = ""
            row.append(v)
        w.writerow(row)
    return buf.getvalue()
