"""Stage 6: write rendered files all or none, never over work that is not ours.

The guarantee (README, "What a render may write"):
- Only the named files in the output folder are written; a symbolic link at a target is never
  followed (with --force the link itself is replaced by a file); a target that is not a regular
  file (folder, FIFO, device) is refused; a file specgen did not write, or edited by hand since,
  is replaced only with --force. A replaced file keeps its permission bits.
- One render at a time per folder: an exclusive flock on the folder itself.
- All or none: every new file is first written and fsynced as `.NAME.specgen-XXXX.tmp`; then,
  with SIGINT and SIGTERM held back, a journal naming every (temp, target) pair is committed and
  the temps are renamed over the targets. A failing rename puts back every file already
  replaced (each is registered for rollback before its rename). A SIGKILL during the renames
  leaves the journal: the next render in that folder finishes the renames (every temp is
  complete), then removes the journal and any leftover temps of specgen's, before it plans.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ..spec import limits

try:
    import fcntl
except ImportError:  # Windows: no flock; renders into one folder are then not serialized
    fcntl = None
from ..spec.errors import OutputConflict
from .header import HEADER_PREFIX, HEADER_SUFFIX, body_is_intact, same_output
from .header import split as split_header

TEMP_MARK = ".specgen-"
JOURNAL = ".specgen-journal.json"
MAX_OUTPUT_BYTES = 64 * 1024 * 1024


class OutputProblem(Exception):
    """The output folder or a target cannot be used at all (not even with --force)."""


class Planned(NamedTuple):  # not a dataclass: see errors.SpecError
    path: Path
    text: str
    current: str | None  # what is on disk now; None when missing (or a link, never read)
    link: bool = False  # the target is a symbolic link

    @property
    def stale(self) -> bool:
        # Up to formatting: a user's ruff/black over a generated file leaves it current.
        return self.link or not same_output(self.current, self.text)


def _target(folder: Path, name: str) -> Path:
    if Path(name).name != name or name in (".", "..") or name.startswith(".") or "\0" in name:
        raise ValueError(f"refusing to write {name!r} outside {folder}")
    return folder / name  # not resolved: a link at the target is never followed


def _read(path: Path) -> tuple[str | None, bool]:
    """(text on disk or None when missing, is a symbolic link). Never follows a link."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None, False
    except OSError as exc:
        raise OutputProblem(f"{path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        return None, True
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise OutputProblem(f"{path}: is {what}; refusing to replace it")
    try:
        raw = limits.read_regular(path, MAX_OUTPUT_BYTES)
    except limits.NotReadable:
        return "", False  # too big to be ours: a foreign file, replaced only with --force
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return "", False  # not text specgen could have written


def plan(folder: Path, files: dict[str, str]) -> list[Planned]:
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputProblem(f"{folder}: is not a folder")
    targets = {name: _target(folder, name) for name in sorted(files)}
    return [Planned(path, files[name], *_read(path)) for name, path in targets.items()]


def conflicts(planned: list[Planned]) -> list[str]:
    problems = []
    for item in planned:
        if item.link:
            problems.append(
                f"{item.path}: is a symbolic link; specgen never writes through links;"
                " use --force to replace the link itself with the file"
            )
        elif item.current is None or not item.stale:
            continue
        elif split_header(item.current) is None:
            problems.append(
                f"{item.path}: exists and was not written by specgen; use --force to replace it"
            )
        elif not body_is_intact(item.current):
            problems.append(
                f"{item.path}: was edited by hand since specgen wrote it; use --force to replace it"
            )
        elif (theirs := _spec_of(item.current)) != (ours := _spec_of(item.text)):
            problems.append(
                f"{item.path}: was written from spec {theirs!r}, not {ours!r} (two specs' file"
                " names meet); rename one of the models, or use --force to replace it"
            )
    return problems


def _spec_of(text: str) -> str:
    """The spec (model) name in the first header line; specgen 0.1.0 wrote `spec NAME (sha256
    ...)`."""
    first = text.partition("\n")[0].removeprefix(HEADER_PREFIX).removesuffix(HEADER_SUFFIX)
    if first.startswith("spec ") and " (sha256 " in first:
        first = first.removeprefix("spec ").split(" (sha256 ")[0]
    return first


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive flock on the folder itself (no lock file to leave behind)."""
    if fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _fsync_folder(folder: Path) -> None:
    if os.name == "nt":  # folders cannot be opened or fsynced there
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def recover(folder: Path) -> None:
    """Finish a commit a SIGKILL interrupted, then remove specgen's leftover temps. Caller
    holds the folder lock, so no other render is writing here."""
    journal = folder / JOURNAL
    if journal.is_file() and not journal.is_symlink():
        try:
            pairs = json.loads(journal.read_text("utf-8"))
        except (OSError, ValueError):
            pairs = []  # written by rename: only a foreign file can be unreadable
        for temp, target in pairs if isinstance(pairs, list) else []:
            temp_path, target_path = folder / Path(temp).name, folder / Path(target).name
            if TEMP_MARK in temp_path.name and temp_path.is_file():
                os.replace(temp_path, target_path)
        _fsync_folder(folder)
        journal.unlink()
    for leftover in folder.glob(f".*{TEMP_MARK}*.tmp"):
        if leftover.is_file() or leftover.is_symlink():
            leftover.unlink(missing_ok=True)


def set_mode(fd: int, path: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows before Python 3.13
        os.chmod(path, mode)


def new_file_mode(folder: Path) -> int:
    """0o666 & ~umask, as `open` gives a new file. The umask is read without setting it
    (os.umask only reads by setting, a race with every thread creating files meanwhile): from
    /proc/self/status where the kernel reports it, else from a probe file made in `folder`."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    probe = folder / f".probe{TEMP_MARK}{os.getpid()}.tmp"
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        return stat.S_IMODE(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
        probe.unlink(missing_ok=True)


def _mode_for(item: Planned) -> int:
    try:
        info = item.path.lstat()
        if stat.S_ISREG(info.st_mode):
            return stat.S_IMODE(info.st_mode)
    except FileNotFoundError:
        pass
    return new_file_mode(item.path.parent)


def write_all(planned: list[Planned], *, force: bool = False) -> list[Path]:
    """Write every stale file or none; returns the paths written."""
    if not planned:
        return []
    folder = planned[0].path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputProblem(f"{folder}: cannot create the output folder ({exc.strerror})") from None
    try:
        with folder_lock(folder):
            recover(folder)
            # Re-read under the lock: another render may have written since `plan`.
            planned = [Planned(i.path, i.text, *_read(i.path)) for i in planned]
            if not force and (problems := conflicts(planned)):
                raise OutputConflict(problems)
            todo = [item for item in planned if item.stale]
            _commit(folder, todo)
    except OSError as exc:
        # A target file's own problem names the file; anything else (the lock, a temporary
        # file, the journal: names the user never gave) names the folder the user gave.
        targets = {str(item.path) for item in planned}
        where = exc.filename if str(exc.filename) in targets else folder
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise OutputProblem(f"{where}: not writable ({exc.strerror})") from None
        if where == folder:
            reason = exc.strerror or exc
            raise OutputProblem(f"{folder}: cannot write files here ({reason})") from None
        raise OutputProblem(f"{where}: {exc.strerror or exc}") from None
    return [item.path for item in todo]


def _commit(folder: Path, todo: list[Planned]) -> None:
    temps: list[tuple[str, Planned]] = []
    try:
        for item in todo:
            handle, temp = tempfile.mkstemp(
                dir=folder, prefix=f".{item.path.name}{TEMP_MARK}", suffix=".tmp"
            )
            temps.append((temp, item))
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(item.text)
                stream.flush()
                set_mode(stream.fileno(), temp, _mode_for(item))
                os.fsync(stream.fileno())
        with signals_held():
            _rename_all(folder, temps)
    finally:
        for temp, _ in temps:
            Path(temp).unlink(missing_ok=True)


def _backup(folder: Path, item: Planned) -> tuple[str, str] | None:
    """('file', backup path) for a regular file (a hard link, else a copy), ('link', its target)
    for a link, None for a new file: enough to put the target back exactly as it was."""
    if item.link:
        return "link", os.readlink(item.path)
    if item.current is None:
        return None
    backup = folder / f".{item.path.name}{TEMP_MARK}{os.getpid()}.old.tmp"
    backup.unlink(missing_ok=True)
    try:
        os.link(item.path, backup, follow_symlinks=False)
    except OSError:  # a file system without hard links
        shutil.copy2(item.path, backup, follow_symlinks=False)
    return "file", str(backup)


def _restore(item: Planned, saved: tuple[str, str] | None) -> None:
    if saved is None:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            item.path.unlink()
    elif saved[0] == "file":
        os.replace(saved[1], item.path)
    else:
        with contextlib.suppress(FileNotFoundError):
            item.path.unlink()
        os.symlink(saved[1], item.path)


def _rename_all(folder: Path, temps: list[tuple[str, Planned]]) -> None:
    saved = [_backup(folder, item) for _, item in temps]
    journal_temp = folder / f".journal{TEMP_MARK}commit.tmp"
    journal_temp.write_text(json.dumps([[t, str(i.path)] for t, i in temps]), encoding="utf-8")
    os.replace(journal_temp, folder / JOURNAL)
    _fsync_folder(folder)
    done: list[tuple[Planned, tuple[str, str] | None]] = []
    try:
        for (temp, item), backup in zip(temps, saved, strict=True):
            done.append((item, backup))  # registered first: a failed rename is put back too
            os.replace(temp, item.path)
        _fsync_folder(folder)
    except BaseException:
        # Each file is put back on its own: the target whose rename failed may refuse the
        # restore as well (an immutable file), which must not stop the others'.
        for item, backup in reversed(done):
            with contextlib.suppress(OSError):
                _restore(item, backup)
        raise
    finally:
        (folder / JOURNAL).unlink(missing_ok=True)
        for backup in saved:
            if backup and backup[0] == "file":
                Path(backup[1]).unlink(missing_ok=True)


def unified_diff(item: Planned) -> str:
    import difflib  # only for --diff

    before = (item.current or "").splitlines(keepends=True)
    after = item.text.splitlines(keepends=True)
    label = str(item.path)
    return "".join(difflib.unified_diff(before, after, f"{label} (on disk)", f"{label} (rendered)"))
