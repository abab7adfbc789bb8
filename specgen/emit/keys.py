"""Cache keys: a hash of the CONTENT of everything besides the spec that decides a render's
output (specgen/emit/cache.py keeps the results). Never a hand-written version tag: a change
to any module, template, schema, setting, ruff or Jinja2 is a new key."""

from __future__ import annotations

import hashlib
from functools import cache as memoize
from pathlib import Path

from ..spec import resources
from . import cache
from . import format as formatting

# specgen's Environment settings, in one place: new_environment applies them, and the render
# cache key names them (the compiled-template caches check a live Environment's settings).
SETTINGS = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "autoescape": False,
}


def sources_digest(templates: Path | None) -> str | None:
    """A hash of the content of everything besides the spec that decides the output: specgen's
    code (every module), every packaged template and schema file, every file under the
    --templates folder (subfolders too), the Environment's SETTINGS, ruff's binary and the
    arguments specgen runs it with, Jinja2's code and the Python version. None (do not cache)
    when a template folder holds anything but regular files (a FIFO would hang the read; the
    loader reports it) or cannot be read."""
    installed = _installed_digest()
    overrides = _files_digest(Path(templates)) if templates else ""
    if installed is None or overrides is None:
        return None
    return cache.key(installed, overrides)


@memoize
def _installed_digest() -> str | None:
    """The part that cannot change while this process runs: read once, not once a spec."""
    templates = _files_digest(resources.data_dir("templates"))
    schemas = _files_digest(resources.data_dir("schemas"))
    if templates is None or schemas is None:
        return None
    return cache.key(
        cache.code_digest(),
        templates,
        schemas,
        repr(sorted(SETTINGS.items())),
        formatting.identity(),
        jinja_digest(),
    )


@memoize
def jinja_digest() -> str:
    """The content of the Jinja2 that compiles and runs the templates (and MarkupSafe's)."""
    import importlib.util

    parts = []
    for name in ("jinja2", "markupsafe"):
        found = importlib.util.find_spec(name)
        if found is None or not found.origin:
            parts.append(f"{name}: none")
            continue
        for path in sorted(Path(found.origin).parent.glob("*.py")):
            parts += [path.name, cache.file_digest(str(path))]
    return cache.key(*parts)


def _files_digest(folder: Path) -> str | None:
    """Every file under `folder`, subfolders included (a template may include one from a
    subfolder), less Python's __pycache__ (pip compiles the packaged shared modules)."""
    import os

    from ..spec import limits

    parts = []
    for where, folders, names in os.walk(folder):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(names):
            path = Path(where, name)
            try:
                data = limits.read_regular(path, limits.MAX_TEMPLATE_BYTES)
            except (limits.NotReadable, ValueError):
                return None
            parts += [str(path.relative_to(folder)), hashlib.sha256(data).hexdigest()]
    return cache.key(str(folder), *parts)
