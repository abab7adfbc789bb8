"""Start-up: what a `specgen render` process loads, and what the spec-file cache may serve.

Speed itself is measured in bench/render_speed.py; these tests pin the behaviour it relies on.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

from conftest import ROOT

import specgen

CIFAR = ROOT / "specs" / "cifar100.json"
# Runs the CLI in-process, then says which heavy modules that process loaded.
PROBE = (
    "import sys; from specgen.cli import main; code = main(sys.argv[1:]);"
    "heavy = ('jinja2', 'dataclasses', 'specgen.spec.validation', 'specgen.model.ir', 'specgen.catalog.layers');"
    "print(sorted(m for m in heavy if m in sys.modules)); sys.exit(code)"
)


def _render(cache, out, spec=CIFAR, cwd=ROOT, extra=()):
    env = {"SPECGEN_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT), "PATH": ""}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *extra, "render", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    assert run.returncode == 0, run.stderr
    *lines, loaded = run.stdout.splitlines()
    return lines, json.loads(loaded.replace("'", '"'))


def test_the_public_functions_survive_every_submodule_import():
    for module in pkgutil.iter_modules(specgen.__path__):
        importlib.import_module(f"specgen.{module.name}")
    for name in ("load", "validate", "compile", "render", "from_json"):
        assert callable(getattr(specgen, name)), name
        assert getattr(specgen, name).__module__ == "specgen.api", name


def test_a_cached_rerender_loads_no_compiler_and_writes_the_same(tmp_path):
    first, loaded = _render(tmp_path / "cache", tmp_path / "a")
    assert "jinja2" in loaded and "specgen.spec.validation" in loaded
    again, loaded = _render(tmp_path / "cache", tmp_path / "b")
    assert loaded == []  # not Jinja2, not the validator, not even dataclasses
    assert [line.split("/")[-1] for line in again] == [line.split("/")[-1] for line in first]
    for path in (tmp_path / "a").iterdir():
        assert (tmp_path / "b" / path.name).read_text() == path.read_text()


def test_the_cache_never_serves_a_changed_spec_or_a_changed_allow_list(tmp_path):
    spec = json.loads(CIFAR.read_text())
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    _render(tmp_path / "cache", tmp_path / "out", path, tmp_path)
    spec["description"] = "changed"
    path.write_text(json.dumps(spec))
    _, loaded = _render(tmp_path / "cache", tmp_path / "out", path, tmp_path)
    assert "specgen.spec.validation" in loaded  # compiled again
    assert "changed" in (tmp_path / "out" / "cifar100_cnn_functional.py").read_text()
    # What a custom layer may import can change without the spec changing.
    (tmp_path / "pyproject.toml").write_text('[tool.specgen]\nallow-import = ["mylayers"]\n')
    _, loaded = _render(tmp_path / "cache", tmp_path / "out", path, tmp_path)
    assert "specgen.spec.validation" in loaded
    _, loaded = _render(
        tmp_path / "cache", tmp_path / "out", path, tmp_path, ["--allow-import", "x"]
    )
    assert "specgen.spec.validation" in loaded
    _, loaded = _render(
        tmp_path / "cache", tmp_path / "out", path, tmp_path, ["--allow-import", "x"]
    )
    assert loaded == []


def test_a_spec_with_errors_is_never_cached(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "m", "inputs": [], "layers": []}')
    env = {"SPECGEN_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT), "PATH": ""}
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-m", "specgen.cli", "render", str(path), "--out", str(tmp_path)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert run.returncode == 1 and "bad.json:1:" in run.stderr
    assert not list((tmp_path / "cache" / "spec-renders").iterdir())
