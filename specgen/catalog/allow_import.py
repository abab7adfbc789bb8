"""Custom layers: which Python modules a spec's `CustomLayer` may import.

Spec text never chooses code to import on its own: a custom layer's module must be allowed from
outside the spec, by `specgen --allow-import MODULE ...`, by `specgen.allow_import(...)` in
Python, or by the user's pyproject.toml:

    [tool.specgen]
    allow-import = ["mypkg.layers"]

(the nearest pyproject.toml from the current folder upwards). Allowing `mypkg` allows its
submodules too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

_ALLOWED: set[str] = set()


def allow_import(*modules: str) -> None:
    """Allow custom layer classes from these modules (and their submodules) in this process."""
    _ALLOWED.update(modules)


@contextmanager
def allowing(*modules: str) -> Iterator[None]:
    """Allow these modules for the duration of a `with` block (`specgen import` checks the
    spec it wrote this way, then tells the user what to allow)."""
    before = set(_ALLOWED)
    _ALLOWED.update(modules)
    try:
        yield
    finally:
        _ALLOWED.intersection_update(before)


def _nearest_pyproject(folder: Path) -> Path | None:
    """The pyproject.toml that governs `folder`: its own or its nearest parent's."""
    candidates = (place / "pyproject.toml" for place in (folder, *folder.parents))
    return next((path for path in candidates if path.is_file()), None)


class AllowImportProblem(ValueError):
    """`allow-import` in pyproject.toml is not a list of module names: the message names the
    file, the key and the form expected (model.resolve.custom_problem reports it at the custom
    layer)."""


EXPECTED = 'a list of module names, such as allow-import = ["mypkg.layers"]'


def is_module_name(name: object) -> bool:
    """A dotted Python module name: identifiers (as Python normalizes them), no keywords."""
    import unicodedata
    from keyword import iskeyword

    if not isinstance(name, str) or not name:
        return False
    parts = name.split(".")
    return all(
        part.isidentifier() and not iskeyword(part) and unicodedata.normalize("NFKC", part) == part
        for part in parts
    )


@cache
def _pyproject(folder: Path) -> tuple[str, ...]:
    import tomllib  # ~5 ms, paid only when a spec names a custom layer

    path = _nearest_pyproject(folder)
    if path is None:
        return ()
    where = f"{path}: [tool.specgen] allow-import"
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AllowImportProblem(f"{path}: cannot be read as TOML ({exc})") from None
    tool = data.get("tool", {})
    table = tool.get("specgen", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict) or "allow-import" not in table:
        return ()
    found = table["allow-import"]
    if not isinstance(found, list):
        kind = {str: "a string", dict: "a table"}.get(type(found), type(found).__name__)
        raise AllowImportProblem(f"{where} must be {EXPECTED}; received {kind}")
    bad = [name for name in found if not is_module_name(name)]
    if bad:
        raise AllowImportProblem(
            f"{where} must be {EXPECTED}; received {', '.join(repr(b) for b in bad)},"
            " which is not a module name"
        )
    return tuple(found)


def allow_key() -> str:
    """Everything `allowed()` depends on, without parsing TOML: part of a render cache key."""
    path = _nearest_pyproject(Path.cwd())
    try:
        text = path.read_text("utf-8", "replace") if path else ""
    except OSError:
        text = "?"
    return "\0".join([*sorted(_ALLOWED), str(path), text])


def allowed() -> set[str]:
    """The modules allowed; raises AllowImportProblem for a malformed pyproject.toml."""
    return _ALLOWED | set(_pyproject(Path.cwd()))


def is_allowed(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in allowed())


def module_of(path: str) -> str:
    """`mypkg.layers.Scale` -> `mypkg.layers`."""
    return path.rpartition(".")[0]
