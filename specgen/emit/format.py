"""Stage 5: ruff formats generated sources in one process, isolated from any user config."""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Callable
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


# The arguments specgen runs ruff with: part of every formatted-output cache key (identity).
# --no-cache: ruff would otherwise leave a .ruff_cache folder in the user's current folder.
ARGUMENTS = ("format", "--isolated", "--no-cache", "--quiet", "--target-version", "py311")


@cache_forever
def identity() -> str:
    """Which ruff formats, and how: the content of its binary (cache.file_digest) and
    ARGUMENTS."""
    ruff = _ruff()
    import shutil

    path = shutil.which(ruff) or ruff
    return cache.key(cache.file_digest(path), *ARGUMENTS)


def start(sources: dict[str, str]) -> Callable[[], dict[str, str]]:
    """Start formatting; the returned function waits for and returns the result, so the caller
    can work while ruff runs.

    ruff's output for an exact input and ruff binary is cached (specgen/emit/cache.py): starting
    ruff is a sixth of a cold one-spec render, and a re-render of an unchanged spec skips it.
    """
    if not sources:
        return dict
    ruff = _ruff()
    ruff_is = identity()
    keys = {name: cache.key("ruff", ruff_is, text) for name, text in sources.items()}
    done = {name: cache.get("formatted", keys[name]) for name in sources}
    todo = {name: sources[name] for name, text in done.items() if text is None}
    if not todo:
        return lambda: done  # type: ignore[return-value]
    wait = _start_ruff(ruff, todo)

    def finish() -> dict[str, str]:
        for name, text in wait().items():
            cache.put("formatted", keys[name], text)
            done[name] = text
        return done  # type: ignore[return-value]

    return finish


def _start_ruff(ruff: str, sources: dict[str, str]) -> Callable[[], dict[str, str]]:
    import subprocess  # with tempfile, ~8 ms: only paid when the cache misses
    import tempfile

    folder = tempfile.TemporaryDirectory(prefix="specgen-format-")
    try:
        for name, text in sources.items():
            Path(folder.name, name).write_text(text, encoding="utf-8", newline="\n")
        process = subprocess.Popen(
            [ruff, *ARGUMENTS, folder.name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    except OSError as exc:
        folder.cleanup()
        raise FormatError(f"cannot run ruff ({exc}); reinstall specgen") from exc
    except BaseException:
        folder.cleanup()
        raise

    def wait() -> dict[str, str]:
        with folder:
            _, errors = process.communicate()
            if process.returncode:
                raise FormatError(f"ruff could not format the generated code: {errors.strip()}")
            return {name: Path(folder.name, name).read_text(encoding="utf-8") for name in sources}

    return wait
