"""``organwatch ads``: ``scan`` archived pages for advertised transplant waits and prices; ``timeline`` them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from organwatch.clikit import (
    csv_raw_option,
    emit_jsonl,
    format_option,
    json_option,
    out_option,
    print_table,
    quiet_option,
    say,
    warn,
)
from organwatch.errors import InputError, RecordError, nothing_read
from organwatch.output import infer_format, write_records

DEFAULT_OUT = Path("claims.parquet")


@click.group()
def ads() -> None:
    """Advertised transplant waits and prices in archived web pages (WARC, ARC, WACZ, Wayback CDX, HTML).

    \b
    Example:
      organwatch ads scan crawl/ --out claims.parquet
      organwatch ads timeline claims.parquet
    """


def _provenance(pack: Any, opts: Any, stats: list[Any]) -> dict[str, Any]:
    from organwatch import __version__

    return {"engine": "ads", "version": __version__, "rules": {"name": pack.name, "version": pack.version,
                                                                "sha256": pack.sha256, "path": pack.path},
            "options": {"prefilter": opts.prefilter, "backend": opts.backend, "max_page_bytes": opts.max_bytes},
            "files": [s.to_dict() for s in stats]}


@ads.command("scan")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_option(default=DEFAULT_OUT, help="Claims file (.parquet, .jsonl or .csv); a .captures file is written next to it.")
@format_option("parquet")
@json_option("lines", "the claim records")
@click.option("--rules", default=None, help="Rule pack: a name shipped with organwatch or a .toml file "
                                            "(default: ads_default).")
@click.option("--payloads", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of Wayback id_ payloads for CDX inputs (default: NAME_payloads/, NAME/ or payloads/ "
                   "next to the CDX file).")
@click.option("--no-prefilter", is_flag=True, help="Decode every page (no byte-level prefilter).")
@click.option("--backend", type=click.Choice(["auto", "hyperscan", "re2"]), default="auto",
              help="Scanner backend for the cue terms (the screener's scanner).")
@click.option("--max-page-bytes", type=click.IntRange(1024), default=16 << 20, show_default=True,
              help="Decoded payload cap per record; larger records are skipped with a warning.")
@click.option("--verbose", is_flag=True, help="Name files by full path in messages.")
@quiet_option
@csv_raw_option
def scan(inputs: tuple[Path, ...], out: Path, fmt: str | None, as_json: bool, rules: str | None,
         payloads: Path | None, no_prefilter: bool, backend: str, max_page_bytes: int, verbose: bool) -> None:
    """Extract advertised waits and prices from archived pages: one record per claim.

    INPUT: WARC / WARC.gz, ARC / ARC.gz, WACZ, Wayback CDX JSON (with a folder of id_ payloads), saved HTML or
    MHTML files, or folders of them. Response records only. Every claim carries its URL, capture time, archive
    record (WARC-Record-ID or CDX timestamp + digest), the charset used and the span and quote of the exact
    page text. Writes --out (default claims.parquet) and a capture list next to it (claims.captures.parquet)
    for `organwatch ads timeline`.

    \b
    Example:
      organwatch ads scan crawl.warc.gz --out claims.parquet
      organwatch ads scan wayback.cdx.json --payloads wayback_payloads/ --format jsonl --out claims.jsonl
      organwatch ads scan saved_pages/ --json
    """
    from organwatch.ads.extract import Extractor
    from organwatch.ads.readers import FORMATS, Capture, FileStats, expand_inputs, kind_of, read_file
    from organwatch.ads.rules import load_pack
    from organwatch.ads.scan import CAPTURE_COLUMNS, CLAIM_COLUMNS, ScanCounts, ScanOptions, scan_capture
    from organwatch.ads.timeline import captures_path

    fmt = infer_format(out, fmt, "parquet")
    opts = ScanOptions(rules=rules, backend=backend, prefilter=not no_prefilter, max_bytes=max_page_bytes)
    pack = load_pack(rules)
    ex = Extractor(pack, backend)
    files = expand_inputs(list(inputs))
    for p in files:
        if not p.exists():
            raise InputError("no such file or folder", file=p.name)
    from organwatch.ads.sink import RecordSink

    stats: list[FileStats] = []
    counts = ScanCounts()
    start = {"provenance": {**_provenance(pack, opts, []), "inputs": [p.name for p in files]}}
    claims = RecordSink(out, fmt, "claims", CLAIM_COLUMNS, start)
    caps = RecordSink(captures_path(out), fmt, "captures", CAPTURE_COLUMNS, start)
    for p in files:
        kind = kind_of(p)
        if kind is None:
            warn(f"{p.name}: not a supported format ({FORMATS}); skipped")
            stats.append(FileStats(p.name, "unknown", seen=1, failed=1))
            continue
        st = FileStats(p.name, kind)
        stats.append(st)
        for item in read_file(p, st, max_page_bytes, payloads, verbose):
            if isinstance(item, RecordError):
                (say if item.note else warn)(str(item))
                continue
            assert isinstance(item, Capture)
            recs, row = scan_capture(item, ex, opts, counts)
            claims.add(recs)
            caps.add([row])
            if as_json and recs:
                emit_jsonl(recs)
    meta = {"provenance": _provenance(pack, opts, stats)}
    claims.close(meta)
    caps.close(meta)
    if sum(s.read for s in stats) == 0:
        for f in (out, captures_path(out)):
            f.unlink(missing_ok=True)
        raise nothing_read("archived page", len(files), FORMATS)
    for s in stats:
        say(f"{s.file}: {s.seen} records seen, {s.read} read, {s.failed} failed, {s.other} not pages")
    say(f"{counts.captures} captures, {counts.prefiltered_out} skipped by the prefilter, {counts.pages} pages "
        f"decoded ({', '.join(f'{k} {v}' for k, v in sorted(counts.charsets.items()))}), {counts.claims} claims "
        f"-> {out}")
    if counts.mojibake_pages:
        warn(f"{counts.mojibake_pages} page(s) still contain replacement characters or look like mis-decoded "
             "CJK text")


@ads.command("timeline")
@click.argument("claims_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--captures", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Capture list written by `ads scan` (default: CLAIMS.captures.EXT next to the claims file).")
@json_option("lines", "one timeline row per site and claim")
@out_option(help="Write the timeline rows to this file (.csv, .jsonl or .parquet).")
@format_option("csv")
@quiet_option
@csv_raw_option
def timeline_cmd(claims_file: Path, captures: Path | None, as_json: bool, out: Path | None, fmt: str | None) -> None:
    """Per site: first and last capture, each advertised claim over time, and when it disappeared.

    \b
    Example:
      organwatch ads timeline claims.parquet
      organwatch ads timeline claims.parquet --json > timeline.jsonl
    """
    from organwatch.ads.timeline import TIMELINE_COLUMNS, captures_path, load_table, timeline

    if not claims_file.exists():
        raise InputError("no such file", file=claims_file.name)
    claims = load_table(claims_file)
    cap_path = captures or captures_path(claims_file)
    caps = load_table(cap_path) if cap_path.exists() else None
    if caps is None:
        warn(f"{cap_path.name}: no capture list; disappearance cannot be dated")
    if not claims and not caps:
        raise nothing_read("claim", 1)
    rows = timeline(claims, caps)
    if out is not None:
        write_records(rows, out, infer_format(out, fmt, "csv"), TIMELINE_COLUMNS)
        say(f"{len(rows)} timeline rows -> {out}")
    if as_json:
        emit_jsonl(rows)
        return
    if out is None:
        def day(t: Any) -> str:
            return str(t or "")[:10]

        def claim(r: dict[str, Any]) -> str:
            return f"{r['organ'] or 'organ not stated'}: " + "; ".join(x for x in (r["wait"], r["price"]) if x)

        print_table(["site", "claim", "first", "last", "n", "gone by"],
                    [[r["site"], claim(r), day(r["first_seen"]), day(r["last_seen"]), r["captures_with_claim"],
                      day(r["disappeared_after"])] for r in rows],
                    title="Advertised claims over time (capture dates; n = captures with the claim)",
                    ids=("site",))
