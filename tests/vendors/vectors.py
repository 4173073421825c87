"""Load the signing vectors: the committed copy always, the shared original when present."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
COMMITTED = Path(__file__).resolve().parent / "data" / "signing-vectors.json"
SHARED = REPO.parent / "shared" / "signing-vectors.json"


def sources() -> list[tuple[str, Path]]:
    """``(label, path)`` of every vector file to test: committed first, shared if present."""
    found = [("committed", COMMITTED)]
    if SHARED.exists():
        found.append(("shared", SHARED))
    return found


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def params(section: str, prefix: str = "") -> list[Any]:
    """pytest params ``(vector,)`` from every source, for vectors whose id starts with prefix."""
    out = []
    for label, path in sources():
        for vector in load(path)[section]:
            if vector["id"].startswith(prefix):
                out.append(pytest.param(vector, id=f"{label}-{vector['id']}"))
    return out


def vector(section: str, vector_id: str) -> dict[str, Any]:
    """One vector from the committed copy (always present)."""
    for v in load(COMMITTED)[section]:
        if v["id"] == vector_id:
            found: dict[str, Any] = v
            return found
    raise KeyError(vector_id)
