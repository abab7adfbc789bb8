"""Where the packaged schemas/ and templates/ live: inside the wheel, or at the checkout's top."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from . import limits
from .errors import TemplateProblem

_PACKAGE = Path(__file__).resolve().parent.parent  # specgen/
SCHEMA_ID = "urn:specgen:model-spec:v1"
SCHEMA_FILE = "model-spec.schema.json"


@cache
def data_dir(name: str) -> Path:
    """`schemas` or `templates`: the copy shipped in the wheel, else the source checkout's."""
    shipped = _PACKAGE / name
    return shipped if shipped.is_dir() else source_dir(name)


def source_dir(name: str) -> Path:
    return _PACKAGE.parent / name


def find_template(folders: list[Path], *parts: str) -> tuple[str, Path] | None:
    """(text, path) of the first folder's file at `parts` (a --templates folder comes before
    the packaged one); None when no folder has one. Only regular UTF-8 files of bounded size
    are read: a FIFO named like a template would hang the render."""
    for folder in folders:
        path = Path(folder, *parts)
        if not os.path.lexists(path):
            continue
        try:
            return limits.read_regular(path, limits.MAX_TEMPLATE_BYTES).decode("utf-8"), path
        except limits.NotReadable as exc:
            raise TemplateProblem(f"{path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise TemplateProblem(f"{path}: not valid UTF-8 ({exc.reason})") from None
    return None
