"""Layer state given as a data file next to the spec: a vocabulary, bin boundaries.

An argument listed in `FILE_ARGS` takes its value inline (a JSON list) or as
`{"file": "vocab.txt"}`: a UTF-8 text file, one item per line, at a path relative to the
spec's folder. The spec stage reads the file while it validates (`spec/state_files.py`) and
the value reaches the generated code as a literal list, so a generated module is
self-contained: it never opens a file, and the committed golden code changes whenever the
file does.
"""

from __future__ import annotations

# One relative path: segments of letters, digits, `_`, `-`, `.`, none starting with `.` (so
# no `..`, no hidden files) and no leading `/` (no absolute paths).
FILE = {
    "title": "a text file next to the spec, one item per line",
    "type": "object",
    "properties": {
        "file": {
            "title": "a path relative to the spec's folder (no '..', no leading '/')",
            "type": "string",
            "maxLength": 255,
            "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*(?!\\n)$",
        }
    },
    "required": ["file"],
    "additionalProperties": False,
}
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_ITEM_CHARS = 1024

# (layer type, argument) -> the type of each line: "string", "integer" or "number".
FILE_ARGS = {
    ("StringLookup", "vocabulary"): "string",
    ("TextVectorization", "vocabulary"): "string",
    ("IntegerLookup", "vocabulary"): "integer",
    ("Discretization", "bin_boundaries"): "number",
    ("Normalization", "mean"): "number",
    ("Normalization", "variance"): "number",
}


def inline_or_file(schema: dict) -> dict:
    """A list given inline, or the file that holds it."""
    return {"anyOf": [schema, FILE]}
