"""``organwatch data``: list, show and export the embedded datasets with their provenance."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from organwatch import datasets
from organwatch.output import TABLE_FORMATS, infer_format, write_records


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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable catalog on stdout.")
def list_(as_json: bool) -> None:
    """List the embedded datasets.

    \b
    Example:
      organwatch data list --json
    """
    cat = datasets.catalog()
    if as_json:
        click.echo(json.dumps([{"name": i.name, "file": i.file, "title": i.title, "rows": i.rows, "sha256": i.sha256,
                                "source_urls": i.source_urls, "licence": i.licence} for i in cat.values()],
                              ensure_ascii=False, indent=1))
        return
    t = Table(title=f"{len(cat)} embedded datasets")
    for col in ("name", "rows", "title", "sha256"):
        t.add_column(col)
    for i in cat.values():
        t.add_row(i.name, str(i.rows), i.title, i.sha256[:12] + "…")
    Console().print(t)


@data.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable provenance and columns on stdout.")
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
        doc = {**i.provenance(), "title": i.title, "description": i.description, "rows": i.rows,
               "columns": i.columns, "verified": datasets.verify(name)}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1))
        return
    con = Console()
    con.print(f"[bold]{i.name}[/bold]: {i.title}\n{i.description}")
    con.print(f"file: {i.file}\nsha256: {i.sha256} ({'verified' if datasets.verify(name) else 'MODIFIED'})")
    con.print(f"licence: {i.licence}")
    if i.attribution:
        con.print(f"cite as: {i.attribution}")
    con.print("sources: " + "; ".join(i.source_urls))
    t = Table(title="columns")
    t.add_column("column")
    t.add_column("type")
    t.add_column("meaning")
    for c, spec in i.columns.items():
        t.add_row(c, spec["type"], spec["description"])
    con.print(t)
    con.print(ds.frame.head(n_rows).to_string(max_colwidth=40))


@data.command()
@click.argument("name")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output file.")
@click.option("--format", "fmt", type=click.Choice(TABLE_FORMATS), default=None,
              help="jsonl, csv or parquet (default from the file extension, else csv).")
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
    click.echo(f"organwatch: wrote {len(ds.frame)} rows to {out} and provenance to {prov}", err=True)
