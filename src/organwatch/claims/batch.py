"""One screening run: read every input, link members, evaluate every line, keep errors apart.

Shared by the CLI and benchmarks. Claims, lines and outcomes form no reference cycles, so Python's cyclic
garbage collector is paused while a batch is built (it would otherwise rescan the growing object graph again
and again: about 2x slower).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from organwatch.claims.engine import Engine
from organwatch.claims.model import Claim, Member, Outcome
from organwatch.claims.readers import FORMATS, read_all
from organwatch.claims.readers.members import link_members
from organwatch.claims.rules import RuleSet
from organwatch.errors import RecordError, nothing_read
from organwatch.gcpause import gc_paused


@dataclass
class Batch:
    engine: Engine
    claims: list[Claim] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)  # failures (counted)
    notes: list[RecordError] = field(default_factory=list)  # information, not failures
    outcomes: list[Outcome] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)
    linking: dict[str, int] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        return sum(len(c.lines) for c in self.claims)


def read_batch(files: list[Path], fast: bool = False,
               on_file: Callable[[Path], None] | None = None) -> tuple[list[Claim], list[RecordError],
                                                                         list[RecordError], object]:
    """(claims, errors, notes, patient index) of every input file."""
    claims: list[Claim] = []
    errors: list[RecordError] = []
    notes: list[RecordError] = []
    index_box: list[object] = []
    for item in read_all(files, fast, index_out=index_box, on_file=on_file):
        if isinstance(item, RecordError):
            (notes if item.note else errors).append(item)
        else:
            claims.append(item)
    return claims, errors, notes, index_box[0] if index_box else None


def screen(files: list[Path], rules: RuleSet, members: dict[str, Member] | None = None,
           jurisdictions: list[str] | None = None, plan_type: str | None = None, fast: bool = False,
           on_file: Callable[[Path], None] | None = None, raise_if_empty: bool = True) -> Batch:
    b = Batch(engine=Engine(rules), members={} if members is None else members)
    with gc_paused():
        b.claims, b.errors, b.notes, index = read_batch(files, fast, on_file)
        if not b.claims and raise_if_empty:
            raise nothing_read("claim", len(files), FORMATS)
        b.linking = link_members(b.claims, b.members, index)
        b.outcomes = list(b.engine.evaluate(b.claims, b.members, jurisdictions, plan_type))
    return b
