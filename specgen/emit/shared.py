"""The training runtime every spec's script imports: specgen_cli.py, specgen_data.py,
specgen_images.py and specgen_runtime.py, written once per output folder.

Nothing in them depends on a spec, so they are plain Python in templates/, kept formatted as
ruff formats generated code (tests/test_shared.py), and copied rather than rendered by Jinja
or formatted again. A --templates folder may replace them by name; a replacement is formatted
and fingerprinted like any rendered output.
"""

from __future__ import annotations

from pathlib import Path

from ..spec import resources
from ..spec.errors import TemplateProblem

NAMES = ("specgen_cli.py", "specgen_data.py", "specgen_images.py", "specgen_runtime.py")


def source(name: str, templates: Path | None = None) -> tuple[str, bool]:
    """(text of shared module `name`, whether it is the packaged one): a --templates
    folder's file of that name wins."""
    packaged = resources.data_dir("templates")
    folders = [packaged] if templates is None else [Path(templates), packaged]
    found = resources.find_template(folders, name)
    if found is None:
        raise TemplateProblem(f"{folders[0]}: template {name!r} not found")
    text, path = found
    return text, path.parent == packaged
