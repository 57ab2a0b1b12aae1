"""Build hook: the optional compiled build of the screener's hot modules (mypyc), off unless asked for.

``ORGANWATCH_MYPYC=1 python3 -m pip install .`` compiles the modules named in
``src/organwatch/buildinfo.py`` (``COMPILED_MODULES``) with mypyc; without the variable the package is pure
Python and this file adds nothing. Output is byte-identical either way (tests/test_compiled_build.py).
Editable installs are never compiled (tools/buildbackend/organwatch_build.py refuses the combination): an
extension module would shadow its edited source file.
"""

import ast
import os
from pathlib import Path

from setuptools import setup


def _compiled_modules() -> list[str]:
    """``COMPILED_MODULES`` read from buildinfo.py without importing the package."""
    tree = ast.parse(Path(__file__).with_name("src").joinpath("organwatch", "buildinfo.py").read_text("utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "COMPILED_MODULES":
            return list(ast.literal_eval(node.value))
    raise SystemExit("setup.py: COMPILED_MODULES not found in src/organwatch/buildinfo.py")


def _ext_modules() -> list:
    if os.environ.get("ORGANWATCH_MYPYC") != "1":
        return []
    from mypyc.build import mypycify

    paths = [str(Path("src", *m.split(".")).with_suffix(".py")) for m in _compiled_modules()]
    # paths relative to the project root, where the build runs; the project's own mypy configuration
    # (mypyc type-checks what it compiles), without the note on overrides for modules it does not load
    return mypycify(["--config-file", "pyproject.toml", "--no-warn-unused-configs", *paths], opt_level="3")


setup(ext_modules=_ext_modules(), options={"build_ext": {"parallel": os.cpu_count() or 1}})
