"""PEP 517 build backend: setuptools' own, plus mypy as a build requirement when the compiled build is asked for.

``ORGANWATCH_MYPYC=1`` asks ``setup.py`` to compile the screener's hot modules with mypyc; mypyc ships with
mypy, so only then is mypy (the version the test extras pin) added to the wheel's build requirements. The
hooks that only list requirements or write metadata run ``setup.py`` without the variable (mypyc is not
installed yet, and compiling there would be wasted). An editable install with ``ORGANWATCH_MYPYC=1`` is
refused: a compiled module would shadow its edited source.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  # the rest of the backend interface, unchanged

MYPY = "mypy==2.4.*"  # the version pinned in the test extras (pyproject.toml)
FLAG = "ORGANWATCH_MYPYC"


def _compiling() -> bool:
    return os.environ.get(FLAG) == "1"


@contextlib.contextmanager
def _without_compiling() -> Iterator[None]:
    was = os.environ.pop(FLAG, None)
    try:
        yield
    finally:
        if was is not None:
            os.environ[FLAG] = was


def get_requires_for_build_wheel(config_settings: dict | None = None) -> list[str]:
    with _without_compiling():
        base = _setuptools.get_requires_for_build_wheel(config_settings)
    return base + ([MYPY] if _compiling() else [])


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: dict | None = None) -> str:
    with _without_compiling():
        return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def get_requires_for_build_editable(config_settings: dict | None = None) -> list[str]:
    _refuse_editable()
    return _setuptools.get_requires_for_build_editable(config_settings)


def build_editable(wheel_directory: str, config_settings: dict | None = None,
                   metadata_directory: str | None = None) -> str:
    _refuse_editable()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


def _refuse_editable() -> None:
    if _compiling():
        raise SystemExit(f"organwatch: {FLAG}=1 compiles a regular install only; use `pip install .` "
                         "(an editable install would run stale compiled modules after an edit)")
