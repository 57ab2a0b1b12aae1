"""Tests that enforce the docs: every command shows an example in --help and is in the README."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from organwatch.cli import COMMANDS, cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def walk(cmd: click.Command, path: list[str]):
    yield path, cmd
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            yield from walk(cmd.get_command(ctx, name), path + [name])


ALL = [(p, c) for p, c in walk(cli, [])]


@pytest.mark.parametrize("path", [" ".join(p) or "(root)" for p, _ in ALL])
def test_help_shows_an_example(path):
    args = [] if path == "(root)" else path.split()
    r = CliRunner().invoke(cli, [*args, "--help"])
    assert r.exit_code == 0, r.output
    assert "Example" in r.output, f"`organwatch {path} --help` has no example"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_readme_documents_every_command(name):
    assert f"organwatch {name}" in README, f"README does not mention `organwatch {name}`"


def test_version():
    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0 and "organwatch" in r.output


def test_quickstart_has_exactly_two_commands():
    qs = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = qs.split("```", 2)[1]
    cmds = [ln for ln in block.splitlines()[1:] if ln.strip() and not ln.strip().startswith("#")]
    assert len(cmds) == 2, cmds
    assert "organwatch report" in cmds[0] and "pytest" in cmds[1]


@pytest.mark.parametrize("args", [["nope"], ["stats", "--seed", "abc"], ["stats", "--bogus"], ["data", "show"]])
def test_usage_errors_are_one_line_exit_2(args):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "organwatch", *args], capture_output=True, text=True)
    assert p.returncode == 2
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("organwatch: error:") and "Traceback" not in p.stderr
