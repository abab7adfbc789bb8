"""One output file (`schema -o`, `plot -o`, `import -o`): atomic, never through a link, never
over a file that is not this command's unless --force.

`ours(existing bytes)` says whether a file on disk is one this command writes (a specgen
schema, a specgen plot, ...). Rules:
- no file: written;  same bytes: left alone;  ours: replaced;
- another regular file, or a symbolic link: refused, unless `force`, which replaces the file
  (or the link itself, never what it points to);
- a folder, FIFO or device: always refused;  a missing parent folder: refused (not created).
The replacement keeps the old file's permission bits.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..spec import limits
from .write import MAX_OUTPUT_BYTES, OutputProblem, new_file_mode, set_mode


def write_file(
    path: Path, data: bytes, *, ours: Callable[[bytes], bool], force: bool, what: str
) -> bool:
    """Write `data` to `path` by the rules above; False when the file already held it."""
    folder = path.parent
    if not folder.is_dir():
        raise OutputProblem(f"{path}: the folder {folder} does not exist")
    mode = None
    try:
        info = path.lstat()
    except FileNotFoundError:
        info = None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            if not force:
                raise OutputProblem(
                    f"{path}: is a symbolic link; specgen never writes through links; use"
                    " --force to replace the link itself"
                )
        elif not stat.S_ISREG(info.st_mode):
            what_is = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise OutputProblem(f"{path}: is {what_is}; refusing to replace it")
        else:
            try:
                existing = limits.read_regular(path, MAX_OUTPUT_BYTES)
            except limits.NotReadable:
                existing = b""
            if existing == data:
                return False
            if not force and not ours(existing):
                raise OutputProblem(f"{path}: exists and is not {what}; use --force to replace it")
            mode = stat.S_IMODE(info.st_mode)
    if mode is None:
        mode = new_file_mode(folder)
    try:
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.specgen-", suffix=".tmp")
    except OSError as exc:
        raise OutputProblem(f"{folder}: not writable ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            set_mode(stream.fileno(), temp, mode)
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except OSError as exc:
        raise OutputProblem(f"{path}: {exc.strerror or exc}") from None
    finally:
        Path(temp).unlink(missing_ok=True)
    return True
