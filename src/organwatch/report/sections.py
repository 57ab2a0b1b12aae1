"""Report sections and the hook through which every engine adds one.

An engine contributes a section by exposing, in the module its row of the engine table names
(:mod:`organwatch.engines`, ``Engine.section``):

* ``ORDER: int`` - where the section goes (stats 10, screening 20, review 30, volume 40, compliance 50);
* ``accepts(path: Path) -> bool`` - whether a result file given to ``organwatch report INPUT...`` is for it;
* ``build_section(ctx: ReportContext, inputs: list[Path]) -> Section | None`` - the section, from embedded
  data and/or the accepted inputs (``None`` = nothing to show);
* optionally ``briefing_items(section: Section) -> list[tuple]`` - items for the report's briefing, each
  ``(question, sentence, finding[, chart])``: a plain sentence with its figure, and the finding (one of the
  section's) it links to. Providers without the hook get the briefing's own rule for their checks, or one
  generic item from their first finding that states a figure (:mod:`organwatch.report.briefing`).

A :class:`Section` is a list of :class:`ReportItem` (one finding and, optionally, its inline SVG chart and an
HTML table), plus sources and what could not be tested. The template renders every section the same way,
so engines produce findings and charts, never page layout.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from markupsafe import Markup

from organwatch.engines import section_modules
from organwatch.findings import Finding
from organwatch.seeds import DEFAULT_SEED

# dotted module paths, from the engine table; each module implements the provider protocol below
SECTION_PROVIDERS: list[str] = section_modules()


@dataclass
class ReportItem:
    finding: Finding
    chart_svg: Markup | str | None = None  # inline <svg> built with organwatch.report.svg
    table_html: Markup | str | None = None  # extra HTML table (escaped by the caller: use svg.html_table)
    chart_caption: str = ""


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""  # plain text, escaped by the template
    items: list[ReportItem] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)  # [{label, url}]
    not_tested: list[str] = field(default_factory=list)
    extra_html: Markup | str | None = None  # optional block after the items (already safe HTML)
    order: int = 100
    provider: str = ""  # module that built it (set by the report builder)

    @property
    def findings(self) -> list[Finding]:
        return [i.finding for i in self.items]


@dataclass
class ReportContext:
    seed: int = DEFAULT_SEED
    lang: str = "en"  # report language (organwatch.report.i18n); sections may translate their fixed strings
    options: dict[str, Any] = field(default_factory=dict)


class SectionProvider(Protocol):  # pragma: no cover - typing only
    ORDER: int

    def accepts(self, path: Path) -> bool: ...

    def build_section(self, ctx: ReportContext, inputs: list[Path]) -> Section | None: ...


def providers() -> list[Any]:
    """The section modules of the engine table, in ``ORDER``; an engine whose section module is not installed
    (yet) is left out rather than breaking every report."""
    mods = []
    for p in SECTION_PROVIDERS:
        try:
            mods.append(importlib.import_module(p))
        except ModuleNotFoundError as e:
            if e.name is None or not p.startswith(e.name):
                raise
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 100))


def table_columns(path: Path) -> set[str]:
    """Column names of a result table (Parquet schema, the keys of a JSONL file's first record, or a CSV header),
    for ``accepts``: a file that cannot be read as a table has none (it is then not the section's)."""
    import csv
    import json

    suffix = Path(path).suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return set(pq.read_schema(path).names)
        with open(path, encoding="utf-8", newline="") as fh:
            if suffix == ".csv":
                return {c.strip() for c in next(csv.reader(fh), [])}
            if suffix in (".jsonl", ".ndjson", ".json"):
                first = json.loads(fh.readline() or "null")
                return set(first) if isinstance(first, dict) else set()
    except Exception:  # noqa: BLE001 - unreadable, binary or not a table (pyarrow raises its own types): not ours
        return set()
    return set()
