"""Count series: reading user files (CSV/Parquet) with strict validation, and the embedded Chinese series.

A user file has columns ``entity, period, measure, value[, source]``; one series per (entity, measure).
Every problem is reported as one :class:`InputError` naming the file, row and column.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from organwatch.errors import InputError
from organwatch.findings import InputRef, sha256_file

REQUIRED = ("entity", "period", "measure", "value")
OPTIONAL = ("source",)
MAX_BYTES = 2 * 1024**3  # 2 GiB: larger inputs are refused outright (a count series is never that big)


@dataclass
class Series:
    entity: str
    measure: str
    periods: np.ndarray  # float (years or other numeric periods)
    values: np.ndarray  # float
    sources: list[str] = field(default_factory=list)  # per point (URL or label), may be empty strings
    label: str = ""  # human description, e.g. "China deceased donors (headline)"
    input: InputRef | None = None
    variant: str = ""  # which source choice produced it (for embedded multi-source series)
    rows: list[int] = field(default_factory=list)  # source row numbers (1-based data rows) per point

    @property
    def name(self) -> str:
        return self.label or f"{self.entity} {self.measure}"

    def years_text(self) -> str:
        return years_text(self.periods)


def years_text(periods) -> str:
    """2010, 2015–2018 style compact text for a set of integer periods."""
    ps = sorted(int(p) for p in periods)
    out = []
    for _, grp in itertools.groupby(enumerate(ps), key=lambda iv: iv[1] - iv[0]):
        g = [v for _, v in grp]
        out.append(str(g[0]) if len(g) == 1 else f"{g[0]}–{g[-1]}")
    return ", ".join(out)


# ----------------------------------------------------------------------------------------------------------
# user files


def read_series_file(path: str | Path, encoding: str = "utf-8") -> list[Series]:
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", file=path)
    if path.is_dir():
        raise InputError("is a directory, expected a CSV or Parquet file", file=path)
    size = path.stat().st_size
    if size == 0:
        raise InputError("empty file (expected a header: entity, period, measure, value[, source])", file=path)
    if size > MAX_BYTES:
        raise InputError(f"file is {size:,} bytes, over the {MAX_BYTES:,} byte limit for a count series", file=path)
    with open(path, "rb") as fh:
        head = fh.read(4)
    rows = _parquet_rows(path) if head == b"PAR1" else _csv_rows(path, encoding, size)
    ref = InputRef(name=str(path), sha256=sha256_file(path))
    return _rows_to_series(path, rows, ref)


def _decode_checked(path: Path, encoding: str) -> str:
    """The file as text, decoded incrementally so that a huge binary file fails in its first chunk, with the
    header checked as soon as the first line is complete."""
    dec = codecs.getincrementaldecoder(_check_encoding(path, encoding))(errors="strict")
    chunks: list[str] = []
    offset = 0
    lines_before = 0
    with open(path, "rb") as fh:
        while True:
            b = fh.read(1 << 20)
            final = not b
            try:
                s = dec.decode(b, final=final)
            except UnicodeDecodeError as e:
                raise _decode_error(path, encoding, e, b, offset, lines_before) from None
            if "\x00" in s:
                line = lines_before + s.count("\n", 0, s.index("\x00")) + 1
                raise InputError("binary data (NUL byte): not a CSV text file", file=path, line=line)
            chunks.append(s)
            if len(chunks) == 1:  # validate the header from the first chunk: fail fast on huge junk files
                first = s.lstrip("\ufeff").split("\n", 1)[0]
                if "\n" in s or final:
                    try:
                        hdr = next(csv.reader([first], delimiter=max(",;\t", key=first.count)))
                    except (csv.Error, StopIteration):
                        hdr = []
                    _check_header(path, [h.strip().lower() for h in hdr])
            lines_before += b.count(b"\n")
            offset += len(b)
            if final:
                break
    return "".join(chunks)


def _decode_error(path: Path, encoding: str, e: UnicodeDecodeError, chunk: bytes, offset: int,
                  lines_before: int) -> InputError:
    line = lines_before + chunk.count(b"\n", 0, max(e.start, 0)) + 1
    utf8 = encoding.lower().replace("-", "") in ("utf8", "utf_8")
    hint = "; pass --encoding (e.g. gb18030, big5, latin-1)" if utf8 else ""
    return InputError(f"not valid {encoding} text near byte {offset + max(e.start, 0)}{hint}", file=path, line=line)


def _csv_rows(path: Path, encoding: str, size: int):
    text = _decode_checked(path, encoding)
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputError("empty file (expected a header: entity, period, measure, value[, source])", file=path)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        delim = dialect.delimiter
    except csv.Error:
        delim = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        raise InputError(f"malformed CSV header: {e}", file=path, line=1) from None
    header = [h.strip().lower() for h in header]
    _check_header(path, header)
    idx = {h: header.index(h) for h in (*REQUIRED, *OPTIONAL) if h in header}
    out = []
    try:
        for i, rec in enumerate(reader, start=1):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) != len(header):
                raise InputError(
                    f"has {len(rec)} fields, the header has {len(header)}", file=path, row=i, line=reader.line_num
                )
            out.append((i, {k: rec[j].strip() for k, j in idx.items()}))
    except csv.Error as e:
        raise InputError(f"malformed CSV: {e}", file=path, line=reader.line_num) from None
    if not out:
        raise InputError("no data rows after the header", file=path)
    return out


def _check_encoding(path: Path, encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", file=path) from None


def _parquet_rows(path: Path):
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for corrupt files
        raise InputError(f"unreadable Parquet file: {' '.join(str(e).split())[:200]}", file=path) from None
    header = [c.strip().lower() for c in table.column_names]
    _check_header(path, header)
    if table.num_rows == 0:
        raise InputError("no data rows", file=path)
    cols = {
        h: table.column(table.column_names[header.index(h)]).to_pylist() for h in (*REQUIRED, *OPTIONAL) if h in header
    }
    return [(i + 1, {k: ("" if v[i] is None else str(v[i])) for k, v in cols.items()}) for i in range(table.num_rows)]


def _check_header(path: Path, header: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        got = ", ".join(h for h in header if h) or "nothing"
        raise InputError(
            f"missing required column(s) {', '.join(missing)} (found: {got[:200]}); expected "
            "entity, period, measure, value[, source]",
            file=path,
            column=missing[0],
        )
    dup = [h for h in set(header) if h and header.count(h) > 1]
    if dup:
        raise InputError(f"duplicate column '{dup[0]}'", file=path, column=dup[0])


def _number(path: Path, row: int, col: str, s: str) -> float:
    t = s.replace("\u00a0", "").replace(" ", "")
    if t == "":
        raise InputError("empty value", file=path, row=row, column=col)
    try:
        v = float(t)
    except ValueError:
        raise InputError(f"not a number: {s[:40]!r}", file=path, row=row, column=col) from None
    if not math.isfinite(v):
        raise InputError(f"not a finite number: {s[:40]!r}", file=path, row=row, column=col)
    return v


def _rows_to_series(path: Path, rows, ref: InputRef) -> list[Series]:
    groups: dict[tuple[str, str], list] = {}
    for i, r in rows:
        ent, meas = r["entity"], r["measure"]
        if not ent:
            raise InputError("empty entity", file=path, row=i, column="entity")
        if not meas:
            raise InputError("empty measure", file=path, row=i, column="measure")
        period = _number(path, i, "period", r["period"])
        value = _number(path, i, "value", r["value"])
        if value < 0:
            raise InputError(f"negative count {r['value']!r}", file=path, row=i, column="value")
        groups.setdefault((ent, meas), []).append((period, value, r.get("source", ""), i))
    out = []
    for (ent, meas), pts in groups.items():
        seen: dict[float, int] = {}
        for p, _, _, i in pts:
            if p in seen:
                raise InputError(
                    f"duplicate period {p:g} for entity '{ent}', measure '{meas}' (first at row {seen[p]})",
                    file=path,
                    row=i,
                    column="period",
                )
            seen[p] = i
        pts.sort()
        out.append(
            Series(
                entity=ent,
                measure=meas,
                periods=np.array([p[0] for p in pts]),
                values=np.array([p[1] for p in pts]),
                sources=[p[2] for p in pts],
                input=ref,
                rows=[p[3] for p in pts],
            )
        )
    return out
