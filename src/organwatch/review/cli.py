"""``organwatch review``: project files of screener hits, the browser workbench, and the decision ledger export."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from organwatch.clikit import (
    csv_raw_option,
    emit_json,
    emit_jsonl,
    format_option,
    json_option,
    out_option,
    quiet_option,
    say,
    warn,
)
from organwatch.errors import UsageError
from organwatch.output import infer_format, write_records


@click.group()
def review() -> None:
    """Review workbench: every screener hit gets a recorded human decision.

    \b
    Example:
      organwatch review new screen-results.parquet hits.owproj
      organwatch review serve hits.owproj            # http://127.0.0.1:8765
      organwatch review export hits.owproj --out decisions.csv
    """


@review.command("new")
@click.argument("args", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="RESULTS... PROJECT")
@click.option("--add", is_flag=True, help="Import into an existing PROJECT instead of creating it.")
@click.option("--screen-summary", "screen_summaries", multiple=True, type=click.Path(path_type=Path),
              help="Run summary of `organwatch screen --json` (rule pack version, parameters) to record in the "
                   "project manifest; repeatable.")
@click.option("--all-passages", is_flag=True, help="Make every passage a hit, not only those the screener flagged "
              "violation or suspicious.")
@json_option("document", "the import summary ({project, records, imported, ..., inputs: [...]})")
@quiet_option
def new(args: tuple[Path, ...], add: bool, screen_summaries: tuple[Path, ...], all_passages: bool,
        as_json: bool) -> None:
    """Create PROJECT (.owproj) from one or more RESULTS files of `organwatch screen` (JSONL or Parquet).

    Usage: organwatch review new RESULTS... PROJECT. Bad records are skipped, counted and kept in the
    project's import log; every other record is imported. Records are grouped (never deleted) as duplicates by
    DOI/PMID/CNKI id, else by a Unicode-aware title key. The project is written to a temporary file and renamed
    into place when the import is complete: an interrupted or refused import leaves no project behind.

    \b
    Example:
      organwatch review new screen-results.parquet more.jsonl hits.owproj
      organwatch review new --add later-results.jsonl hits.owproj
      organwatch screen corpus/ --out hits.parquet --json > screen-run.json
      organwatch review new hits.parquet hits.owproj --screen-summary screen-run.json
    """
    from organwatch.review.project import new_project

    if len(args) < 2:
        raise UsageError("give RESULTS... PROJECT (at least one results file and the project file)")
    *results, project = args
    if project.suffix.lower() != ".owproj":
        raise UsageError(f"{project}: the project file must end in .owproj (did you forget it?)")

    def progress(s) -> None:
        click.echo(f"\r  {s.file}: {s.records:,} records read", err=True, nl=False)

    _terminate_as_exit()
    summaries = new_project(list(results), project, add=add, progress=progress if sys.stderr.isatty() else None,
                            screen_summaries=list(screen_summaries), all_passages=all_passages)
    if sys.stderr.isatty():
        click.echo("", err=True)
    tot = {k: sum(getattr(s, k) for s in summaries) for k in ("records", "imported", "skipped", "failed", "hits")}
    for s in summaries:
        say(f"{s.file}: read {s.records:,} records, imported {s.imported:,} "
            f"({s.hits:,} hits), {s.skipped:,} already in the project, {s.failed:,} failed")
        for n, msg in s.errors[:10]:
            warn(f"{Path(s.file).name}, record {n}: {msg}")
        if s.failed > 10:
            warn(f"{Path(s.file).name}: … and {s.failed - 10:,} more failed records (all kept in the project's "
                 "import log)")
    say(f"{'updated' if add else 'created'} {project}: {tot['imported']:,} documents, "
        f"{tot['hits']:,} hits, {tot['failed']:,} failed records")
    if as_json:
        emit_json({"project": str(project), **tot, "inputs": [
            {"file": s.file, "sha256": s.sha256, "records": s.records, "imported": s.imported, "skipped": s.skipped,
             "failed": s.failed, "hits": s.hits, "errors": [{"record": n, "message": m} for n, m in s.errors],
             "errors_listed": len(s.errors)} for s in summaries]})


def _terminate_as_exit() -> None:
    """SIGTERM ends the command like Ctrl-C does: through the clean-up that removes a half-written project."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


@review.command()
@click.argument("project", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback requires --reviewer (per-reviewer tokens).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--reviewer", "reviewers", multiple=True,
              help="Reviewer to issue a token for (repeatable); tokens are printed once on stderr.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (SQLite WAL lets them share the project; use about one per core).")
def serve(project: Path, host: str, port: int, reviewers: tuple[str, ...], workers: int) -> None:
    """Serve the review workbench for PROJECT in the browser (offline; nothing loads from other sites).

    On 127.0.0.1 (the default) reviewers sign in with their name. Bound to any other address, each
    --reviewer gets a random token to sign in with; without --reviewer the server refuses to start.
    The project runs in WAL mode while served and is folded back into one file on exit.

    \b
    Example:
      organwatch review serve hits.owproj --port 8765
      organwatch review serve hits.owproj --host 0.0.0.0 --reviewer alice --reviewer bob
    """
    import uvicorn

    from organwatch.review.app import create_app
    from organwatch.review.ledger import validate_reviewer
    from organwatch.review.schema import connect
    from organwatch.review.security import RunStore, is_loopback, new_token
    from organwatch.review.server import uvicorn_options

    tokens = {}
    for r in reviewers:
        name = validate_reviewer(r)
        if name in tokens:
            raise UsageError(f"--reviewer {r!r} names reviewer {name!r} twice (names are compared after NFKC "
                             "normalisation)")
        tokens[name] = new_token()
    if not is_loopback(host) and not tokens:
        raise UsageError(f"--host {host} is not loopback: give --reviewer NAME for every reviewer (each gets a token)")
    _check_bind(host, port)
    store = RunStore()  # this run's session key and sessions (private temporary directory, removed on exit)
    try:
        app, ra = create_app(project, host=host, port=port, tokens=tokens or None, store=store)
    except BaseException:
        store.remove()
        raise
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(f"organwatch: serving {project} on http://{shown_host}:{port}/ (Ctrl-C to stop)", err=True)
    for r, t in tokens.items():
        click.echo(f"organwatch: token for {r}: {t}", err=True)
    import signal

    # uvicorn re-raises SIGTERM after its graceful shutdown; make that an exception so the WAL fold below runs
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if workers == 1:
            uvicorn.run(app, host=host, port=port, **uvicorn_options())
        else:
            import os

            from organwatch.review.app import ENV_CONFIG

            ra.close()
            os.environ[ENV_CONFIG] = json.dumps({"project": str(Path(project).resolve()), "host": host,
                                                  "port": port, "tokens": tokens, "run_dir": str(store.directory)})
            uvicorn.run("organwatch.review.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                        **uvicorn_options())
    finally:
        ra.close()
        store.remove()
        try:  # fold the WAL back: the project is one file again when not served
            con = connect(project)
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("PRAGMA journal_mode = DELETE")
            con.close()
        except Exception:  # another server still has it open: leave WAL mode on
            pass


def _check_bind(host: str, port: int) -> None:
    """Fail early, as one line, when the address cannot be bound (port in use, unknown address)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise UsageError(f"--host {host}: {e.strerror}") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as e:
            raise UsageError(f"cannot listen on {host}:{port}: {e.strerror}") from None


@review.command()
@click.argument("project", type=click.Path(path_type=Path))
@out_option(help="Write the ledger to this file (csv, jsonl or parquet by extension; without --out, JSON Lines "
                 "on stdout).")
@format_option(default="csv")
@click.option("--current", is_flag=True, help="Only each reviewer's latest decision per hit (default: the whole "
              "append-only ledger).")
@json_option("lines", "the ledger rows")
@csv_raw_option
@quiet_option
def export(project: Path, out: Path | None, fmt: str | None, current: bool, as_json: bool) -> None:
    """Export the decision ledger of PROJECT (hit_id, reviewer, timestamp, label, pattern, rationale, ...).

    CSV cells that a spreadsheet would run as a formula (starting with = + - @ TAB or CR) get a leading '
    unless --csv-raw is given; fields holding line breaks are quoted.

    \b
    Example:
      organwatch review export hits.owproj --out decisions.csv
      organwatch review export hits.owproj --current --out current.parquet
    """
    from organwatch.review.ledger import EXPORT_COLUMNS, export_rows
    from organwatch.review.schema import connect, guarded

    with guarded(project):
        con = connect(project)
        try:
            rows = list(export_rows(con, current_only=current))
        finally:
            con.close()
    if out is not None:
        write_records(rows, out, infer_format(out, fmt, default="csv"), columns=EXPORT_COLUMNS)
        say(f"wrote {len(rows):,} decisions from {project} to {out}")
    if out is None or as_json:
        emit_jsonl({c: r.get(c) for c in EXPORT_COLUMNS} for r in rows)


@review.command()
@click.argument("project", type=click.Path(path_type=Path))
@json_option("document", "the manifest, progress and agreement ({manifest, progress, agreement})")
def status(project: Path, as_json: bool) -> None:
    """Manifest (inputs with sha256), progress and inter-reviewer agreement of PROJECT.

    \b
    Example:
      organwatch review status hits.owproj --json
    """
    from organwatch.review.agreement import agreement
    from organwatch.review.project import manifest
    from organwatch.review.queries import progress
    from organwatch.review.schema import connect, guarded

    with guarded(project):
        con = connect(project)
        try:
            doc = {"manifest": manifest(con), "progress": progress(con, None), "agreement": agreement(con)}
        finally:
            con.close()
    if as_json:
        emit_json(doc)
        return
    m, p, a = doc["manifest"], doc["progress"], doc["agreement"]
    click.echo(f"{project}: schema {m['schema_version']}, {m['documents']:,} documents, {m['hits']:,} hits, "
               f"{m['decisions']:,} decisions")
    for i in m["inputs"]:
        click.echo(f"  input {i['name']} sha256 {i['sha256']}: {i['imported']:,} imported, {i['failed']:,} failed")
    click.echo(f"  decided: {p['decided']:,} of {p['hits']:,} hits; " + ", ".join(f"{k} {v}" for k, v in p["by_label"]))
    fk = a["fleiss_kappa"]
    click.echo(f"  agreement: {a['hits_multiply_reviewed']} hits with ≥2 reviewers, Fleiss' kappa "
               f"{'n/a' if fk is None else f'{fk:.3f}'}, {a['n_disagreements']} disagreements")
