"""One screening run: read every input, evaluate every line, keep errors apart. Shared by the CLI and benchmarks.

Claims, lines and outcomes form no reference cycles, so Python's cyclic garbage collector is paused while a
batch is built (it would otherwise rescan the growing object graph again and again: about 2x slower).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from organwatch.claims.engine import Engine
from organwatch.claims.model import Claim, ClaimError, Member, Outcome
from organwatch.claims.readers import read_claims
from organwatch.claims.rules import RuleSet
from organwatch.errors import InputError


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Batch:
    engine: Engine
    claims: list[Claim] = field(default_factory=list)
    errors: list[ClaimError] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        return sum(len(c.lines) for c in self.claims)


def screen(files: list[Path], rules: RuleSet, members: dict[str, Member] | None = None,
           jurisdictions: list[str] | None = None, plan_type: str | None = None, fast: bool = False,
           on_file: Callable[[Path], None] | None = None) -> Batch:
    b = Batch(engine=Engine(rules), members={} if members is None else members)
    with gc_paused():
        for f in files:
            if on_file is not None:
                on_file(f)
            try:
                for item in read_claims(f, fast=fast):
                    if isinstance(item, ClaimError):
                        b.errors.append(item)
                    else:
                        b.claims.append(item)
            except InputError as e:  # a whole file that is not a claims file: isolate it, go on
                b.errors.append(ClaimError(str(f), None, "file", e.message))
        if not b.claims and b.errors:
            raise InputError(f"no claim could be read ({len(b.errors)} unreadable; first: {b.errors[0]})")
        b.outcomes = list(b.engine.evaluate(b.claims, b.members, jurisdictions, plan_type))
    return b
