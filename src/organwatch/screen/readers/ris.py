"""Compatibility entry point for the RIS reader (benchmarks): the records of one RIS file, reconciled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from organwatch.errors import RecordError
from organwatch.screen.documents import Document


def read_ris(path: Path) -> Iterator[Document | RecordError]:
    from organwatch.screen.readers import iter_documents

    yield from iter_documents([path], "ris")
