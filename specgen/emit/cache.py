"""A per-user cache of pure results, so that re-rendering an unchanged spec starts fast.

Only pure functions of their key are cached (whole renders, Jinja's compiled templates, ruff's
output, code fingerprints), and every key is a hash of the CONTENT of what the result depends
on (`code_digest`, `file_digest`), never a hand-written version tag.

Trust: the folder is $SPECGEN_CACHE_DIR, else $XDG_CACHE_HOME/specgen, else ~/.cache/specgen,
made 0700. It is used only when it and each kind's folder are real folders owned by this user
and writable by nobody else; otherwise specgen renders uncached and says so once on stderr.
Every entry carries an HMAC-SHA256 of its kind, name and payload under a per-user secret
(`secret`, 32 random bytes, created atomically 0600, refused when not this user's own or
readable by others), so an entry is trusted only when this user's specgen wrote it. An entry
is read opened non-blocking, only when it is a regular file of this user's, not writable by
others and at most MAX_ENTRY_BYTES: a FIFO, a link, a huge or forged entry is a miss, never a
hang, a crash or a wrong output. SPECGEN_CACHE_DIR="" turns caching off.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import sys
from functools import cache
from pathlib import Path

MAX_ENTRY_BYTES = 32 * 1024 * 1024
SECRET = "secret"
_SECRET_BYTES = 32
_OPEN = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def _owned_privately(info: os.stat_result, others: int = 0o022) -> bool:
    """This user's own, with none of the `others` permission bits set. On Windows, where
    mode bits say nothing of who may write, the user profile's ACLs protect the cache."""
    if os.name == "nt":
        return True
    mine = not hasattr(os, "geteuid") or info.st_uid == os.geteuid()
    return mine and not info.st_mode & others


def _warn(root: str, why: str) -> None:
    _warn_once(f"specgen: not using the cache {root}: {why}; rendering without it")


@cache
def _warn_once(line: str) -> None:
    print(line, file=sys.stderr)


def _private_folder(path: Path) -> str | None:
    """None when `path` is (made) a folder of this user's that no one else can write; else why."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
    except (OSError, ValueError) as exc:  # ValueError: a NUL in $SPECGEN_CACHE_DIR
        return f"cannot create it ({getattr(exc, 'strerror', None) or exc})"
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a folder"
    if not _owned_privately(info):
        return f"{path} is owned by another user or writable by group/others"
    return None


@cache
def _root() -> tuple[Path, bytes] | None:
    """(cache folder, this user's secret), or None: no cache."""
    root = os.environ.get("SPECGEN_CACHE_DIR")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "specgen")
    if not root:
        return None
    path = Path(root)
    why = _private_folder(path)
    if why is None:
        secret, why = _secret(path / SECRET)
        if secret is not None:
            return path, secret
    _warn(root, why)
    return None


def _secret(path: Path) -> tuple[bytes | None, str]:
    """(the secret, "") or (None, why not). Made atomically: written 0600 to a temp file, then
    hard-linked into place, so no reader ever sees a partial secret and two makers agree."""
    if not path.exists() and not path.is_symlink():
        temp = path.with_name(f".{SECRET}.{os.getpid()}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            try:
                os.write(fd, os.urandom(_SECRET_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(temp, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
        except OSError as exc:
            return None, f"cannot create {path} ({exc.strerror or exc})"
        finally:
            temp.unlink(missing_ok=True)
    try:
        fd = os.open(path, _OPEN | _NOFOLLOW)
    except OSError as exc:
        return None, f"cannot read {path} ({exc.strerror or exc})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not _owned_privately(info, 0o077):
            return None, f"{path} is not a file of this user's with mode 0600"
        data = os.read(fd, _SECRET_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) != _SECRET_BYTES:
        return None, f"{path} is damaged; delete it"
    return data, ""


@cache
def folder(kind: str) -> Path | None:
    """The folder of one kind of entry; None when there is no cache to trust."""
    root = _root()
    if root is None:
        return None
    path = root[0] / kind
    why = _private_folder(path)
    if why is not None:
        _warn(str(root[0]), why)
        return None
    return path


def key(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _mac(kind: str, name: str, payload: bytes) -> bytes:
    root = _root()
    assert root is not None
    signer = hmac.new(root[1], digestmod=hashlib.sha256)
    signer.update(f"{kind}\0{name}\0".encode("utf-8", "surrogatepass"))
    signer.update(payload)
    return signer.hexdigest().encode("ascii")


def _read_entry(path: Path) -> bytes | None:
    try:
        fd = os.open(path, _OPEN | _NOFOLLOW)
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not _owned_privately(info):
            return None
        if info.st_size > MAX_ENTRY_BYTES:
            return None
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > MAX_ENTRY_BYTES:  # grew while reading
                return None
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def get_bytes(kind: str, name: str) -> bytes | None:
    """The payload stored under (kind, name), or None: missing, unreadable or not authentic."""
    where = folder(kind)
    if where is None or not name or "/" in name or name.startswith("."):
        return None
    stored = _read_entry(where / name)
    if stored is None:
        return None
    mac, newline, payload = stored.partition(b"\n")
    if not newline or not hmac.compare_digest(mac, _mac(kind, name, payload)):
        return None
    return payload


def get(kind: str, name: str) -> str | None:
    payload = get_bytes(kind, name)
    if payload is None:
        return None
    try:
        return payload.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def put_bytes(kind: str, name: str, payload: bytes) -> None:
    where = folder(kind)
    if where is None or len(payload) > MAX_ENTRY_BYTES - 65:
        return
    import tempfile

    try:
        fd, temp = tempfile.mkstemp(dir=where, prefix=f".{name}.", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as stream:  # mkstemp: 0600, this user's
            stream.write(_mac(kind, name, payload) + b"\n" + payload)
        os.replace(temp, where / name)  # readers never see half an entry
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass


def put(kind: str, name: str, text: str) -> None:
    put_bytes(kind, name, text.encode("utf-8", "surrogatepass"))


def file_digest(path: str) -> str:
    """sha256 of a file's content (ruff's binary, Jinja2's modules), memoized in the cache under
    the file's identity (device, inode, size, mtime and ctime: a write changes ctime, which
    no user can set), so a big binary is hashed once, not once a process."""
    try:
        info = os.stat(path)
    except OSError:
        return f"missing:{path}"
    stamp = key(
        "file-digest",
        os.path.abspath(path),
        *(str(n) for n in (info.st_dev, info.st_ino, info.st_size)),
        *(str(n) for n in (info.st_mtime_ns, info.st_ctime_ns)),
    )
    known = get("digests", stamp)
    if known is not None and len(known) == 64:
        return known
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return f"unreadable:{path}"
    put("digests", stamp, digest.hexdigest())
    return digest.hexdigest()


@cache
def code_digest() -> str:
    """sha256 of the content of every module of specgen (all of them: any may change output)."""
    package = Path(__file__).resolve().parent.parent
    parts = []
    for path in sorted(package.rglob("*.py")):
        try:
            parts += [str(path.relative_to(package)), path.read_text("utf-8", "surrogateescape")]
        except OSError:
            parts += [str(path), "?"]
    return key(sys.version, *parts)
