"""Bad input to `organwatch stats`: one line naming file (row, column), exit 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "organwatch", "stats", *args, "--simulations", "200"],
                          capture_output=True, timeout=timeout)


def assert_one_line_error(p, *needles):
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert p.stdout == b""


GOOD = "entity,period,measure,value\n" + "".join(f"X,{2000 + i},donors,{10 + i * i}\n" for i in range(8))


def write(tmp_path, text, name="s.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return p


def test_good_file_works(tmp_path):
    p = run(str(write(tmp_path, GOOD)), "--json")
    assert p.returncode == 0, p.stderr
    assert b'"stats.formula_conformance.quadratic"' in p.stdout


@pytest.mark.parametrize("header,needle", [("entity,period,measure", "value"), ("entity,year,measure,value", "period"),
                                           ("country,period,measure,value", "entity")])
def test_missing_or_misnamed_column(tmp_path, header, needle):
    f = write(tmp_path, header + "\nX,2000,d,1\n")
    assert_one_line_error(run(str(f)), str(f), f"column '{needle}'")


def test_non_numeric_value(tmp_path):
    f = write(tmp_path, GOOD + "X,2010,donors,12a\n")
    assert_one_line_error(run(str(f)), str(f), "row 9", "column 'value'", "12a")


def test_non_numeric_period(tmp_path):
    f = write(tmp_path, GOOD.replace("X,2003,", "X,two thousand three,"))
    assert_one_line_error(run(str(f)), str(f), "row 4", "column 'period'")


def test_duplicate_period(tmp_path):
    f = write(tmp_path, GOOD + "X,2003,donors,55\n")
    assert_one_line_error(run(str(f)), str(f), "row 9", "column 'period'", "duplicate period 2003")


def test_empty_file(tmp_path):
    f = write(tmp_path, "")
    assert_one_line_error(run(str(f)), str(f), "empty")


def test_header_only(tmp_path):
    f = write(tmp_path, "entity,period,measure,value\n")
    assert_one_line_error(run(str(f)), str(f), "no data rows")


def test_non_utf8_needs_encoding(tmp_path):
    text = GOOD.replace("X,", "中国,")
    f = write(tmp_path, text, encoding="gb18030")
    assert_one_line_error(run(str(f)), str(f), "line 2", "--encoding")
    ok = run(str(f), "--encoding", "gb18030", "--json")
    assert ok.returncode == 0, ok.stderr
    assert "中国".encode() in ok.stdout


def test_missing_file(tmp_path):
    assert_one_line_error(run(str(tmp_path / "nope.csv")), "nope.csv")


def test_bad_option_value(tmp_path):
    assert_one_line_error(run(str(write(tmp_path, GOOD)), "--window", "later"), "--window")


def test_corrupt_parquet(tmp_path):
    f = write(tmp_path, b"PAR1" + os.urandom(2000) + b"PAR1", name="x.parquet")
    assert_one_line_error(run(str(f)), str(f), "Parquet")


def test_parquet_input_works(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    f = tmp_path / "s.parquet"
    pq.write_table(pa.table({"entity": ["X"] * 6, "period": list(range(2000, 2006)), "measure": ["d"] * 6,
                             "value": [1, 4, 9, 16, 25, 37]}), f)
    p = run(str(f), "--json")
    assert p.returncode == 0, p.stderr


def test_one_gigabyte_of_random_bytes(tmp_path):
    f = tmp_path / "junk.csv"
    chunk = os.urandom(1 << 20)
    with open(f, "wb") as fh:  # 1 GiB of random bytes (a repeated random MiB keeps the test fast to write)
        for i in range(1024):
            fh.write(chunk[i % 7:] + chunk[: i % 7])
    p = run(str(f), timeout=60)  # subprocess timeout: a hang guard, not a timing assertion
    assert_one_line_error(p, str(f))


def test_window_that_selects_no_data_names_window_and_available_years():
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "organwatch", "stats", "--window", "1990-1995"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 2 and p.stdout == ""
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "1990-1995" in lines[0] and "2000–2017, 2020–2024" in lines[0]
