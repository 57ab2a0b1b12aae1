"""``organwatch screen`` and ``organwatch evaluate``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from organwatch import __version__
from organwatch.clikit import csv_raw_option, format_option, json_option, out_option, quiet_option, say, warn
from organwatch.errors import UsageError, display_name, nothing_read
from organwatch.output import infer_format
from organwatch.screen.readers import FORMATS


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_option(default=Path("screen-results.parquet"), help="Result table, one record per document; always written.")
@format_option(default="parquet")
@click.option("--summary", "summary_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the run summary (files, formats, counts, sha256, rule pack) as JSON to this file; "
                   "review new --screen-summary reads it.")
@click.option("--rules", default="ddr_default", show_default=True, help="Rule pack name or path to a TOML pack.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local = process pool on this machine; dask = the same tasks on a Dask cluster.")
@click.option("--scheduler", default=None, help="Dask scheduler address (with --engine dask).")
@click.option("--workers", type=int, default=None, help="Local worker processes (default: CPU count).")
@click.option("--backend", type=click.Choice(["hyperscan", "re2"]), default="hyperscan", show_default=True,
              help="Matching backend (identical hits; re2 is the fallback).")
@click.option("--input-format", "input_format", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Reader for every input (auto = detected from each file's content).")
@click.option("--text-columns", default=None,
              help="CSV/TSV/JSONL: screen only these comma-separated columns (default: every text column).")
@click.option("--include-text", is_flag=True, help="Store each document's full screened text in the record.")
@click.option("--chunk-docs", type=int, default=2000, show_default=True, help="Documents per work chunk.")
@click.option("--no-prefilter", is_flag=True,  # issue 14 (prefilter.py): identical records, only slower
              help="Screen every document fully, without the raw-byte prefilter (same records, slower).")
@json_option("lines", "the document records")
@quiet_option
@csv_raw_option
def screen(inputs: tuple[Path, ...], out: Path, fmt: str | None, summary_path: Path | None, rules: str, engine: str,
           scheduler: str | None, workers: int | None, backend: str, input_format: str, text_columns: str | None,
           include_text: bool, chunk_docs: int, as_json: bool, no_prefilter: bool = False) -> None:
    """Screen literature for dead-donor-rule and ethics-reporting red flags.

    Reads PubMed/MEDLINE XML (current and legacy, .xml/.xml.gz), PMC JATS (.nxml), EndNote XML, MEDLINE text
    (.nbib), RIS, Web of Science, OVID, Refer/EndNote tagged, RefWorks, NoteExpress and CNKI exports, CSV/TSV/JSONL,
    plain text and PDF, files or directories; the format of each file is detected from its content. Writes one
    record per document: document_label (violation / suspicious / compliant / not_applicable), patterns (V1-V6),
    passages with ordered events and evidence spans into the original text, and the ethics-reporting fields.
    The run summary (per file: format, sha256, records seen = read + failed) goes to stderr and, with --summary,
    to a JSON file. With --json the document records are printed as JSON Lines on stdout. A run that reads no
    document exits with status 2.

    \b
    Example:
      organwatch screen pubmed/ --out hits.parquet --summary screen-run.json
      organwatch screen export.ris cnki.txt --format jsonl --out hits.jsonl
      organwatch screen corpus.jsonl --engine dask --scheduler tcp://127.0.0.1:8786
    """
    from organwatch.screen.rulepack import load_pack

    fmt = infer_format(out, fmt, default="parquet")
    _check_options(inputs, out, engine, scheduler, chunk_docs, summary_path)
    if text_columns is not None:
        os.environ["ORGANWATCH_SCREEN_TEXT_COLUMNS"] = text_columns  # read by the CSV/JSONL readers (workers too)
    pack = load_pack(rules)  # bad --rules fails here, before reading anything
    run = _Run(inputs, out, fmt, rules, pack, engine, scheduler, workers, backend, input_format, include_text,
               chunk_docs, as_json)
    if no_prefilter:  # issue 14: the same records without the raw-byte prefilter
        from dataclasses import replace

        run.opts = replace(run.opts, prefilter=False)
    summary = run.execute()
    _report(summary, run)
    if summary_path is not None:
        summary_path.write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if summary["documents_read"] == 0:
        from organwatch.screen.readers import SUPPORTED

        raise nothing_read("documents", len(summary["files"]), SUPPORTED)


def _check_options(inputs: tuple[Path, ...], out: Path, engine: str, scheduler: str | None, chunk_docs: int,
                   summary_path: Path | None) -> None:
    if engine == "dask" and not scheduler:
        raise UsageError("--engine dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    if chunk_docs < 1:
        raise UsageError("--chunk-docs must be at least 1")
    for target in (out, summary_path):
        if target is not None and target.parent and not target.parent.exists():
            raise UsageError(f"{target.name}: output directory does not exist")
    for p in inputs:
        if not p.exists():
            raise UsageError(f"{display_name(p)}: no such file or directory")


class _Run:
    """One screening run: readers -> tasks -> workers -> sink (and stdout with --json); per-file reports."""

    def __init__(self, inputs, out, fmt, rules, pack, engine, scheduler, workers, backend, input_format,
                 include_text, chunk_docs, as_json) -> None:
        from organwatch.screen.engine import ScreenOptions

        self.inputs, self.out, self.fmt, self.rules, self.pack = inputs, out, fmt, rules, pack
        self.engine, self.scheduler, self.backend, self.input_format = engine, scheduler, backend, input_format
        self.chunk_docs, self.as_json, self.include_text = chunk_docs, as_json, include_text
        self.opts = ScreenOptions(rules=rules, backend=backend, include_text=include_text)
        self.n_workers = workers if workers is not None else (os.cpu_count() or 1)
        self.errors: list[str] = []
        self.counts = {"violation": 0, "suspicious": 0, "compliant": 0, "not_applicable": 0}
        self.reports: list = []
        # workers serialise natively for Parquet/JSONL; CSV and --json go through JSON lines decoded here, so
        # that the CSV writer (and --csv-raw) and stdout are handled in this process
        self.worker_fmt = "jsonl" if (as_json or fmt == "csv") else fmt

    def _on_chunk(self, sink, res) -> None:
        for k, v in res.labels.items():
            self.counts[k] = self.counts.get(k, 0) + v
        self.errors.extend(res.errors)
        if self.worker_fmt == self.fmt:
            sink.write_payload(res.payload, res.n)
        else:
            sink.write([json.loads(x) for x in res.payload.splitlines() if x])
        if self.as_json and res.payload:
            sys.stdout.write(res.payload)
            sys.stdout.flush()

    def execute(self) -> dict:
        from organwatch.screen.engine import chunked, run_dask, run_local, run_task_serialised
        from organwatch.screen.readers import iter_documents
        from organwatch.screen.sink import RecordSink

        t0 = time.perf_counter()
        with RecordSink(self.out, self.fmt, self.include_text) as sink:
            docs = iter_documents(self.inputs, self.input_format, pdf_workers=max(1, self.n_workers),
                                  jsonl_ranges=True, reports=self.reports)
            chunks = chunked(docs, self.chunk_docs, 16 << 20)
            on_chunk = lambda res: self._on_chunk(sink, res)  # noqa: E731 - a closure over the sink
            if self.engine == "dask":
                run_dask(chunks, self.opts, self.scheduler, on_chunk, fn=run_task_serialised,
                         extra=(self.worker_fmt,))
            else:
                run_local(chunks, self.opts, self.n_workers, on_chunk, fn=run_task_serialised,
                          extra=(self.worker_fmt,))
            _fill_range_reports(self.reports, self.errors)
            sink.set_metadata({"provenance": self.provenance()})
        return self.summary(time.perf_counter() - t0)

    def inputs_read(self) -> list[dict]:
        return [{"name": r.name, "sha256": r.sha256, "format": r.format} for r in self.reports if r.sha256]

    def provenance(self) -> dict:
        return {"inputs": self.inputs_read(),
                "parameters": {"rules": self.rules, "rules_sha256": self.pack.sha256,
                               "rules_version": self.pack.version, "backend": self.backend,
                               "input_format": self.input_format},
                "version": __version__, "seed": None}

    def summary(self, elapsed: float) -> dict:
        files = [r.to_dict() for r in self.reports]
        formats: dict[str, int] = {}
        for r in self.reports:
            formats[r.format] = formats.get(r.format, 0) + 1
        return {
            "documents_read": sum(self.counts.values()),
            "records_seen": sum(r.seen for r in self.reports),
            "records_failed": sum(r.failed for r in self.reports),
            "file_errors": sum(len(r.errors) for r in self.reports),
            "files": files,
            "formats": formats,
            "notes": [f"{r.name}: {n}" for r in self.reports for n in r.notes],
            "labels": self.counts,
            "out": str(self.out),
            "format": self.fmt,
            "rules": {"name": self.pack.name, "version": self.pack.version, "sha256": self.pack.sha256},
            "backend": self.backend,
            "engine": self.engine,
            "seconds": round(elapsed, 3),
            "organwatch_version": __version__,
            "inputs": self.inputs_read(),
        }


def _fill_range_reports(reports: list, errors: list[str]) -> None:
    """JSONL files read by the workers in byte ranges: failed = their error records, read = seen - failed."""
    for r in reports:
        if r.read != -1:
            continue
        r.failed = sum(1 for e in errors if e.startswith((r.name + ", record", r.name + ", line")))
        r.read = r.seen - r.failed
        if r.read == 0:
            r.errors.append(f"nothing readable in this JSON Lines file ({r.seen} records seen)")


def _report(summary: dict, run: _Run) -> None:
    """The run summary on stderr: one line per file, notes, failures, totals."""
    for f in summary["files"]:
        say(f"{f['name']}: {f['format_name']}, {f['seen']} records seen, {f['read']} read, {f['failed']} failed")
        for n in f["notes"]:
            say(f"{f['name']}: note: {n}")
        for e in f["errors"]:
            warn(f"{f['name']}: {e}")
    shown = {f"{f['name']}: {e}" for f in summary["files"] for e in f["errors"]}
    records = [e for e in run.errors if " ".join(e.split()) not in shown]
    for e in records[:20]:
        warn(f"skipped: {e}")
    if len(records) > 20:
        warn(f"... and {len(records) - 20} more failed records (see the errors column)")
    c = summary["labels"]
    say(f"{summary['documents_read']} documents read from {len(summary['files'])} files "
        f"({', '.join(f'{k} {v}' for k, v in sorted(summary['formats'].items()))}), "
        f"{summary['records_failed']} records failed; violation {c['violation']}, suspicious {c['suspicious']}, "
        f"compliant {c['compliant']}, not applicable {c['not_applicable']}; wrote {run.out.name} ({run.fmt}) "
        f"in {summary['seconds']:.1f} s")


@click.command()
@click.argument("labelled", type=click.Path(path_type=Path))
@click.option("--rules", default="ddr_default", show_default=True, help="Rule pack name or path.")
@click.option("--backend", type=click.Choice(["hyperscan", "re2"]), default="hyperscan", show_default=True)
@json_option("document", "the scores")
@quiet_option
def evaluate(labelled: Path, rules: str, backend: str, as_json: bool) -> None:
    """Score the screener against a labelled set (JSONL: id, text, language, label, optional pattern).

    Prints precision, recall and F1 per label and per pattern code, and the label confusion matrix.

    \b
    Example:
      organwatch evaluate tests/data/screen/labelled_heldout.jsonl
      organwatch evaluate my_labels.jsonl --json > scores.json
    """
    from organwatch.screen.evaluate import evaluate_file, render_text

    result = evaluate_file(labelled, rules=rules, backend=backend)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        click.echo(render_text(result))
    sys.stdout.flush()
