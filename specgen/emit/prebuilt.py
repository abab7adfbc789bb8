"""What the wheel build works out once so that no render has to: the packaged templates
compiled to Python by Jinja2, and the code fingerprints of the shared training modules.

On a machine with no cache (a fresh CI runner, the first render after `pip install`),
compiling the templates and parsing the shared modules were a third of a one-spec render.
hatch_build.py calls `prebuild.build()` while the wheel is made; the result ships as
specgen/prebuilt/.
Nothing here is trusted blindly: a compiled template is used only when its packaged source is
byte for byte the one it was compiled from and the installed Jinja2 is the version that
compiled it; otherwise it is compiled from source as in a source checkout, which has no
prebuilt/ at all. Either way the output is the same (tests/test_prebuilt.py).
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..spec import resources

if TYPE_CHECKING:
    import jinja2

FOLDER = Path(__file__).resolve().parent.parent / "prebuilt"
MANIFEST = "manifest.json"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@cache
def manifest(folder: Path = FOLDER) -> dict:
    """{"jinja2": version, "templates": {name: source sha256}, "fingerprints": {text sha256:
    code fingerprint}}; empty when there is none (a source checkout) or it is damaged."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def fingerprint(text: str) -> str | None:
    """The shipped code fingerprint of `text`, when it is a packaged shared module as is."""
    known = manifest().get("fingerprints")
    return known.get(sha256(text)) if isinstance(known, dict) else None


def loader(jinja2_module, folder: Path = FOLDER) -> jinja2.BaseLoader | None:
    """A loader of the compiled packaged templates; None when there are none to trust."""
    shipped = manifest(folder)
    sources = shipped.get("templates")
    if shipped.get("jinja2") != jinja2_module.__version__ or not isinstance(sources, dict):
        return None
    packaged = resources.data_dir("templates")

    class CheckedModuleLoader(jinja2_module.ModuleLoader):
        def load(self, environment, name, globals=None):
            try:
                current = sha256((packaged / name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                current = None
            if current is None or sources.get(name) != current:
                raise jinja2_module.TemplateNotFound(name)  # the next loader compiles it
            return super().load(environment, name, globals)

    return CheckedModuleLoader(str(folder))
