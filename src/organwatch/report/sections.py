"""Report sections and the hook through which every engine adds one.

An engine contributes a section by exposing, in the module its row of the engine table names
(:mod:`organwatch.engines`, ``Engine.section``):

* ``ORDER: int`` - where the section goes (stats 10, screening 20, review 30, volume 40, compliance 50);
* ``accepts(path: Path) -> bool`` - whether a result file given to ``organwatch report INPUT...`` is for it;
* ``build_section(ctx: ReportContext, inputs: list[Path]) -> Section | None`` - the section, from embedded
  data and/or the accepted inputs (``None`` = nothing to show).

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

    @property
    def findings(self) -> list[Finding]:
        return [i.finding for i in self.items]


@dataclass
class ReportContext:
    seed: int = DEFAULT_SEED
    options: dict[str, Any] = field(default_factory=dict)


class SectionProvider(Protocol):  # pragma: no cover - typing only
    ORDER: int

    def accepts(self, path: Path) -> bool: ...

    def build_section(self, ctx: ReportContext, inputs: list[Path]) -> Section | None: ...


def providers() -> list[Any]:
    mods = [importlib.import_module(p) for p in SECTION_PROVIDERS]
    return sorted(mods, key=lambda m: getattr(m, "ORDER", 100))
