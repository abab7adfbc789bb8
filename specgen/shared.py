"""The training runtime every spec's script imports: specgen_cli.py, specgen_data.py and
specgen_runtime.py, written once per output folder.

Nothing in them depends on a spec, so they are plain Python in templates/, kept formatted as
ruff formats generated code (tests/test_shared.py), and copied rather than rendered by Jinja
or formatted again. A --templates folder may replace them by name; a replacement is formatted
and fingerprinted like any rendered output.
"""

from __future__ import annotations

from pathlib import Path

from . import limits, resources
from .errors import TemplateProblem

NAMES = ("specgen_cli.py", "specgen_data.py", "specgen_runtime.py")


def source(name: str, templates: Path | None = None) -> tuple[str, bool]:
    """(text of shared module `name`, whether it is the packaged one): a --templates
    folder's file of that name wins."""
    packaged = resources.data_dir("templates")
    folders = [packaged] if templates is None else [Path(templates), packaged]
    for folder in folders:
        path = folder / name
        if not path.exists() and not path.is_symlink():
            continue
        try:
            text = limits.read_regular(path, limits.MAX_TEMPLATE_BYTES).decode("utf-8")
        except limits.NotReadable as exc:
            raise TemplateProblem(f"{path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise TemplateProblem(f"{path}: not valid UTF-8 ({exc.reason})") from None
        return text, folder == packaged
    raise TemplateProblem(f"{folders[0]}: template {name!r} not found")
