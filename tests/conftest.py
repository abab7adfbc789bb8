"""Shared helpers: the specs, rendering into temp folders, importing what was generated."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.json"))
INVALID = ROOT / "tests" / "invalid"


def spec_id(path: Path) -> str:
    return path.stem


def import_file(path: Path, name: str | None = None):
    """Import a generated file under a unique name, with its folder importable (train scripts
    import their model module by plain name)."""
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    # A train script imports its model module by plain name; one of that name imported from
    # another test's folder (another spec called "table") must not stand in for this one.
    for sibling in path.parent.glob("*.py"):
        known = sys.modules.get(sibling.stem)
        if known is not None and Path(getattr(known, "__file__", "") or "").parent != path.parent:
            if not sibling.stem.startswith("specgen_"):
                del sys.modules[sibling.stem]
    name = name or f"_gen_{abs(hash(str(path)))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# The render cache is never part of a proof: with it, a render compared with another is a
# cached copy of itself. Every test (and every specgen process a test starts) renders for real;
# tests/test_cache.py and tests/test_startup.py turn the cache on in folders of their own. Set
# here, at import, so that no specgen module can have looked the folder up before.
os.environ["SPECGEN_CACHE_DIR"] = ""


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Path:
    """Every spec in every style it allows, rendered into one temp folder."""
    import specgen

    folder = tmp_path_factory.mktemp("rendered")
    for spec in SPECS:
        for name, text in specgen.render(spec, "all").items():
            (folder / name).write_text(text, encoding="utf-8")
    return folder
