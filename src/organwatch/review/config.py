"""Reads ``review.toml`` (labels, keyboard shortcuts, de-duplication and agreement settings) once."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Label:
    code: str
    name: str
    keys: tuple[str, ...]
    description: str


@lru_cache(maxsize=1)
def settings() -> dict[str, Any]:
    return tomllib.loads(resources.files("organwatch.review").joinpath("review.toml").read_text("utf-8"))


@lru_cache(maxsize=1)
def labels() -> tuple[Label, ...]:
    return tuple(Label(d["code"], d["name"], tuple(d["keys"]), d["description"]) for d in settings()["labels"])


def label_codes() -> tuple[str, ...]:
    return tuple(lab.code for lab in labels())
