"""The one engine table: each engine's commands, their ``--json`` shape, its report section and the result
files that section accepts.

``organwatch.cli`` builds the command list from :data:`ENGINES`, ``organwatch.report.sections`` takes its
section providers from it, and ``tests/test_contract.py`` runs the common contract over every row (help
example, ``--json`` parses with nothing else on stdout, bad input gives one line and exit 2, every section
accepts its own result files, every check id is unique and documented). Adding an engine means adding one
:class:`Engine` here (CONTRIBUTING.md).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

JsonMode = Literal["document", "lines"]


@dataclass(frozen=True)
class Command:
    """One top-level command (``organwatch NAME``) or one subcommand of a group (``organwatch NAME SUB``)."""

    name: str  # "stats", or "review new" for a subcommand
    target: str  # "module:attribute" of the click command; for subcommands, of the group
    json: JsonMode | None  # what --json prints; None = the command has no --json


@dataclass(frozen=True)
class Engine:
    name: str
    summary: str
    commands: tuple[Command, ...]
    section: str | None = None  # module implementing the report-section protocol (organwatch.report.sections)
    result_files: tuple[str, ...] = ()  # what `organwatch report FILE` accepts for this engine, in words


ENGINES: tuple[Engine, ...] = (
    Engine("report", "the offline HTML evidence report", (
        Command("report", "organwatch.report.cli:report", "document"),
    )),
    Engine("datasets", "embedded datasets and their provenance", (
        Command("data", "organwatch.datasets.cli:data", None),
        Command("data list", "organwatch.datasets.cli:data", "lines"),
        Command("data show", "organwatch.datasets.cli:data", "document"),
        Command("data export", "organwatch.datasets.cli:data", None),
    )),
    Engine("stats", "forensic tests on official statistics", (
        Command("stats", "organwatch.stats.cli:stats", "document"),
    ), section="organwatch.stats.report_section"),
    Engine("screen", "bilingual literature screener", (
        Command("screen", "organwatch.screen.cli:screen", "lines"),
        Command("evaluate", "organwatch.screen.cli:evaluate", "document"),
    ), section="organwatch.screen.report_section",
        result_files=("screen results (.parquet, .jsonl, .jsonl.gz, .csv) written by organwatch screen",)),
    Engine("review", "review workbench for screener hits", (
        Command("review", "organwatch.review.cli:review", None),
        Command("review new", "organwatch.review.cli:review", "document"),
        Command("review serve", "organwatch.review.cli:review", None),
        Command("review export", "organwatch.review.cli:review", "lines"),
        Command("review status", "organwatch.review.cli:review", "document"),
    ), section="organwatch.review.report_section",
        result_files=("review projects (.owproj) written by organwatch review new",)),
    Engine("volume", "transplant volume from hospital capacity", (
        Command("volume", "organwatch.volume.cli:volume", "document"),
        Command("hospitals", "organwatch.volume.cli:hospitals", "lines"),
    ), section="organwatch.volume.report_section",
        result_files=("volume results (.json) written by organwatch volume --json",)),
    Engine("claims", "legislation registry and insurer claims compliance", (
        Command("laws", "organwatch.claims.cli:laws", "lines"),
        Command("claims", "organwatch.claims.cli:claims", "lines"),
    ), section="organwatch.claims.report_section",
        result_files=("claim outcomes (.jsonl, .csv, .parquet) written by organwatch claims",)),
    Engine("ads", "advertised transplant waits and prices in archived web pages", (
        Command("ads", "organwatch.ads.cli:ads", None),
        Command("ads scan", "organwatch.ads.cli:ads", "lines"),
        Command("ads timeline", "organwatch.ads.cli:ads", "lines"),
    ), section="organwatch.ads.report_section",
        result_files=("advertising claims (.parquet, .jsonl, .csv) written by organwatch ads scan",)),
    Engine("biotech", "restricted foreign-adversary biotech entities and genetic-sequencer inventory screening", (
        Command("biotech", "organwatch.biotech.cli:biotech", None),
        Command("biotech entities", "organwatch.biotech.cli:biotech", "lines"),
        Command("biotech screen", "organwatch.biotech.cli:biotech", "lines"),
    ), section="organwatch.biotech.report_section",
        result_files=("biotech screening outcomes (.jsonl, .csv, .parquet) written by organwatch biotech screen",)),
)


def top_level_commands() -> dict[str, str]:
    """``organwatch NAME`` -> "module:attribute", for the lazy click root."""
    return {c.name: c.target for e in ENGINES for c in e.commands if " " not in c.name}


def all_commands() -> list[Command]:
    return [c for e in ENGINES for c in e.commands]


def section_modules() -> list[str]:
    return [e.section for e in ENGINES if e.section]


def load_target(target: str) -> Any:
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)
