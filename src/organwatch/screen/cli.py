"""``organwatch screen`` and ``organwatch evaluate``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from organwatch import __version__
from organwatch.errors import UsageError
from organwatch.output import infer_format
from organwatch.screen.readers import FORMATS


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=Path("screen-results.parquet"),
              show_default=True, help="Result table (one record per document).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "jsonl", "csv"]), default=None,
              help="Table format (default from --out suffix, else parquet).")
@click.option("--rules", default="ddr_default", show_default=True, help="Rule pack name or path to a TOML pack.")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local = process pool on this machine; dask = the same tasks on a Dask cluster.")
@click.option("--scheduler", default=None, help="Dask scheduler address (with --engine dask).")
@click.option("--workers", type=int, default=None, help="Local worker processes (default: CPU count).")
@click.option("--backend", type=click.Choice(["hyperscan", "re2"]), default="hyperscan", show_default=True,
              help="Matching backend (identical hits; re2 is the fallback).")
@click.option("--input-format", "input_format", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Reader for every input (auto = detected from content and extension).")
@click.option("--include-text", is_flag=True, help="Store each document's full screened text in the record.")
@click.option("--chunk-docs", type=int, default=2000, show_default=True, help="Documents per work chunk.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
def screen(inputs: tuple[Path, ...], out: Path, fmt: str | None, rules: str, engine: str, scheduler: str | None,
           workers: int | None, backend: str, input_format: str, include_text: bool, chunk_docs: int,
           as_json: bool) -> None:
    """Screen literature for dead-donor-rule and ethics-reporting red flags.

    Reads MEDLINE XML (.xml, .xml.gz, directories), RIS, EndNote tagged, CNKI/NoteExpress exports,
    CSV/TSV/JSONL, plain text and PDF, and writes one record per document: document_label
    (violation / suspicious / compliant / not_applicable), patterns (V1-V6), passages with ordered
    events and evidence spans into the original text, and the ethics-reporting fields.

    \b
    Example:
      organwatch screen pubmed/ --out hits.parquet
      organwatch screen export.ris cnki.txt --format jsonl --out hits.jsonl
      organwatch screen corpus.jsonl --engine dask --scheduler tcp://127.0.0.1:8786
    """
    from organwatch.findings import sha256_file
    from organwatch.screen.engine import ScreenOptions, chunked, run_dask, run_local, run_task_serialised
    from organwatch.screen.readers import iter_documents
    from organwatch.screen.rulepack import load_pack

    fmt = infer_format(out, fmt, default="parquet")
    if engine == "dask" and not scheduler:
        raise UsageError("--engine dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    if chunk_docs < 1:
        raise UsageError("--chunk-docs must be at least 1")
    if out.parent and not out.parent.exists():
        raise UsageError(f"{out}: output directory does not exist")
    for p in inputs:
        if not p.exists():
            raise UsageError(f"{p}: no such file or directory")
    pack = load_pack(rules)  # bad --rules fails here, before reading anything
    opts = ScreenOptions(rules=rules, backend=backend, include_text=include_text)
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    con = Console(stderr=True, soft_wrap=True)
    errors: list[str] = []
    counts = {"violation": 0, "suspicious": 0, "compliant": 0, "not_applicable": 0}
    t0 = time.perf_counter()
    # input hashes are computed in a thread while the screening runs (hashlib releases the GIL)
    from concurrent.futures import ThreadPoolExecutor

    from organwatch.screen.sink import RecordSink

    hasher = ThreadPoolExecutor(max_workers=1)
    hash_futures = [(p, hasher.submit(sha256_file, p)) for p in inputs if p.is_file()]
    with RecordSink(out, fmt, include_text) as sink, Progress(
            TextColumn("[bold]screen[/bold]"), BarColumn(), TextColumn("{task.completed} documents"),
            TimeElapsedColumn(), console=con, transient=not con.is_terminal, disable=not con.is_terminal) as progress:
        task = progress.add_task("screen", total=None)

        def on_chunk(res) -> None:
            for k, v in res.labels.items():
                counts[k] += v
            errors.extend(res.errors)
            sink.write_payload(res.payload, res.n)
            progress.advance(task, res.n)

        docs = iter_documents(inputs, input_format, pdf_workers=max(1, n_workers), jsonl_ranges=True)
        notes: list[str] = []
        chunks = chunked(docs, chunk_docs, 16 << 20, on_note=lambda n: notes.append(str(n)))
        if engine == "dask":
            run_dask(chunks, opts, scheduler, on_chunk, fn=run_task_serialised, extra=(fmt,))
        else:
            run_local(chunks, opts, n_workers, on_chunk, fn=run_task_serialised, extra=(fmt,))
        input_refs = [{"name": str(p), "sha256": f.result()} for p, f in hash_futures]
        hasher.shutdown()
        provenance = {"inputs": input_refs, "parameters": {"rules": rules, "rules_sha256": pack.sha256,
                                                           "rules_version": pack.version, "backend": backend,
                                                           "input_format": input_format},
                      "version": __version__, "seed": None}
        sink.set_metadata({"provenance": provenance})
    elapsed = time.perf_counter() - t0
    n_docs = sum(counts.values())
    summary = {
        "documents_read": n_docs,
        "records_failed": len(errors),
        "notes": notes,
        "labels": counts,
        "out": str(out),
        "format": fmt,
        "rules": {"name": pack.name, "version": pack.version, "sha256": pack.sha256},
        "backend": backend,
        "engine": engine,
        "seconds": round(elapsed, 3),
        "organwatch_version": __version__,
        "inputs": input_refs,
    }
    for note in notes[:20]:
        con.print(f"note: {note}", highlight=False, markup=False)
    for e in errors[:20]:
        con.print(f"skipped: {e}", highlight=False, markup=False)
    if len(errors) > 20:
        con.print(f"... and {len(errors) - 20} more failed records (see the errors column)")
    con.print(f"{n_docs} documents read, "
              f"{len(errors)} records failed; violation {counts['violation']}, suspicious {counts['suspicious']}, "
              f"compliant {counts['compliant']}, not applicable {counts['not_applicable']}; "
              f"wrote {out} ({fmt}) in {elapsed:.1f} s", highlight=False)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))


@click.command()
@click.argument("labelled", type=click.Path(path_type=Path))
@click.option("--rules", default="ddr_default", show_default=True, help="Rule pack name or path.")
@click.option("--backend", type=click.Choice(["hyperscan", "re2"]), default="hyperscan", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON on stdout.")
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
