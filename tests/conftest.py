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
    name = name or f"_gen_{abs(hash(str(path)))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """specgen's render cache in a folder of this session's, never the user's ~/.cache: the
    tests (and the specgen processes they start) neither read nor leave entries there."""
    if "SPECGEN_CACHE_DIR" in os.environ:  # the caller chose one (or "" for none)
        yield
        return
    os.environ["SPECGEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("specgen-cache"))
    yield
    del os.environ["SPECGEN_CACHE_DIR"]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> Path:
    """Every spec in every style it allows, rendered into one temp folder."""
    import specgen

    folder = tmp_path_factory.mktemp("rendered")
    for spec in SPECS:
        for name, text in specgen.render(spec, "all").items():
            (folder / name).write_text(text, encoding="utf-8")
    return folder
