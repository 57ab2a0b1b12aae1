"""Tests for the environment the console entry point sets before any engine loads numpy (one BLAS thread)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from organwatch.cli import BLAS_THREADS, main


def run_version() -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code in (0, None)


def test_main_gives_numpy_one_blas_thread(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "unset after the test")  # so that monkeypatch restores the absence
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    run_version()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"


def test_a_users_choice_is_kept(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    run_version()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"


def test_setting_comes_before_numpy_loads():
    # The variable only works if it is set before numpy (and its OpenBLAS) is imported: the CLI module must not
    # import numpy itself, and numpy imported after the call must start no BLAS threads.
    code = (
        "import sys, os\n"
        "import organwatch.cli as c\n"
        "assert 'numpy' not in sys.modules, 'organwatch.cli imports numpy'\n"
        "os.environ.pop('OPENBLAS_NUM_THREADS', None)\n"
        "c.single_threaded_blas()\n"
        "import numpy\n"
        "print(os.environ['OPENBLAS_NUM_THREADS'], len(os.listdir('/proc/self/task')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in BLAS_THREADS}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    value, threads = p.stdout.split()
    assert value == "1"
    if os.path.isdir("/proc/self/task"):  # Linux: OpenBLAS started no threads of its own
        assert threads == "1"


def test_stats_result_does_not_depend_on_the_blas_threads():
    # The fits are least squares through numpy's BLAS: one thread or two must give the same bytes.
    outputs = set()
    for threads in ("1", "2"):
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads}
        p = subprocess.run([sys.executable, "-m", "organwatch", "stats", "--json", "-q"], capture_output=True, env=env)
        assert p.returncode == 0, p.stderr
        outputs.add(p.stdout)
    assert len(outputs) == 1
