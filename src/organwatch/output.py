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
