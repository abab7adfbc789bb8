"""specgen's cache (specgen/emit/cache.py) only ever returns what a cold render would produce."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

CIFAR = str(ROOT / "specs" / "cifar100.json")
RENDER = "import json, specgen, sys; json.dump(specgen.render(sys.argv[1], 'all'), sys.stdout)"


def _render(cache_dir, templates=None) -> str:
    code = (
        RENDER
        if templates is None
        else RENDER.replace("'all')", f"'all', templates={str(templates)!r})")
    )
    env = {"SPECGEN_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT), "PATH": ""}
    return subprocess.run(
        [sys.executable, "-c", code, CIFAR],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    ).stdout


def test_cached_renders_equal_a_cold_one(tmp_path):
    cold = _render("")
    assert _render(tmp_path / "c") == cold  # fills the cache
    assert (tmp_path / "c" / "outputs").is_dir() and any((tmp_path / "c" / "outputs").iterdir())
    assert _render(tmp_path / "c") == cold  # read from it


def test_a_changed_template_is_not_served_from_the_cache(tmp_path):
    assert _render(tmp_path / "c")
    override = tmp_path / "templates"
    override.mkdir()
    packaged = (ROOT / "templates" / "functional.py.jinja").read_text()
    (override / "functional.py.jinja").write_text(
        packaged.replace("import keras\n", "import keras  # v1\n")
    )
    assert "# v1" in _render(tmp_path / "c", override)
    (override / "functional.py.jinja").write_text(
        packaged.replace("import keras\n", "import keras  # v2\n")
    )
    again = _render(tmp_path / "c", override)
    assert "# v2" in again and "# v1" not in again


def test_corrupt_entries_are_ignored(tmp_path):
    cold = _render("")
    _render(tmp_path / "c")
    for kind in ("outputs", "formatted", "fingerprints"):
        for entry in (tmp_path / "c" / kind).iterdir():
            entry.write_text("{not json")
    assert _render(tmp_path / "c") == cold
