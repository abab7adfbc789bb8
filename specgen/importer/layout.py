"""An imported spec laid out as the specs in specs/ are written by hand: `$schema` first,
2-space indents, and every object or list that fits on one line (a shape, a layer's short
argument list, an optimizer) on one line; a list of several objects (inputs, layers) one
object a line."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..spec.resources import SCHEMA_FILE, SCHEMA_ID

WIDTH = 100  # the columns a line may take, as in specs/


def schema_reference(output: Path) -> str:
    """What the spec's `$schema` says: the relative path to a `schemas/model-spec.schema.json`
    in the output's folder or above it (as specs/ refer to the repository's schema, so that an
    editor checks the spec as it is typed), else specgen's schema id."""
    folder = output.resolve().parent
    for candidate in (folder, *folder.parents):
        schema = candidate / "schemas" / SCHEMA_FILE
        if schema.is_file():
            return Path(os.path.relpath(schema, folder)).as_posix()
    return SCHEMA_ID


def with_schema(spec: dict, reference: str) -> dict:
    """The spec with `$schema` as its first key."""
    return {"$schema": reference, **{k: v for k, v in spec.items() if k != "$schema"}}


def dumps(value: object) -> str:
    """JSON text: one line for what fits in WIDTH columns, else one member a line."""
    return _layout(value, 0, "") + "\n"


def _one_line(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _layout(value: object, indent: int, prefix: str) -> str:
    flat = _one_line(value)
    several_objects = isinstance(value, list) and sum(isinstance(v, dict) for v in value) > 1
    fits = indent + len(prefix + flat) < WIDTH and not several_objects
    if not isinstance(value, dict | list) or not value or fits:
        return flat
    inner = " " * (indent + 2)
    if isinstance(value, dict):
        members = [
            inner + _key(key) + _layout(item, indent + 2, _key(key)) for key, item in value.items()
        ]
        opening, closing = "{", "}"
    else:
        members = [inner + _layout(item, indent + 2, "") for item in value]
        opening, closing = "[", "]"
    return opening + "\n" + ",\n".join(members) + "\n" + " " * indent + closing


def _key(key: str) -> str:
    return _one_line(key) + ": "
