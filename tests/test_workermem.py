"""Pool workers of the screener keep the heap memory they free (organwatch.workermem: glibc mallopt)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from organwatch import workermem
from organwatch.screen.engine import ScreenOptions, run_local

glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")


@glibc
def test_thresholds_are_set_in_a_process_that_asks():
    code = ("from organwatch import workermem as w; assert not w.applied(); "
            "assert w.keep_freed_memory() and w.applied(); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


@glibc
def test_screen_pool_workers_keep_freed_memory():
    got: list[bool] = []
    run_local([1, 2, 3, 4], ScreenOptions(), workers=2, on_chunk=got.append, fn=workermem.applied)
    assert got == [True, True, True, True]


def test_importing_changes_nothing():
    code = "import organwatch.screen.engine, organwatch.workermem as w; print(w.applied())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
