"""Stage 6: write rendered files atomically, all or none, never over work that is not ours.

A target that specgen did not write, or whose body no longer matches the hash in its header
(edited by hand), is only replaced with `force`.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputConflict
from .header import body_is_intact, same_output
from .header import split as split_header


@dataclass(frozen=True)
class Planned:
    path: Path
    text: str
    current: str | None  # what is on disk now; None when missing

    @property
    def stale(self) -> bool:
        # Up to formatting: a user's ruff/black over a generated file leaves it current.
        return not same_output(self.current, self.text)


def _target(folder: Path, name: str) -> Path:
    path = (folder / name).resolve()
    if Path(name).name != name or path.parent != folder.resolve():
        raise ValueError(f"refusing to write {name!r} outside {folder}")
    return path


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return ""  # not text specgen could have written


def plan(folder: Path, files: dict[str, str]) -> list[Planned]:
    targets = {name: _target(folder, name) for name in sorted(files)}
    return [Planned(path, files[name], _read(path)) for name, path in targets.items()]


def conflicts(planned: list[Planned]) -> list[str]:
    problems = []
    for item in planned:
        if item.current is None or not item.stale:
            continue
        if split_header(item.current) is None:
            problems.append(
                f"{item.path}: exists and was not written by specgen; use --force to replace it"
            )
        elif not body_is_intact(item.current):
            problems.append(
                f"{item.path}: was edited by hand since specgen wrote it; use --force to replace it"
            )
    return problems


def write_all(planned: list[Planned], *, force: bool = False) -> list[Path]:
    """Write every stale file or none; returns the paths written."""
    if not force and (problems := conflicts(planned)):
        raise OutputConflict(problems)
    todo = [item for item in planned if item.stale]
    temps: list[tuple[str, Planned]] = []
    done: list[Planned] = []
    try:
        for item in todo:
            item.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(
                dir=item.path.parent, prefix=f".{item.path.name}.", suffix=".tmp"
            )
            temps.append((temp, item))
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(item.text)
                stream.flush()
                os.fsync(stream.fileno())
        for temp, item in temps:
            os.replace(temp, item.path)
            done.append(item)
    except BaseException:
        for temp, _ in temps:
            Path(temp).unlink(missing_ok=True)
        for item in done:  # put back what this render had already replaced
            if item.current is None:
                item.path.unlink(missing_ok=True)
            else:
                item.path.write_text(item.current, encoding="utf-8", newline="\n")
        raise
    return [item.path for item in todo]


def unified_diff(item: Planned) -> str:
    before = (item.current or "").splitlines(keepends=True)
    after = item.text.splitlines(keepends=True)
    label = str(item.path)
    return "".join(difflib.unified_diff(before, after, f"{label} (on disk)", f"{label} (rendered)"))
