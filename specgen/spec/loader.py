"""Stage 1: JSON text -> Python values, with a source map from JSON pointers to line:column.

The standard `json` module cannot say where a value came from, silently keeps the last of
duplicate keys and accepts NaN, so specgen parses JSON itself (strings still go through the C
`scanstring`, which keeps this fast).
"""

from __future__ import annotations

import bisect
import json.decoder
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import limits
from .errors import SpecError, pointer_join

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_NON_JSON = ("NaN", "Infinity", "-Infinity")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Malformed(Exception):
    def __init__(self, offset: int, message: str, pointer: str = ""):
        self.offset = offset
        self.message = message
        self.pointer = pointer


@dataclass
class SourceMap:
    """Where each value (and each object key) starts, as character offsets into the text."""

    text: str
    values: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    _line_starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def locate(self, pointer: str, *, key: bool = False) -> tuple[int, int]:
        """line:column of the value at `pointer` (or of its key), else of the nearest parent."""
        table = self.keys if key and pointer in self.keys else self.values
        while pointer and pointer not in table:
            pointer = pointer.rsplit("/", 1)[0]
            table = self.values
        return self.position(table.get(pointer, 0))


@dataclass
class Loaded:
    """A parsed spec: its data, where it came from, and problems found while reading it."""

    file: str
    data: Any
    source: SourceMap
    errors: list[SpecError]

    def error(self, pointer: str, message: str, *, key: bool = False) -> SpecError:
        line, column = self.source.locate(pointer, key=key)
        return SpecError(self.file, line, column, pointer, message)


def load_text(text: str, file: str = "<spec>", max_chars: int = limits.MAX_SPEC_BYTES) -> Loaded:
    """Parse JSON text. Malformed JSON is an error at its position; duplicates are all reported.

    Past any limit in `specgen.limits` (size, depth, digits, string length, items) the text is
    refused with an error at the place where the limit was crossed.
    """
    if not isinstance(text, str):
        raise TypeError(f"load_text() takes str, received {type(text).__name__}")
    if text.startswith("\ufeff"):
        text = text[1:]
    if len(text) > max_chars:
        message = f"the text is {len(text):,} characters; the limit is {max_chars:,}"
        return Loaded(file, None, SourceMap(""), [SpecError(file, 1, 1, "", message)])
    source = SourceMap(text)
    parser = _Parser(text, source)
    try:
        if not text.strip():
            raise _Malformed(0, "the file is empty; expected a JSON object")
        data = parser.parse()
    except _Malformed as exc:
        line, column = source.position(exc.offset)
        return Loaded(file, None, source, [SpecError(file, line, column, exc.pointer, exc.message)])
    errors = [
        SpecError(file, *source.position(offset), pointer, message)
        for offset, pointer, message in parser.problems
    ]
    return Loaded(file, data, source, errors)


def load_bytes(raw: bytes, file: str = "<spec>", max_chars: int = limits.MAX_SPEC_BYTES) -> Loaded:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = raw[: exc.start].decode("utf-8")
        source = SourceMap(good)
        line, column = source.position(len(good))
        message = f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        return Loaded(file, None, source, [SpecError(file, line, column, "", message)])
    return load_text(text, file, max_chars)


def load_path(path: str | Path) -> Loaded:
    """Read a spec file: only a regular file of at most `limits.MAX_SPEC_BYTES` bytes."""
    path = Path(path)
    try:
        raw = limits.read_regular(path, limits.MAX_SPEC_BYTES)
    except limits.NotReadable as exc:
        return Loaded(str(path), None, SourceMap(""), [SpecError(str(path), 1, 1, "", str(exc))])
    return load_bytes(raw, str(path))


class _Parser:
    def __init__(self, text: str, source: SourceMap):
        self.text = text
        self.source = source
        self.problems: list[tuple[int, str, str]] = []

    def parse(self) -> Any:
        value, end = self.value(_WS.match(self.text, 0).end(), "", 0)
        end = _WS.match(self.text, end).end()
        if end != len(self.text):
            raise _Malformed(end, "unexpected text after the JSON value")
        return value

    def value(self, i: int, pointer: str, depth: int) -> tuple[Any, int]:
        self.source.values[pointer] = i
        text = self.text
        char = text[i : i + 1]
        if char in "{[" and char and depth >= limits.MAX_DEPTH:
            raise _Malformed(i, f"nested deeper than {limits.MAX_DEPTH} levels", pointer)
        if char == "{":
            return self.object(i + 1, pointer, depth + 1)
        if char == "[":
            return self.array(i + 1, pointer, depth + 1)
        if char == '"':
            return self.string(i, pointer)
        number = _NUMBER.match(text, i)
        if number:
            token = number.group()
            digits = len(token.lstrip("-"))
            if not (number.group(1) or number.group(2)) and digits > limits.MAX_INT_DIGITS:
                raise _Malformed(
                    i,
                    f"integer of {digits} digits; the limit is {limits.MAX_INT_DIGITS} digits",
                    pointer,
                )
            if len(token) > 1000:
                raise _Malformed(i, f"number of {len(token)} characters is too long", pointer)
            if number.group(1) or number.group(2):
                result = float(token)
                if result in (float("inf"), float("-inf")):
                    raise _Malformed(i, f"number {token} is out of range")
                return result, number.end()
            return int(token), number.end()
        for word, literal in _LITERALS.items():
            if text.startswith(word, i):
                return literal, i + len(word)
        for word in _NON_JSON:
            if text.startswith(word, i):
                raise _Malformed(i, f"{word} is not valid JSON; use a finite number")
        if not char:
            raise _Malformed(i, "unexpected end of file; expected a value")
        raise _Malformed(i, f"expected a JSON value, received {char!r}")

    def string(self, i: int, pointer: str = "") -> tuple[str, int]:
        try:
            value, end = json.decoder.scanstring(self.text, i + 1, True)
        except json.JSONDecodeError as exc:
            raise _Malformed(exc.pos, exc.msg.lower()) from None
        if len(value) > limits.MAX_STRING_CHARS:
            raise _Malformed(
                i,
                f"string of {len(value):,} characters; the limit is {limits.MAX_STRING_CHARS:,}",
                pointer,
            )
        if _SURROGATE.search(value):
            # Valid JSON escapes, but no UTF-8 file or Python source can hold a lone surrogate.
            raise _Malformed(
                i, "string holds a lone surrogate (\\ud800-\\udfff); not valid text", pointer
            )
        return value, end

    def object(self, i: int, pointer: str, depth: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        i = self.skip(i)
        if self.text.startswith("}", i):
            return result, i + 1
        while True:
            if not self.text.startswith('"', i):
                raise _Malformed(i, "expected a key in double quotes")
            key_at = i
            key, i = self.string(i, pointer)
            child = pointer_join(pointer, key)
            i = self.expect(i, ":")
            if key in result:
                self.problems.append((key_at, child, f"duplicate key {key!r}"))
            self.source.keys[child] = key_at
            if len(result) >= limits.MAX_ITEMS:
                raise _Malformed(key_at, f"object of over {limits.MAX_ITEMS:,} keys", pointer)
            result[key], i = self.value(self.skip(i), child, depth)
            i = self.skip(i)
            if self.text.startswith("}", i):
                return result, i + 1
            i = self._comma(i, "}")

    def array(self, i: int, pointer: str, depth: int) -> tuple[list[Any], int]:
        result: list[Any] = []
        i = self.skip(i)
        if self.text.startswith("]", i):
            return result, i + 1
        while True:
            if len(result) >= limits.MAX_ITEMS:
                raise _Malformed(i, f"array of over {limits.MAX_ITEMS:,} items", pointer)
            item, i = self.value(i, pointer_join(pointer, len(result)), depth)
            result.append(item)
            i = self.skip(i)
            if self.text.startswith("]", i):
                return result, i + 1
            i = self._comma(i, "]")

    def _comma(self, i: int, close: str) -> int:
        """Past the comma between two members; a trailing comma is named as such (JSON has none,
        and "expected a key" would not say what to delete)."""
        comma = self.skip(i)
        i = self.skip(self.expect(i, ","))
        if self.text.startswith(close, i):
            raise _Malformed(comma, f"trailing comma before {close!r}; JSON allows none, delete it")
        return i

    def skip(self, i: int) -> int:
        return _WS.match(self.text, i).end()

    def expect(self, i: int, token: str) -> int:
        i = self.skip(i)
        if not self.text.startswith(token, i):
            found = self.text[i : i + 1]
            received = repr(found) if found else "end of file"
            raise _Malformed(i, f"expected {token!r}, received {received}")
        return i + 1
