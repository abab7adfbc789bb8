"""Read the layer state a spec keeps in data files (`catalog/state.py`) into the spec.

`{"file": "vocab.txt"}` at an argument in `state.FILE_ARGS` becomes the list the file holds,
one item per line, before the names, graph and shapes are checked; from there on the spec is
as if the list had been written inline (its hash, the generated literal). A file is found
relative to the spec's folder and must stay inside it (a symlink out of it is refused); it is
a regular UTF-8 file of bounded size. Every problem is one error at the argument's pointer.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..catalog import state
from . import limits
from .errors import SpecError, pointer_join
from .loader import Loaded

PARSE = {"string": str, "integer": int, "number": float}
AN = {"string": "a string", "integer": "an integer", "number": "a number"}


def _layer_lists(data: dict):
    yield "/layers", data.get("layers", [])
    for name, block in (data.get("blocks") or {}).items():
        yield pointer_join(pointer_join("/blocks", name), "layers"), block.get("layers", [])


def _file_forms(data: dict):
    """(pointer, layer, argument) of each file form in a schema-valid spec."""
    for where, layers in _layer_lists(data):
        for i, layer in enumerate(layers):
            for (kind, arg), item in state.FILE_ARGS.items():
                value = layer.get(arg)
                if layer.get("type") == kind and isinstance(value, dict) and "file" in value:
                    yield f"{where}/{i}/{arg}/file", layer, arg, item


def reads_files(raw: bytes) -> bool:
    """Whether a spec's bytes name state files: its render depends on more than those bytes
    (a cache keyed by them must not keep it). Unsure (it does not parse here) means yes."""
    if b'"file"' not in raw and b"\\u" not in raw:
        return False
    try:
        data = json.loads(raw.decode("utf-8-sig"))
        return isinstance(data, dict) and any(True for _ in _file_forms(data))
    except (ValueError, AttributeError, TypeError):
        return True


def inline(loaded: Loaded) -> list[SpecError]:
    """Replace each file form in `loaded.data` by its list; the errors found on the way."""
    errors = []
    for pointer, layer, arg, item in list(_file_forms(loaded.data)):
        relative = layer[arg]["file"]
        try:
            layer[arg] = _read(loaded.file, relative, item)
        except ValueError as exc:
            errors.append(loaded.error(pointer, f"{relative!r}: {exc}"))
    return errors


def _read(spec_file: str, relative: str, item: str) -> list:
    if not os.path.isfile(spec_file):
        raise ValueError("a state file is read from the spec's folder: load the spec from a file")
    folder = Path(spec_file).resolve().parent
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder):
        raise ValueError("the file must stay inside the spec's folder")
    try:
        raw = limits.read_regular(path, state.MAX_FILE_BYTES)
        text = raw.decode("utf-8")
    except limits.NotReadable as exc:
        raise ValueError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 ({exc.reason})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise ValueError("the file holds no lines")
    if len(lines) > limits.MAX_ITEMS:
        raise ValueError(f"{len(lines):,} lines; the limit is {limits.MAX_ITEMS:,}")
    items, seen = [], {}
    for number, line in enumerate(lines, 1):
        if "\r" in line:
            raise ValueError(f"line {number} holds a carriage return (write the file with \\n)")
        if len(line) > state.MAX_ITEM_CHARS:
            raise ValueError(f"line {number} is longer than {state.MAX_ITEM_CHARS} characters")
        try:
            value = PARSE[item](line)
        except ValueError:
            raise ValueError(f"line {number} is not {AN[item]}: {line!r}") from None
        if item == "number" and not math.isfinite(value):
            raise ValueError(f"line {number} is not a finite number: {line!r}")
        if item != "number" and value in seen:
            raise ValueError(f"line {number} repeats line {seen[value]}: {line!r}")
        seen[value] = number
        items.append(value)
    return items
