"""Which modules the optional compiled build (mypyc) compiles, and which of them this install runs compiled.

``COMPILED_MODULES`` is the one list: ``setup.py`` compiles exactly these when the build is asked for with
``ORGANWATCH_MYPYC=1`` (docs/screen-speed.md, "The optional compiled build"), and :func:`compiled_modules` reports which
of them were imported from an extension module rather than from their source. Nothing is imported here
beyond the standard library; :func:`compiled_modules` looks the modules up without running them.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util

# The screener's per-document hot path: reading, normalisation, scan, passage logic, ethics, serialisation.
COMPILED_MODULES: tuple[str, ...] = (
    "organwatch.gcpause",
    "organwatch.textscript",
    "organwatch.screen.documents",
    "organwatch.screen.engine",
    "organwatch.screen.ethics",
    "organwatch.screen.logic",
    "organwatch.screen.matching",
    "organwatch.screen.nearscan",
    "organwatch.screen.normalise",
    "organwatch.screen.patterns",
    "organwatch.screen.prefilter",
    "organwatch.screen.scanner",
    "organwatch.screen.sink",
    "organwatch.screen.readers.bulk",
    "organwatch.screen.readers.tabular",
)


def compiled_modules() -> list[str]:
    """The modules of :data:`COMPILED_MODULES` that this install imports from an extension module."""
    out = []
    for name in COMPILED_MODULES:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)):
            out.append(name)
    return out


def build_note() -> str:
    """One line for ``organwatch --version``: pure Python, or how many screener modules are compiled."""
    done = compiled_modules()
    if not done:
        return "pure Python"
    return f"compiled with mypyc: {len(done)} of {len(COMPILED_MODULES)} screener modules"
