"""Every file that a code comment, a docstring or a document names must exist (no citations of files the
repository does not have, e.g. research notes outside it)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "organwatch"
# a relative path with at least one folder and a file extension, e.g. docs/specs/cli.md
PATH_RE = re.compile(r"(?<![\w/.:-])((?:\.\./|\./)?(?:[\w.-]+/)+[\w.-]+\.(?:md|py|toml|csv|json|j2|txt|yaml|yml|html))"
                     r"(?![\w/])")
BASES = [ROOT, ROOT.parent, PKG, PKG.parent, PKG / "datasets" / "data", ROOT / "docs", ROOT / "tests"]


def _resolves(ref: str, where: Path) -> bool:
    if any(ch in ref for ch in "<>*{}$"):
        return True  # a pattern or placeholder, not a file name
    for base in [where.parent, *BASES]:
        if (base / ref).exists():
            return True
    # a path below a package folder, named from outside it (claims/data/<file> from docs)
    return any((p / ref).exists() for p in PKG.iterdir() if p.is_dir())


def _python_prose(path: Path) -> list[tuple[int, str]]:
    """(line, text) of comments and docstrings."""
    src = path.read_text(encoding="utf-8")
    out = [(t.start[0], t.string) for t in tokenize.generate_tokens(io.StringIO(src).readline)
           if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc and node.body:
                out.append((node.body[0].lineno, doc))
    return out


def _documents() -> list[Path]:
    docs = [ROOT / n for n in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md") if (ROOT / n).exists()]
    # docs/specs/ holds verbatim copies of research notes (their first line says so); the files they name are
    # library sources and proposals of the notes' authors, so they are not checked here
    return docs + sorted(p for p in (ROOT / "docs").rglob("*.md") if p.parent.name != "specs")


def _sources() -> list[Path]:
    return sorted([*PKG.rglob("*.py"), *(ROOT / "tests").glob("*.py"), *(ROOT / "benchmarks").glob("*.py"),
                   *(ROOT / "tools").glob("*.py")])


def _broken(path: Path, chunks: list[tuple[int, str]]) -> list[str]:
    bad = []
    for line, text in chunks:
        for m in PATH_RE.finditer(text):
            ref = m.group(1)
            if not _resolves(ref, path):
                bad.append(f"{path.relative_to(ROOT)}:{line}: {ref}")
    return bad


def _without_urls(text: str) -> str:
    return re.sub(r"\w+://\S+", " ", text)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_files_named_in_code_comments_exist(path: Path):
    chunks = [(ln, _without_urls(t)) for ln, t in _python_prose(path)]
    assert not _broken(path, chunks)


@pytest.mark.parametrize("path", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_files_named_in_docs_exist(path: Path):
    text = path.read_text(encoding="utf-8")
    chunks = [(i + 1, _without_urls(ln)) for i, ln in enumerate(text.splitlines())]
    assert not _broken(path, chunks)


def test_no_citation_of_research_notes_outside_the_repository():
    needle = "shared" + "/specs"
    hits = [f"{p.relative_to(ROOT)}" for p in _sources() if needle in p.read_text(encoding="utf-8")]
    assert not hits, f"cite docs/specs/*.md instead: {hits}"
