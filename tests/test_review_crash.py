"""Crash safety (small CI variant of benchmarks/review_crash.py, which does >= 100 kills): kill -9 the server
during bursts of writes; no acknowledged decision may be lost and the ledger must pass integrity_check."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("review_crash", BENCH / "review_crash.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_kill9_during_write_bursts_loses_no_acknowledged_decision(tmp_path):
    crash = _load()
    res = crash.run(cycles=8, clients=3, seed=5, documents=200, workdir=tmp_path, log=lambda *_: None)
    assert res["problems"] == []
    assert res["kills"] == 8
    assert res["acknowledged"] > 0
    # the kills really hit bursts: some writes were in flight (attempted but never acknowledged) at kill time
    assert res["attempted"] > res["acknowledged"]


def test_checker_detects_a_lost_decision(tmp_path):
    """The checker itself must fail when an acknowledged decision is missing (guards against a vacuous check)."""
    crash = _load()
    from organwatch.review.project import new_project

    sys.path.insert(0, str(Path(__file__).parent))
    from review_helpers import REVIEW_DATA

    project = tmp_path / "p.owproj"
    new_project([REVIEW_DATA / "screen_small.jsonl"], project)
    _, problems = crash.check_project(project, {"nonce-x": ("doc-001#p0", "alice", "suspicious", 1)}, 0)
    assert any("lost" in p for p in problems)
