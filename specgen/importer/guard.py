"""`specgen import` input limits: what may be read from a .keras file or a config.json.

A .keras file is a zip: config.json's declared size, its actual size (read in bounded chunks,
so a lying header cannot make it larger) and its compression ratio are all checked before it
is parsed. The config is parsed by specgen's own loader, so a malformed one is an error at its
line and column; a config whose structure is not a Keras model's is an error at its pointer.
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..spec import limits
from ..spec.errors import SpecError, pointer_join
from ..spec.loader import Loaded, load_bytes
from .convert import ImportProblem, WeightSizes, to_spec


def _open_regular(path: Path):
    """A binary file object on a regular file, opened without blocking (a FIFO, a device or
    a folder is refused at once), never read whole: an archive of any size is fine."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise ImportProblem([f"{path}: is a directory, not a file"]) from None
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        raise ImportProblem([f"{path}: {reason}"]) from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISDIR(mode):
        os.close(fd)
        raise ImportProblem([f"{path}: is a directory, not a file"])
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ImportProblem(
            [f"{path}: is not a regular file (a FIFO, device or socket); refusing to read it"]
        )
    return os.fdopen(fd, "rb")


def _config_bytes(path: Path) -> tuple[bytes, str]:
    """config.json's bytes, from a config file or a .keras archive: only config.json is
    limited (and read); the weights beside it are not read."""
    with _open_regular(path) as stream:
        if stream.read(2) != b"PK":
            try:
                return limits.read_regular(path, limits.MAX_CONFIG_BYTES), str(path)
            except limits.NotReadable as exc:
                raise ImportProblem([f"{path}: {exc}"]) from None
        stream.seek(0)
        return _archive_config(stream, path)


def _archive_config(stream, path: Path) -> tuple[bytes, str]:
    where = f"{path}:config.json"
    try:
        archive = zipfile.ZipFile(stream)
        info = archive.getinfo("config.json")
    except KeyError:
        raise ImportProblem([f"{path}: the archive holds no config.json"]) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise ImportProblem([f"{path}: not a readable .keras archive ({exc})"]) from None
    limit = limits.MAX_CONFIG_BYTES
    if info.file_size > limit:
        raise ImportProblem(
            [f"{where}: declares {info.file_size:,} bytes uncompressed; the limit is {limit:,}"]
        )
    if info.file_size > 1 << 20 and info.file_size > limits.MAX_ZIP_RATIO * info.compress_size:
        raise ImportProblem(
            [
                f"{where}: compressed {info.file_size // max(info.compress_size, 1):,} to 1,"
                f" past the limit of {limits.MAX_ZIP_RATIO} to 1 (a zip bomb?)"
            ]
        )
    try:
        # In chunks: zipfile inflates up to the size asked for before it cuts the data to the
        # declared size, so one read of `limit` bytes would hold that much whatever the header.
        chunks, total = [], 0
        with archive.open(info) as stream:
            while total <= limit and (chunk := stream.read(1 << 20)):
                chunks.append(chunk)
                total += len(chunk)
        data = b"".join(chunks)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportProblem([f"{where}: cannot be extracted ({exc})"]) from None
    if len(data) > limit:
        raise ImportProblem([f"{where}: larger than the {limit:,} bytes allowed"])
    return data, where


def _shape_problems(loaded: Loaded) -> list[SpecError]:
    """The structure to_spec relies on; each mismatch at its pointer."""
    data, found = loaded.data, []

    def need(value, kind, pointer, what):
        if not isinstance(value, kind):
            got = "nothing" if value is None else type(value).__name__
            found.append(loaded.error(pointer, f"expected {what}, received {got}"))
            return False
        return True

    if not need(data, dict, "", "a JSON object (a Keras model config)"):
        return found
    if not need(data.get("config"), dict, "/config", "an object"):
        return found
    layers = data["config"].get("layers")
    if not need(layers, list, "/config/layers", "a list of layers"):
        return found
    for i, layer in enumerate(layers):
        where = pointer_join("/config/layers", i)
        if need(layer, dict, where, "a layer object"):
            need(layer.get("class_name"), str, f"{where}/class_name", "a class name")
            need(layer.get("config"), dict, f"{where}/config", "an object")
    return found


def read_and_convert(
    path: Path,
    notes: list[str] | None = None,
    *,
    fold: bool = True,
    before_convert: Callable[[], None] | None = None,
) -> dict:
    """The spec for a .keras file or config.json, or ImportProblem with located messages.
    `notes` collects what the spec keeps only in part; `fold` turns repeated units into blocks.
    `before_convert` runs once the config is read and well-formed (the CLI loads Keras there:
    a file refused before that costs no TensorFlow start-up)."""
    data, where = _config_bytes(path)
    loaded = load_bytes(data, where, max_chars=limits.MAX_CONFIG_BYTES)
    problems = loaded.errors or _shape_problems(loaded)
    if problems:
        raise ImportProblem([str(e) for e in problems])
    if before_convert is not None:
        before_convert()
    try:
        weights = WeightSizes(path) if where != str(path) else {}
        return to_spec(loaded.data, notes, fold=fold, weights=weights)
    except ImportProblem:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        detail = f"{type(exc).__name__}: {exc}"
        raise ImportProblem(
            [f"{where}: not a Keras model config specgen can read ({detail[:200]})"]
        ) from None
