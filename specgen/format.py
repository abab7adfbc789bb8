"""Stage 5: ruff formats generated sources in one process, isolated from any user config."""

from __future__ import annotations

import os
import sys
import sysconfig
from functools import cache as cache_forever
from pathlib import Path

from . import cache


class FormatError(RuntimeError):
    pass


def _ruff() -> str:
    # The ruff wheel puts its binary beside the interpreter's scripts; prefer it over PATH so the
    # ruff installed with specgen formats, whatever else is on PATH.
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(folder) / ("ruff.exe" if os.name == "nt" else "ruff")
        if candidate.is_file():
            return str(candidate)
    return "ruff"


@cache_forever
def ruff_identity() -> str:
    """Which ruff formats: its path, size and mtime (cheaper than running `ruff --version`)."""
    ruff = _ruff()
    try:
        import shutil

        path = shutil.which(ruff) or ruff
        stat = os.stat(path)
    except (OSError, TypeError):
        return ruff
    return f"{path}:{stat.st_size}:{stat.st_mtime_ns}"


def format_sources(sources: dict[str, str]) -> dict[str, str]:
    """{file name: source} -> the same, ruff-formatted (line length 88, Python 3.11).

    ruff's output for an exact input and ruff binary is cached (specgen/cache.py): starting
    ruff is a third of a one-spec render, and a re-render of an unchanged spec skips it.
    """
    if not sources:
        return {}
    ruff = _ruff()
    identity = ruff_identity()
    keys = {name: cache.key("ruff-format-py311", identity, text) for name, text in sources.items()}
    done = {name: cache.get("formatted", keys[name]) for name in sources}
    todo = {name: sources[name] for name, text in done.items() if text is None}
    if todo:
        fresh = _run_ruff(ruff, todo)
        for name, text in fresh.items():
            cache.put("formatted", keys[name], text)
            done[name] = text
    return done  # type: ignore[return-value]


def _run_ruff(ruff: str, sources: dict[str, str]) -> dict[str, str]:
    import subprocess  # with tempfile, ~8 ms: only paid when the cache misses
    import tempfile

    with tempfile.TemporaryDirectory(prefix="specgen-format-") as folder:
        for name, text in sources.items():
            Path(folder, name).write_text(text, encoding="utf-8", newline="\n")
        command = [ruff, "format", "--isolated", "--quiet", "--target-version", "py311", folder]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise FormatError(f"cannot run ruff ({exc}); reinstall specgen") from exc
        if result.returncode:
            raise FormatError(f"ruff could not format the generated code: {result.stderr.strip()}")
        return {name: Path(folder, name).read_text(encoding="utf-8") for name in sources}
