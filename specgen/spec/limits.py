"""Explicit input limits: past any of them an input is refused with a located error, so every
read, parse and validation takes bounded time and memory.

The figures are far above any real spec (the largest example is 1.6 kB; a 2,000-layer spec is
~200 kB) and far below what would make specgen slow: refusing is better than minutes and GBs.
"""

from __future__ import annotations

import os
import stat

MAX_SPEC_BYTES = 4 * 1024 * 1024  # a spec file, or a text/dict passed to the API
MAX_DEPTH = 64  # nesting of JSON arrays and objects
MAX_INT_DIGITS = 20  # int64 is 19 digits; Python refuses int() past 4,300 digits
MAX_STRING_CHARS = 65_536  # one JSON string: names, descriptions, paths
MAX_ITEMS = 100_000  # one array or object
MAX_LAYERS = 10_000  # layers of the model, and of each block

MAX_CONFIG_BYTES = 16 * 1024 * 1024  # config.json inside it, declared and actual
MAX_ZIP_RATIO = 200  # uncompressed / compressed size of config.json: JSON rarely passes 20

MAX_TEMPLATE_BYTES = 1024 * 1024


class NotReadable(Exception):
    """A path that is not a regular file specgen may read, phrased for the user."""


def read_regular(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Opened non-blocking and checked with fstat before reading, so a FIFO, a device such as
    /dev/zero, a socket or a directory is refused at once instead of hanging or filling memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise NotReadable("is a directory, not a file") from None
    except OSError as exc:
        raise NotReadable((exc.strerror or type(exc).__name__).lower()) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise NotReadable("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise NotReadable(
                "is not a regular file (a FIFO, device or socket); refusing to read it"
            )
        if info.st_size > limit:
            raise NotReadable(f"is {info.st_size:,} bytes; the limit is {limit:,}")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew while reading
                raise NotReadable(f"is over {limit:,} bytes; the limit is {limit:,}")
        return b"".join(chunks)
    finally:
        os.close(fd)
