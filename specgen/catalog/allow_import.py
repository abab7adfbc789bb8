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


@cache
def _pyproject(folder: Path) -> tuple[str, ...]:
    import tomllib  # ~5 ms, paid only when a spec names a custom layer

    path = _nearest_pyproject(folder)
    if path is None:
        return ()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return ()
    found = data.get("tool", {}).get("specgen", {}).get("allow-import", [])
    return tuple(m for m in found if isinstance(m, str))


def allow_key() -> str:
    """Everything `allowed()` depends on, without parsing TOML: part of a render cache key."""
    path = _nearest_pyproject(Path.cwd())
    try:
        text = path.read_text("utf-8", "replace") if path else ""
    except OSError:
        text = "?"
    return "\0".join([*sorted(_ALLOWED), str(path), text])


def allowed() -> set[str]:
    return _ALLOWED | set(_pyproject(Path.cwd()))


def is_allowed(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in allowed())


def module_of(path: str) -> str:
    """`mypkg.layers.Scale` -> `mypkg.layers`."""
    return path.rpartition(".")[0]
