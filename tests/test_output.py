"""--out/--format writers: nested fields JSON in CSV, native in JSONL/Parquet (JSON text when types clash)."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest

from organwatch.errors import UsageError
from organwatch.output import infer_format, write_records

RECS = [{"id": "a", "n": 1, "tags": ["x", "中"], "obj": {"k": 1.5}},
        {"id": "b", "n": None, "tags": [], "obj": {"k": 2.0}}]


def test_formats(tmp_path):
    write_records(RECS, tmp_path / "r.jsonl", "jsonl")
    assert [json.loads(x) for x in (tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()] == RECS
    write_records(RECS, tmp_path / "r.csv", "csv")
    with open(tmp_path / "r.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert json.loads(rows[0]["tags"]) == ["x", "中"] and rows[1]["n"] == ""
    write_records(RECS, tmp_path / "r.parquet", "parquet")
    t = pq.read_table(tmp_path / "r.parquet")
    assert t.column("tags").to_pylist() == [["x", "中"], []]
    assert json.loads(t.schema.metadata[b"organwatch.json_columns"]) == []


def test_parquet_falls_back_to_json_for_mixed_types(tmp_path):
    recs = [{"s": {"v": 1.0}}, {"s": {"v": "text"}}]
    write_records(recs, tmp_path / "m.parquet", "parquet")
    t = pq.read_table(tmp_path / "m.parquet")
    assert json.loads(t.schema.metadata[b"organwatch.json_columns"]) == ["s"]
    assert [json.loads(v) for v in t.column("s").to_pylist()] == [{"v": 1.0}, {"v": "text"}]


def test_infer_format():
    assert infer_format("x.parquet", None) == "parquet"
    assert infer_format("x.CSV", None) == "csv"
    assert infer_format(None, None, default="csv") == "csv"
    with pytest.raises(UsageError):
        infer_format("x", "xlsx")


def test_csv_cells_are_spreadsheet_safe_and_cr_is_quoted():
    import csv as _csv
    import io as _io

    from organwatch.output import records_to_csv, set_csv_raw

    rows = [{"a": "=HYPERLINK(\"http://x\")", "b": "+1", "c": "-2", "d": "@SUM(A1)", "e": "\tx", "f": "a\rb"},
            {"a": "plain", "b": "1", "c": "", "d": None, "e": [1, 2], "f": "l1\nl2"}]
    text = records_to_csv(rows, list("abcdef"))
    back = list(_csv.reader(_io.StringIO(text, newline="")))
    assert len(back) == 3  # header + 2 rows: neither the CR nor the LF made an extra row
    assert back[1][:5] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx"]
    assert back[1][5] == "a\rb"
    assert back[2] == ["plain", "1", "", "", "[1, 2]", "l1\nl2"]
    set_csv_raw(True)
    try:
        assert list(_csv.reader(_io.StringIO(records_to_csv(rows[:1], ["a"]))))[1] == ["=HYPERLINK(\"http://x\")"]
    finally:
        set_csv_raw(False)
