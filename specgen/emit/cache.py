"""A per-user cache of pure results, so that re-rendering an unchanged spec starts fast.

Only pure functions of their key are cached: Jinja's compiled templates (keyed and checked by
Jinja itself), ruff's output for an exact input and ruff binary, and the code fingerprint of an
exact text. Each entry carries its own checksum, so a damaged one is a miss; a wrong entry
could only come from someone who can write the user's own cache.

The folder is $SPECGEN_CACHE_DIR, else $XDG_CACHE_HOME/specgen, else ~/.cache/specgen, made
0700. SPECGEN_CACHE_DIR="" turns caching off. A cache that cannot be read or written is
skipped, never an error.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path


@cache
def folder(kind: str) -> Path | None:
    root = os.environ.get("SPECGEN_CACHE_DIR")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "specgen")
    if not root:
        return None
    path = Path(root, kind)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return path


def key(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def get(kind: str, name: str) -> str | None:
    where = folder(kind)
    if where is None:
        return None
    try:
        stored = (where / name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    digest, _, text = stored.partition("\n")
    return text if digest == _checksum(text) else None  # a damaged entry is a miss


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def put(kind: str, name: str, text: str) -> None:
    where = folder(kind)
    if where is None:
        return
    temp = where / f".{name}.{os.getpid()}.tmp"
    try:
        temp.write_text(f"{_checksum(text)}\n{text}", encoding="utf-8", newline="\n")
        os.replace(temp, where / name)  # readers never see half an entry
    except OSError:
        try:
            temp.unlink(missing_ok=True)
        except OSError:
            pass
