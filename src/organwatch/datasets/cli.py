"""``organwatch data``: list, show and export the embedded datasets with their provenance."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from organwatch import datasets
from organwatch.clikit import (
    csv_raw_option,
    emit_json,
    emit_jsonl,
    format_option,
    json_option,
    print_table,
    quiet_option,
    say,
)
from organwatch.output import infer_format, write_records


@click.group()
def data() -> None:
    """Embedded, sourced datasets and their provenance.

    \b
    Example:
      organwatch data list
      organwatch data show godt_combined
      organwatch data export laws --out laws.parquet
    """


@data.command("list")
@json_option("lines", "the catalog, one dataset per line")
def list_(as_json: bool) -> None:
    """List the embedded datasets.

    \b
    Example:
      organwatch data list --json
    """
    cat = datasets.catalog()
    if as_json:
        emit_jsonl({"name": i.name, "file": i.file, "title": i.title, "rows": i.rows, "sha256": i.sha256,
                    "source_urls": i.source_urls, "licence": i.licence} for i in cat.values())
        return
    print_table(["name", "rows", "title"], [(i.name, f"{i.rows:,}", i.title) for i in cat.values()],
                title=f"{len(cat)} embedded datasets (sha256: organwatch data show NAME)", ids=("name",))


@data.command()
@click.argument("name")
@json_option("document", "the dataset's provenance and columns")
@click.option("--rows", "n_rows", type=int, default=10, show_default=True, help="Rows to preview.")
def show(name: str, as_json: bool, n_rows: int) -> None:
    """Show a dataset's provenance, column meanings and first rows.

    \b
    Example:
      organwatch data show china_annual_national --rows 5
    """
    ds = datasets.load(name)
    i = ds.info
    if as_json:
        emit_json({**i.provenance(), "title": i.title, "description": i.description, "rows": i.rows,
                   "columns": i.columns, "verified": datasets.verify(name)})
        return
    con = Console()
    con.print(f"[bold]{i.name}[/bold]: {i.title}\n{i.description}")
    con.print(f"file: {i.file}\nsha256: {i.sha256} ({'verified' if datasets.verify(name) else 'MODIFIED'})")
    con.print(f"licence: {i.licence}")
    if i.attribution:
        con.print(f"cite as: {i.attribution}")
    con.print("sources: " + "; ".join(i.source_urls))
    print_table(["column", "type", "meaning"],
                [(c, spec["type"], spec["description"]) for c, spec in i.columns.items()], title="columns",
                ids=("column",))
    con.print(ds.frame.head(n_rows).to_string(max_colwidth=40))


@data.command()
@click.argument("name")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True, help="Output file.")
@format_option("csv")
@csv_raw_option
@quiet_option
def export(name: str, out: Path, fmt: str | None) -> None:
    """Export a dataset (values exactly as embedded); its provenance goes to OUT.provenance.json.

    \b
    Example:
      organwatch data export godt_combined --out godt.parquet
    """
    ds = datasets.load(name)
    fmt = infer_format(out, fmt, default="csv")
    frame = ds.frame.astype(object).where(ds.frame.notna(), None)
    write_records(frame.to_dict("records"), out, fmt, columns=list(ds.frame.columns))
    prov = Path(str(out) + ".provenance.json")
    prov.write_text(json.dumps(ds.info.provenance(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    say(f"data: wrote {len(ds.frame):,} rows to {out} and provenance to {prov}")
