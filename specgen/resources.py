"""Where the packaged schemas/ and templates/ live: inside the wheel, or at the checkout's top."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
SCHEMA_ID = "urn:specgen:model-spec:v1"
SCHEMA_FILE = "model-spec.schema.json"


@cache
def data_dir(name: str) -> Path:
    """`schemas` or `templates`: the copy shipped in the wheel, else the source checkout's."""
    shipped = _PACKAGE / name
    return shipped if shipped.is_dir() else source_dir(name)


def source_dir(name: str) -> Path:
    return _PACKAGE.parent / name
