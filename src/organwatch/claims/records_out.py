"""Writing claim-outcome records fast.

Outcome records are JSON-native already (strings, ints, bools, None, lists and dicts of those; dates are ISO
strings), so JSONL is written with one C-accelerated encoder call per record, skipping the generic
normalisation pass of :func:`organwatch.output.write_records` (which dominated large runs: ~9 s for 500k
records). The bytes are identical to ``write_records(..., "jsonl", columns)``; a test checks that. CSV and
Parquet go through the shared writer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from organwatch.output import write_records


def write_outcomes(records: Sequence[dict[str, Any]], path: Path, fmt: str, columns: Sequence[str]) -> None:
    if fmt != "jsonl":
        write_records(records, path, fmt, columns)
        return
    if path.parent and not path.parent.exists():
        write_records(records, path, fmt, columns)  # raises the shared one-line error
        return
    enc = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
    cols = list(columns)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        buf: list[str] = []
        for r in records:
            buf.append(enc({c: r.get(c) for c in cols}))
            if len(buf) >= 4096:
                fh.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            fh.write("\n".join(buf) + "\n")
