"""What the wheel build works out once so that no render has to: the packaged templates
compiled to Python by Jinja2, and the code fingerprints of the shared training modules.

On a machine with no cache (a fresh CI runner, the first render after `pip install`),
compiling the templates and parsing the shared modules were a third of a one-spec render.
hatch_build.py calls `prebuild.build()` while the wheel is made; the result ships as
specgen/prebuilt/.
Nothing here is trusted blindly: a compiled template is used only when its packaged source is
byte for byte the one it was compiled from, its compiled module is byte for byte the one the
build wrote, the installed Jinja2 is the version that compiled it and the Environment has the
settings it was compiled with (`settings`); a module that still fails to load, or a render
with it that fails, falls back to the source (render.render_model). Otherwise it is compiled
from source as in a source checkout, which has no prebuilt/ at all. Either way the output is
the same (tests/test_prebuilt.py).
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


def settings(env: jinja2.Environment) -> str:
    """Every setting of an Environment that changes what a template compiles or renders to:
    part of the prebuilt check and of the bytecode cache key."""
    names = (
        "block_start_string block_end_string variable_start_string variable_end_string"
        " comment_start_string comment_end_string line_statement_prefix line_comment_prefix"
        " trim_blocks lstrip_blocks newline_sequence keep_trailing_newline optimized is_async"
    ).split()
    parts = [f"{name}={getattr(env, name, None)!r}" for name in names]
    autoescape = env.autoescape
    parts.append(f"autoescape={autoescape!r}" if isinstance(autoescape, bool) else "autoescape=f")
    for name in ("undefined", "finalize", "template_class", "context_class"):
        value = getattr(env, name, None)
        parts.append(f"{name}={getattr(value, '__qualname__', None)!r}")
    parts.append(f"extensions={sorted(env.extensions)!r}")
    parts.append(f"filters={sorted(env.filters)!r}")
    parts.append(f"tests={sorted(env.tests)!r}")
    return "\n".join(parts)


class _Untrusted(Exception):
    pass


def _checked_module_loader(jinja2_module):
    class CheckedModuleLoader(jinja2_module.ModuleLoader):
        """A compiled template is used only when its packaged source, its compiled module and
        the Environment asking for it are the ones the manifest records; on any doubt (or any
        failure while loading it) TemplateNotFound sends the Environment to the next loader,
        which compiles the source."""

        specgen_prebuilt = True  # render.uses_prebuilt

        def __init__(self, folder: Path, shipped: dict, packaged: Path):
            super().__init__(str(folder))
            self.folder, self.shipped, self.packaged = folder, shipped, packaged

        def load(self, environment, name, globals=None):
            try:
                self._check(environment, name)
                return super().load(environment, name, globals)
            except Exception:  # a truncated module: SyntaxError, NameError, ...
                raise jinja2_module.TemplateNotFound(name) from None

        def _check(self, environment, name) -> None:
            shipped = self.shipped
            if shipped.get("environment") != settings(environment):
                raise _Untrusted(name)
            filename = jinja2_module.ModuleLoader.get_module_filename(name)
            for folder, file, table in (
                (self.packaged, name, "templates"),
                (self.folder, filename, "modules"),
            ):
                recorded = shipped.get(table)
                try:
                    current = sha256((folder / file).read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError, ValueError):
                    raise _Untrusted(name) from None
                if not isinstance(recorded, dict) or recorded.get(file) != current:
                    raise _Untrusted(name)

    return CheckedModuleLoader


def loader(jinja2_module, folder: Path = FOLDER) -> jinja2.BaseLoader | None:
    """A loader of the compiled packaged templates; None when there are none to trust."""
    shipped = manifest(folder)
    if shipped.get("jinja2") != jinja2_module.__version__ or not isinstance(
        shipped.get("templates"), dict
    ):
        return None
    return _checked_module_loader(jinja2_module)(folder, shipped, resources.data_dir("templates"))
