"""Errors are values: every stage collects them, the CLI prints them once."""

from __future__ import annotations

from typing import NamedTuple


class SpecError(NamedTuple):
    """One problem in a spec, located by line, column and JSON pointer; errors sort by place.

    A NamedTuple rather than a frozen dataclass: `dataclasses` imports `inspect`, ~7 ms that a
    re-render served from the cache would otherwise pay just for this class."""

    file: str
    line: int
    column: int
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.pointer or '/'}: {self.message}"


class SpecInvalid(Exception):
    """Raised by the public API when a spec has errors; `errors` holds all of them."""

    def __init__(self, errors: list[SpecError]):
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class OutputConflict(Exception):
    """A file at a target path that specgen may not overwrite (not ours, or edited by hand)."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


def pointer_join(pointer: str, key: str | int) -> str:
    """RFC 6901: '~' and '/' in a key are escaped."""
    text = str(key).replace("~", "~0").replace("/", "~1")
    return f"{pointer}/{text}"


class TemplateProblem(Exception):
    """A --templates folder or template that cannot be used: `FILE:LINE: message`."""
