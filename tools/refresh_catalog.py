"""Refresh the ``sha256`` and ``rows`` lines of src/organwatch/datasets/catalog.toml after a data file changed.

The catalog is edited by hand (origin, sources, licence, column meanings); this tool only recomputes the two
values that follow from the file, in place, and prints what changed. tests/test_datasets.py fails until the
catalog matches the files, so run this after replacing a vendored file::

    python tools/refresh_catalog.py            # every entry
    python tools/refresh_catalog.py laws       # one entry
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "organwatch" / "datasets"
CATALOG = ROOT / "catalog.toml"


def file_facts(path: Path) -> tuple[str, int | None]:
    """sha256 of the bytes, and the number of data rows of a CSV (None for other files)."""
    data = path.read_bytes()
    rows = None
    if path.suffix == ".csv":
        rows = sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))) - 1
    return hashlib.sha256(data).hexdigest(), rows


def refresh(names: list[str]) -> list[str]:
    text = CATALOG.read_text(encoding="utf-8")
    entries = tomllib.loads(text)["datasets"]
    changed = []
    for name, entry in entries.items():
        if names and name not in names:
            continue
        sha, rows = file_facts(ROOT / "data" / entry["file"])
        head = rf"(\[datasets\.{re.escape(name)}\]\n(?:(?!\[datasets\.).*\n)*?)"
        new = re.sub(head + r'sha256 = "[0-9a-f]*"\n', rf'\g<1>sha256 = "{sha}"\n', text, count=1)
        if rows is not None:
            new = re.sub(head + r"rows = \d+\n", rf"\g<1>rows = {rows}\n", new, count=1)
        if new != text:
            changed.append(name)
            text = new
    CATALOG.write_text(text, encoding="utf-8")
    return changed


if __name__ == "__main__":
    done = refresh(sys.argv[1:])
    print("refreshed: " + (", ".join(done) if done else "nothing changed"))
