"""The optional compiled build (setup.py, ORGANWATCH_MYPYC=1): what it compiles, and that it behaves as the source.

The slow tests build the extension modules once, in a copy of the tree (offline: the test extras' mypy and
setuptools), then: every listed module is compiled; every shared sample format, the labelled sets and a
generated dense corpus screen to the same bytes with both trees, two workers each (so tasks, options and
documents cross the process boundary), with hyperscan and with RE2; and the screen tests pass against the
compiled tree. Under CI=true a missing C compiler fails these tests instead of skipping them.
"""

from __future__ import annotations

import importlib.util
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from organwatch import buildinfo
from organwatch.screen.engine import RangeTask, ScreenOptions, TaskOutput

ROOT = Path(__file__).resolve().parents[1]

FORMATS = ["pubmed_xml", "pmc_jats", "medline", "medline_text", "medline_legacy", "ris", "ris_variants", "wos_tagged",
           "endnote_xml", "noteexpress", "ovid_tagged", "gb18030", "pdf_en", "pdf_zh"]
LABELLED = ["labelled_dev.jsonl", "labelled_heldout.jsonl", "ethics_dev.jsonl"]


def test_every_listed_module_is_a_source_file_of_the_package():
    src = ROOT / "src"
    for name in buildinfo.COMPILED_MODULES:
        assert (src / Path(*name.split("."))).with_suffix(".py").is_file(), name
    assert len(set(buildinfo.COMPILED_MODULES)) == len(buildinfo.COMPILED_MODULES)


def test_the_source_tree_reports_pure_python():
    assert buildinfo.compiled_modules() == []
    assert buildinfo.build_note() == "pure Python"


def test_version_names_the_build():
    from click.testing import CliRunner

    from organwatch.cli import cli

    r = CliRunner().invoke(cli, ["--version"])
    assert r.exit_code == 0
    assert r.output.strip().endswith("(pure Python)")


@pytest.mark.parametrize("obj", [
    ScreenOptions(rules="ddr_default", backend="re2", include_text=True, prefilter=False),
    RangeTask("x.jsonl", 10, 99, 3, ("e",)),
    TaskOutput(2, {"violation": 1}, ["x: line 2"], b"\x00payload"),
])
def test_tasks_pickle_by_their_fields(obj):
    assert obj.__reduce__()[0] is type(obj)
    assert pickle.loads(pickle.dumps(obj)) == obj


# the screen tests that also run against the compiled tree (those that reach compiled code through its
# public functions; a test that monkeypatches a compiled module's globals skips itself there)
AGAINST_COMPILED = ["test_screen_core.py", "test_screen_speed.py", "test_screen_nearscan.py", "test_screen_logic.py",
                    "test_screen_ethics.py", "test_screen_prefilter.py", "test_screen_buildcache.py",
                    "test_screen_cli.py"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """``src`` of a copy of the tree with the extension modules built in place (once for this module)."""
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no C compiler: .ci/run installs gcc")
        pytest.skip("no C compiler for the compiled build")
    tmp = tmp_path_factory.mktemp("tree")
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp / name)
    shutil.copytree(ROOT / "src", tmp / "src", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    env = {**os.environ, "ORGANWATCH_MYPYC": "1"}
    r = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tmp, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return tmp / "src"


def _screen(src: Path, inputs: list[str], out: Path, *extra: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(src)}
    r = subprocess.run([sys.executable, "-m", "organwatch", "screen", *inputs, "--out", str(out), "--format", "jsonl",
                        "--workers", "2", "--include-text", *extra], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stderr


def _same_run(log_a: str, log_b: str, name_a: str, name_b: str) -> bool:
    """The same per-file reconciliation and summary lines, but for the output's name and the elapsed time."""
    return log_a.replace(name_a, "OUT").rsplit(" in ", 1)[0] == log_b.replace(name_b, "OUT").rsplit(" in ", 1)[0]


@pytest.mark.slow
def test_every_listed_module_is_compiled(built):
    probe = subprocess.run([sys.executable, "-c", "from organwatch import buildinfo; "
                            "print(buildinfo.compiled_modules())"], env={**os.environ, "PYTHONPATH": str(built)},
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == repr(list(buildinfo.COMPILED_MODULES))


@pytest.mark.slow
def test_compiled_build_gives_byte_identical_output(built, tmp_path, shared_formats):
    spec = importlib.util.spec_from_file_location("screen_dense", ROOT / "benchmarks" / "screen_dense.py")
    assert spec is not None and spec.loader is not None
    dense = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dense)
    corpus = tmp_path / "dense.jsonl"
    dense.generate(corpus, "dense", 3.0, seed=20261202)

    inputs = [str(shared_formats / f) for f in FORMATS]
    inputs += [str(ROOT / "tests" / "data" / "screen" / f) for f in LABELLED] + [str(corpus)]
    a, b = tmp_path / "source.jsonl", tmp_path / "compiled.jsonl"
    log_a = _screen(ROOT / "src", inputs, a)
    log_b = _screen(built, inputs, b)
    assert a.stat().st_size > 1_000_000  # the dense corpus and every sample were screened
    assert a.read_bytes() == b.read_bytes()
    assert _same_run(log_a, log_b, "source.jsonl", "compiled.jsonl")


@pytest.mark.slow
def test_compiled_build_with_the_re2_backend_gives_byte_identical_output(built, tmp_path):
    inputs = [str(ROOT / "tests" / "data" / "screen" / f) for f in LABELLED]
    a, b = tmp_path / "source.jsonl", tmp_path / "compiled.jsonl"
    log_a = _screen(ROOT / "src", inputs, a, "--backend", "re2")
    log_b = _screen(built, inputs, b, "--backend", "re2")
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size > 10_000
    assert _same_run(log_a, log_b, "source.jsonl", "compiled.jsonl")


@pytest.mark.slow
def test_the_screen_tests_pass_against_the_compiled_build(built):
    """A compiled module checks the declared type of every assignment at run time, which the source never
    does (an ``re2.Set`` in a variable typed as a tuple failed there only): the screen tests run against it."""
    env = {**os.environ, "PYTHONPATH": str(built)}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
                        *[str(ROOT / "tests" / f) for f in AGAINST_COMPILED]], env=env, cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert " passed" in r.stdout.splitlines()[-1]


def _backend():
    spec = importlib.util.spec_from_file_location("organwatch_build", ROOT / "tools" / "buildbackend" /
                                                  "organwatch_build.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_backend_asks_for_mypy_only_for_the_compiled_build(monkeypatch):
    backend = _backend()
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("ORGANWATCH_MYPYC", raising=False)
    assert backend.MYPY not in backend.get_requires_for_build_wheel()
    monkeypatch.setenv("ORGANWATCH_MYPYC", "1")
    assert backend.MYPY in backend.get_requires_for_build_wheel()
    assert os.environ["ORGANWATCH_MYPYC"] == "1"  # restored after setup.py ran without it


def test_backend_pins_the_mypy_of_the_test_extras():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["optional-dependencies"]["test"]
    assert _backend().MYPY in extras


def test_backend_refuses_a_compiled_editable_install(monkeypatch, tmp_path):
    backend = _backend()
    monkeypatch.setenv("ORGANWATCH_MYPYC", "1")
    with pytest.raises(SystemExit, match="regular install only"):
        backend.build_editable(str(tmp_path))
    with pytest.raises(SystemExit, match="regular install only"):
        backend.get_requires_for_build_editable()
