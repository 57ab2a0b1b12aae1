"""The common engine contract, run over every row of the engine table (organwatch.engines).

For every command: `--help` shows an example; `--json` prints only JSON (one document or JSON Lines, as the
table declares) on stdout; bad input gives one line on stderr and exit 2. For every report section: it accepts
the result files its engine writes. For every finding: its `check` id belongs to one engine and one kind, and is
documented in docs/checks.md. Adding an engine without adding it here fails these tests.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from organwatch import engines
from organwatch.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SCREEN_DOCS = [
    {"id": "c1", "title": "供肝获取", "text": "供者脑死亡后行气管插管，呼吸机辅助通气。", "language": "zh"},
    {"id": "c2", "title": "Kidney transplantation outcomes", "text": "Renal function at one year was good.",
     "language": "en"},
]


def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="session")
def work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Inputs and result files of every engine, made once by running the commands themselves."""
    d = tmp_path_factory.mktemp("contract")
    corpus = d / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in SCREEN_DOCS), encoding="utf-8")
    binary = d / "random.bin"
    binary.write_bytes(bytes(range(256)) * 64)
    empty_dir = d / "empty"
    empty_dir.mkdir()
    screen = d / "hits.parquet"
    assert run("screen", str(corpus), "--out", str(screen)).returncode == 0
    project = d / "hits.owproj"
    assert run("review", "new", str(screen), str(project)).returncode == 0
    _decide_first_hit(project)
    outcomes = d / "outcomes.jsonl"
    assert run("claims", str(DATA / "claims" / "professional.837"), "-j", "TX", "--out", str(outcomes)).returncode == 0
    volume = d / "volume.json"
    p = run("volume", "--draws", "2000", "--json")
    assert p.returncode == 0, p.stderr
    volume.write_text(p.stdout, encoding="utf-8")
    biotech = d / "biotech-outcomes.jsonl"
    assert run("biotech", "screen", str(DATA / "biotech" / "inventory_tx.csv"), "--state", "TX", "--as-of", "2026-01-01",
               "--out", str(biotech)).returncode == 0
    ads = d / "ads-claims.parquet"
    assert run("ads", "scan", str(DATA / "ads" / "pages.warc.gz"), "--out", str(ads)).returncode == 0
    return {"ads": ads, "biotech": biotech, "dir": d, "corpus": corpus, "binary": binary, "empty": empty_dir, "screen": screen, "project": project,
            "outcomes": outcomes, "volume": volume}


def _decide_first_hit(project: Path) -> None:
    """One recorded decision, so that `review export --json` has a record to print."""
    from organwatch.review import ledger, schema

    con = schema.connect(project)
    try:
        row = con.execute("SELECT hit_id FROM hits ORDER BY hit_pk LIMIT 1").fetchone()
        assert row is not None, "the contract corpus produced no screener hit"
        ledger.append(con, row[0], "alice", "suspicious", rationale="contract test")
    finally:
        con.close()


# command -> arguments of a successful --json run ({name} = a path from the `work` fixture)
JSON_RUNS: dict[str, list[str]] = {
    "report": ["report", "--json", "--out", "{dir}/r.html", "--date", "2026-01-01"],
    "data list": ["data", "list", "--json"],
    "data show": ["data", "show", "laws", "--json"],
    "stats": ["stats", "--json", "--simulations", "1000"],
    "screen": ["screen", "{corpus}", "--json", "--out", "{dir}/s2.jsonl"],
    "evaluate": ["evaluate", str(DATA / "screen" / "labelled_heldout.jsonl"), "--json"],
    "review new": ["review", "new", "{screen}", "{dir}/p2.owproj", "--json"],
    "review export": ["review", "export", "{project}", "--json"],
    "review status": ["review", "status", "{project}", "--json"],
    "volume": ["volume", "--draws", "2000", "--json"],
    "hospitals": ["hospitals", "--json"],
    "laws": ["laws", "--json"],
    "claims": ["claims", str(DATA / "claims" / "professional.837"), "-j", "TX", "--json", "--out", "{dir}/o2.jsonl"],
    "biotech entities": ["biotech", "entities", "--json"],
    "ads scan": ["ads", "scan", str(DATA / "ads" / "crawl.wacz"), "--json", "--out", "{dir}/ads2.jsonl"],
    "ads timeline": ["ads", "timeline", "{ads}", "--json"],
    "biotech screen": ["biotech", "screen", str(DATA / "biotech" / "inventory_tx.csv"), "--state", "TX", "--json",
                       "--out", "{dir}/bt2.jsonl"],
}

# command -> arguments that must fail with one line and exit 2
BAD_RUNS: dict[str, list[str]] = {
    "report": ["report", "{binary}", "--out", "{dir}/bad.html"],
    "data": ["data", "nope"],
    "data list": ["data", "list", "--bogus"],
    "data show": ["data", "show", "no_such_dataset"],
    "data export": ["data", "export", "laws", "--out", "{dir}/no/such/dir/x.csv"],
    "stats": ["stats", "{binary}"],
    "screen": ["screen", "{binary}", "--out", "{dir}/bad.parquet"],
    "evaluate": ["evaluate", "{binary}"],
    "review": ["review", "nope"],
    "review new": ["review", "new", "{binary}", "{dir}/bad.owproj"],
    "review serve": ["review", "serve", "{binary}"],
    "review export": ["review", "export", "{binary}"],
    "review status": ["review", "status", "{binary}"],
    "volume": ["volume", "--scenario", "{binary}"],
    "hospitals": ["hospitals", "--organ", "spleen"],
    "laws": ["laws", "--as-of", "not-a-date"],
    "claims": ["claims", "{binary}", "--out", "{dir}/bad.jsonl"],
    "biotech": ["biotech", "nope"],
    "ads": ["ads", "nope"],
    "ads scan": ["ads", "scan", "{binary}", "--out", "{dir}/bad-ads.parquet"],
    "ads timeline": ["ads", "timeline", "{binary}"],
    "biotech entities": ["biotech", "entities", "--as-of", "not-a-date"],
    "biotech screen": ["biotech", "screen", "{binary}", "--out", "{dir}/bad-bt.jsonl"],
}

# runs that read nothing at all must exit 2 with the reason (cli.md: nothing is lost silently)
NOTHING_READ: dict[str, list[str]] = {
    "screen": ["screen", "{empty}", "--out", "{dir}/none.parquet"],
    "claims": ["claims", "{empty}", "--out", "{dir}/none.jsonl"],
    "biotech screen": ["biotech", "screen", "{empty}", "--out", "{dir}/none-bt.jsonl"],
    "ads scan": ["ads", "scan", "{empty}", "--out", "{dir}/none-ads.parquet"],
}


def _fill(args: list[str], work: dict[str, Path]) -> list[str]:
    return [a.format(**{k: str(v) for k, v in work.items()}) for a in args]


def _click_paths(cmd: click.Command, path: tuple[str, ...] = ()) -> list[str]:
    out = [" ".join(path)] if path else []
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None
            out += _click_paths(sub, (*path, name))
    return out


COMMANDS = [c.name for c in engines.all_commands()]


def test_engine_table_matches_the_command_tree():
    assert sorted(_click_paths(cli)) == sorted(COMMANDS)


def test_every_command_has_a_contract_case():
    assert sorted(c.name for c in engines.all_commands() if c.json) == sorted(JSON_RUNS)
    assert sorted(BAD_RUNS) == sorted(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_an_example_and_states_the_json_shape(name):
    p = run(*name.split(), "--help")
    assert p.returncode == 0 and "Example" in p.stdout, name
    command = next(c for c in engines.all_commands() if c.name == name)
    if command.json:
        flat = " ".join(p.stdout.split())
        shape = "one JSON document" if command.json == "document" else "JSON Lines"
        assert "--json" in flat and shape in flat, f"{name} --help does not say --json prints {shape}"


@pytest.mark.parametrize("name", sorted(JSON_RUNS))
def test_json_output_parses_with_nothing_else_on_stdout(name, work):
    command = next(c for c in engines.all_commands() if c.name == name)
    p = run(*_fill(JSON_RUNS[name], work))
    assert p.returncode == 0, p.stderr
    if command.json == "document":
        json.loads(p.stdout)
    else:
        lines = p.stdout.splitlines()
        assert lines, f"{name} --json printed no records"
        for ln in lines:
            assert isinstance(json.loads(ln), dict), ln[:80]
    for ln in p.stderr.splitlines():
        assert ln.startswith("organwatch"), f"{name}: stderr line without the organwatch prefix: {ln[:80]}"


@pytest.mark.parametrize("name", sorted(BAD_RUNS))
def test_bad_input_is_one_line_and_exit_2(name, work):
    p = run(*_fill(BAD_RUNS[name], work))
    assert p.returncode == 2, (name, p.returncode, p.stderr[-300:])
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert lines and lines[-1].startswith("organwatch: error:"), lines
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr
    errors = [ln for ln in lines if "error" in ln]
    assert len(errors) == 1, errors


@pytest.mark.parametrize("name", sorted(NOTHING_READ))
def test_a_run_that_reads_nothing_exits_2_with_the_reason(name, work):
    p = run(*_fill(NOTHING_READ[name], work))
    assert p.returncode == 2 and "nothing read" in p.stderr, p.stderr[-300:]


SECTION_RESULTS = {"screen": "screen", "review": "project", "claims": "outcomes", "volume": "volume",
                   "biotech": "biotech", "ads": "ads"}


@pytest.mark.parametrize("engine", [e.name for e in engines.ENGINES if e.section])
def test_every_section_accepts_its_own_result_files(engine, work):
    import importlib

    from organwatch.report.sections import ReportContext

    e = next(x for x in engines.ENGINES if x.name == engine)
    assert e.section
    mod = importlib.import_module(e.section)
    assert hasattr(mod, "ORDER") and callable(mod.build_section) and callable(mod.accepts)
    if engine == "stats":  # the stats section reads only embedded data
        assert mod.build_section(ReportContext(), []) is not None
        return
    assert e.result_files, f"{engine}: the engine table names no result files"
    path = work[SECTION_RESULTS[engine]]
    assert mod.accepts(path), f"{engine} section does not accept {path.name}"
    others = [x for x in engines.ENGINES if x.section and x.name != engine]
    for o in others:
        assert not importlib.import_module(o.section).accepts(path), f"{o.name} also claims {path.name}"  # type: ignore[arg-type]


def test_check_ids_are_unique_per_engine_and_kind_and_documented(work):
    findings = work["dir"] / "all-findings.json"
    p = run("report", str(work["screen"]), str(work["project"]), str(work["outcomes"]), str(work["volume"]), str(work["ads"]),
            "--out", str(work["dir"] / "all.html"), "--findings", str(findings), "--date", "2026-01-01")
    assert p.returncode == 0, p.stderr
    doc = json.loads(findings.read_text(encoding="utf-8"))
    seen: dict[str, tuple[str, str]] = {}
    for f in doc["findings"]:
        key = (f["engine"], f["kind"])
        assert seen.setdefault(f["check"], key) == key, f"check {f['check']} is used with {seen[f['check']]} and {key}"
        if f["kind"] == "descriptive":
            assert f["verdict"] is None and f["status"] is None, f["check"]
        elif f["kind"] == "test":
            assert f["verdict"] in ("consistent", "unusual", "highly_unusual", "not_testable"), f["check"]
        else:
            assert f["status"] in ("reproduced", "differs", "not_reproducible") and f["verdict"] is None
    documented = set(re.findall(r"`([a-z]+(?:\.[a-z0-9_]+)+)`", (ROOT / "docs" / "checks.md").read_text("utf-8")))
    missing = sorted(set(seen) - documented)
    assert not missing, f"check ids not documented in docs/checks.md: {missing}"


TABLE_RUNS = [["data", "list"], ["data", "show", "laws"], ["laws"], ["hospitals"], ["stats", "--simulations", "200"]]


@pytest.mark.parametrize("args", TABLE_RUNS, ids=lambda a: " ".join(a))
def test_tables_stay_readable_at_80_columns_when_piped(args):
    """Piped output at 80 columns: no line wider than 80 and no truncated cell (rich's ellipsis)."""
    import os

    p = subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True, timeout=600,
                       cwd=ROOT, env={**os.environ, "COLUMNS": "80"})
    assert p.returncode == 0, p.stderr
    assert "…" not in p.stdout
    assert max(len(ln) for ln in p.stdout.splitlines()) <= 80 or any(
        len(tok) > 60 for ln in p.stdout.splitlines() for tok in ln.split()), "a table line is wider than 80"
