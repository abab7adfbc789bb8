"""Stage 5: ruff formats generated sources in one process, isolated from any user config."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path


class FormatError(RuntimeError):
    pass


def _ruff() -> str:
    # The ruff wheel puts its binary beside the interpreter's scripts; prefer it over PATH so the
    # pinned version formats (golden files depend on it).
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = Path(folder) / ("ruff.exe" if os.name == "nt" else "ruff")
        if candidate.is_file():
            return str(candidate)
    return "ruff"


def format_sources(sources: dict[str, str]) -> dict[str, str]:
    """{file name: source} -> the same, ruff-formatted (line length 88, Python 3.11)."""
    if not sources:
        return {}
    with tempfile.TemporaryDirectory(prefix="specgen-format-") as folder:
        for name, text in sources.items():
            Path(folder, name).write_text(text, encoding="utf-8", newline="\n")
        command = [_ruff(), "format", "--isolated", "--quiet", "--target-version", "py311", folder]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise FormatError(f"cannot run ruff ({exc}); reinstall specgen") from exc
        if result.returncode:
            raise FormatError(f"ruff could not format the generated code: {result.stderr.strip()}")
        return {name: Path(folder, name).read_text(encoding="utf-8") for name in sources}
