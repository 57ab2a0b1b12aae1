"""organwatch screen / evaluate CLI, report section, and the Dask engine on a real LocalCluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from organwatch.buildinfo import compiled_modules
from organwatch.report.sections import ReportContext
from organwatch.screen import report_section
from organwatch.screen.documents import Document
from organwatch.screen.engine import ScreenOptions, run_dask, run_local

DATA = Path(__file__).parent / "data" / "screen"


def _ow(*args):
    return subprocess.run([sys.executable, "-m", "organwatch", *map(str, args)], capture_output=True, text=True)


def _corpus(tmp_path: Path) -> Path:
    f = tmp_path / "c.jsonl"
    items = [json.loads(x) for x in (DATA / "labelled_heldout.jsonl").read_text("utf-8").splitlines()]
    with open(f, "w", encoding="utf-8") as fh:
        for it in items:
            fh.write(json.dumps({"id": it["id"], "text": it["text"], "year": 2005}, ensure_ascii=False) + "\n")
        fh.write("{broken\n")
    return f


def test_screen_cli_formats_summary_and_report_section(tmp_path):
    f = _corpus(tmp_path)
    r = _ow("screen", f, "--out", tmp_path / "r.parquet", "--workers", "1", "--json", "--summary", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "s.json").read_text("utf-8"))
    n = len((DATA / "labelled_heldout.jsonl").read_text("utf-8").splitlines())
    assert summary["documents_read"] == n and summary["records_failed"] == 1
    assert summary["files"][0]["seen"] == n + 1 and summary["files"][0]["format"] == "jsonl"
    assert f"{n} documents read from 1 files (jsonl 1), 1 records failed" in r.stderr
    assert all(line.startswith("organwatch:") for line in r.stderr.splitlines())
    printed = [json.loads(x) for x in r.stdout.splitlines()]  # --json: the records as JSON Lines, nothing else
    rows = pq.read_table(tmp_path / "r.parquet").to_pylist()
    assert len(rows) == n + 1 == len(printed)
    assert [p["document_id"] for p in printed] == [x["document_id"] for x in rows]
    assert "c.jsonl, record" in rows[-1]["errors"][0]  # messages name files by base name
    meta = json.loads(pq.read_schema(tmp_path / "r.parquet").metadata[b"organwatch"])["provenance"]
    from organwatch.findings import sha256_file

    assert meta["inputs"] == [{"name": "c.jsonl", "sha256": sha256_file(f), "format": "jsonl"}]
    assert meta["parameters"]["rules_sha256"] and summary["inputs"] == meta["inputs"]
    flagged = [x for x in rows if x["document_label"] == "violation"]
    assert flagged and all(x["patterns"] for x in flagged)
    p = flagged[0]["passages"][0]
    assert {"label", "pattern", "events", "spans", "confidence", "start", "end", "text"} <= set(p)
    for fmt in ("jsonl", "csv"):
        r2 = _ow("screen", f, "--out", tmp_path / f"r.{fmt}", "--workers", "2", "--backend", "re2")
        assert r2.returncode == 0, r2.stderr
    j = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text("utf-8").splitlines()]
    assert [x["document_label"] for x in j] == [x["document_label"] for x in rows]
    for path in (tmp_path / "r.parquet", tmp_path / "r.jsonl", tmp_path / "r.csv"):
        assert report_section.accepts(path)
        sec = report_section.build_section(ReportContext(), [path])
        assert sec.items[0].finding.statistics["violation"] == len(flagged)
        if path.suffix == ".parquet":
            assert sec.items[0].finding.provenance.parameters["screen_runs"][str(path)]["inputs"] == meta["inputs"]
        assert "<svg" in str(sec.items[0].chart_svg)


def test_evaluate_cli(tmp_path):
    r = _ow("evaluate", DATA / "labelled_heldout.jsonl")
    assert r.returncode == 0 and "precision" in r.stdout and "confusion" in r.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "text": "x", "label": "maybe"}\n')
    r = _ow("evaluate", bad)
    assert r.returncode == 2 and "line 1" in r.stderr and "label" in r.stderr


def test_bad_options_exit_2(tmp_path):
    f = _corpus(tmp_path)
    r = _ow("screen", f, "--out", tmp_path / "o.parquet", "--rules", "no_such_pack")
    assert r.returncode == 2 and "no_such_pack" in r.stderr
    r = _ow("screen", f, "--engine", "dask", "--out", tmp_path / "o.parquet")
    assert r.returncode == 2 and "--scheduler" in r.stderr


def test_dask_local_cluster_identical_to_local_engine():
    from distributed import LocalCluster

    items = [json.loads(x) for x in (DATA / "labelled_dev.jsonl").read_text("utf-8").splitlines()]
    docs = [Document(it["id"], "dev", i + 1, it["text"]) for i, it in enumerate(items)]
    chunks = [docs[i:i + 40] for i in range(0, len(docs), 40)]
    local: list = []
    run_local(chunks, ScreenOptions(), 1, local.extend)
    remote: list = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1")
        run_dask(chunks, ScreenOptions(), cluster.scheduler_address, remote.extend)
    assert remote == local and len(local) == len(docs)


def test_cli_dask_engine_identical_output(tmp_path):
    """The same job through the CLI on a real LocalCluster over loopback gives byte-identical output."""
    from distributed import LocalCluster

    f = _corpus(tmp_path)
    f2 = tmp_path / "more.jsonl"
    f2.write_text((DATA / "labelled_dev.jsonl").read_text("utf-8"), encoding="utf-8")
    local = _ow("screen", f, f2, f, "--out", tmp_path / "local.jsonl", "--workers", "2")
    assert local.returncode == 0, local.stderr
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        r = _ow("screen", f, f2, f, "--out", tmp_path / "dask.jsonl", "--engine", "dask", "--scheduler",
                cluster.scheduler_address)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "dask.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    one = _ow("screen", f, f2, f, "--out", tmp_path / "one.jsonl", "--workers", "1")
    assert one.returncode == 0, one.stderr
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()


def test_report_section_escapes_html_from_documents(tmp_path):
    f = tmp_path / "h.jsonl"
    f.write_text(json.dumps({"id": "x<1>", "title": "<script>alert(1)</script>供心获取",
                             "text": "供者确认脑死亡后，立即行气管插管<img src=x onerror=alert(1)>，随后正中切口开胸。",
                             "year": 2004}, ensure_ascii=False) + "\n", encoding="utf-8")
    r = _ow("screen", f, "--out", tmp_path / "h.parquet", "--workers", "1")
    assert r.returncode == 0, r.stderr
    sec = report_section.build_section(ReportContext(), [tmp_path / "h.parquet"])
    html = str(sec.items[0].table_html)
    assert "&lt;script&gt;" in html and "<script>" not in html and "<img" not in html and ">2004<" in html


@pytest.mark.skipif("organwatch.screen.engine" in compiled_modules(),
                    reason="compiled build: a compiled module calls its functions directly, so a monkeypatched "
                           "ethics_fields is never called")
def test_a_record_that_breaks_screening_is_isolated(monkeypatch):
    from organwatch.screen import engine
    from organwatch.screen.engine import DocChunk, run_task

    real = engine.ethics_fields

    def boom(norm, events, year, **kw):
        if "TRIGGER" in norm.upper():
            raise ValueError("synthetic failure")
        return real(norm, events, year, **kw)

    monkeypatch.setattr(engine, "ethics_fields", boom)
    docs = [Document("a", "f", 1, "供者确认脑死亡后立即气管插管。"), Document("b", "f", 2, "trigger: the donor was intubated after brain death."),
            Document("c", "f", 3, "The donor was intubated after brain death.")]
    recs = run_task(DocChunk(docs), ScreenOptions())
    assert [r["document_id"] for r in recs] == ["a", "f#2", "c"]
    assert recs[1]["ethics"] is None and "synthetic failure" in recs[1]["errors"][0]
    assert recs[0]["document_label"] == "violation" and recs[2]["document_label"] == "violation"


def test_jsonl_ranges_cover_the_file_exactly(tmp_path):
    from organwatch.screen.engine import jsonl_ranges

    f = tmp_path / "r.jsonl"
    lines = [json.dumps({"id": str(i), "text": "x" * (i * 37 % 300)}) for i in range(500)]
    lines.insert(100, json.dumps({"id": "long", "text": "y" * 5000}))
    f.write_text("\n".join(lines), encoding="utf-8")  # no final newline
    for block in (64, 1000, 1 << 20):
        tasks = list(jsonl_ranges(str(f), block=block))
        data = f.read_bytes()
        assert tasks[0].start == 0 and tasks[-1].end == len(data)
        assert all(a.end == b.start for a, b in zip(tasks, tasks[1:], strict=False))
        for t in tasks:
            assert data[:t.start].count(b"\n") + 1 == t.first_line
            assert t.end == len(data) or data[t.end - 1:t.end] == b"\n"
