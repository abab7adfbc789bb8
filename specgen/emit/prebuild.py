"""The wheel build step (hatch_build.py): compile the packaged templates and record the shared
modules' fingerprints into specgen/prebuilt/, which `prebuilt` reads and checks at render time."""

from __future__ import annotations

import json
from pathlib import Path

from ..spec import resources
from . import header, prebuilt, shared
from .render import new_environment


def build(target: Path) -> None:
    """Write prebuilt/ for the packaged templates into `target` (run by hatch_build.py)."""
    import jinja2

    templates = resources.data_dir("templates")
    env = new_environment(jinja2.FileSystemLoader(str(templates)))
    target.mkdir(parents=True, exist_ok=True)
    sources, modules = {}, {}
    for path in sorted(templates.glob("*.jinja")):
        text = path.read_text(encoding="utf-8")
        code = env.compile(text, path.name, path.name, raw=True, defer_init=True)
        module = jinja2.ModuleLoader.get_module_filename(path.name)
        (target / module).write_text(code, encoding="utf-8")
        modules[module] = prebuilt.sha256(code)
        sources[path.name] = prebuilt.sha256(text)
    fingerprints = {}
    for name in shared.NAMES:
        text, _ = shared.source(name)
        fingerprints[prebuilt.sha256(text)] = header.parse_fingerprint(text)
    data = {
        "jinja2": jinja2.__version__,
        "environment": prebuilt.settings(env),
        "templates": sources,
        "modules": modules,
        "fingerprints": fingerprints,
    }
    (target / prebuilt.MANIFEST).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
