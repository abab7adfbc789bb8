"""A spec given as a Python dict -> JSON text, refusing what JSON cannot hold.

`json.dumps` would raise TypeError for a set or tuple key, ValueError for a 5,000-digit int or
a cycle, and RecursionError for deep nesting; each of these is a located spec error instead.
"""

from __future__ import annotations

import json
import math

from ..spec import limits
from ..spec.errors import pointer_join

Problem = tuple[str, str]  # (pointer, message)


def _check(value: object, pointer: str, depth: int, active: set[int]) -> Problem | None:
    if value is None or isinstance(value, bool | str):
        return None
    if isinstance(value, int):
        if abs(value) >= 10**limits.MAX_INT_DIGITS:
            return pointer, f"integer too large (the limit is {limits.MAX_INT_DIGITS} digits)"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (pointer, f"{value} is not valid JSON")
    if not isinstance(value, dict | list):
        return pointer, f"a {type(value).__name__} is not a JSON value"
    if depth >= limits.MAX_DEPTH:
        return pointer, f"nested deeper than {limits.MAX_DEPTH} levels"
    if id(value) in active:
        return pointer, "the value contains itself"
    active.add(id(value))
    try:
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    return pointer, f"object keys must be str, received {type(key).__name__}"
                found = _check(item, pointer_join(pointer, key), depth + 1, active)
                if found:
                    return found
        else:
            for index, item in enumerate(value):
                found = _check(item, pointer_join(pointer, index), depth + 1, active)
                if found:
                    return found
    finally:
        active.discard(id(value))
    return None


def dump_python(spec: dict) -> tuple[str, Problem | None]:
    """(JSON text, None), or ("", (pointer, message)) for the first value JSON cannot hold."""
    problem = _check(spec, "", 0, set())
    if problem:
        return "", problem
    return json.dumps(spec, indent=2, ensure_ascii=False), None
