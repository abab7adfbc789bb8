"""A plain (non-editable) install renders from any folder: templates and schemas ship inside
the wheel, and nothing reaches back into the source checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT

import specgen

pytest.importorskip("hatchling")


def test_wheel_ships_templates_and_schemas_and_renders_elsewhere(tmp_path):
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("specgen-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for template in ("sequential", "functional", "subclass", "train"):
        assert f"specgen/templates/{template}.py.jinja" in names
    for copied in ("specgen_runtime.py", "specgen_cli.py", "specgen_data.py", "specgen_images.py"):
        assert f"specgen/templates/{copied}" in names
    assert "specgen/prebuilt/manifest.json" in names  # hatch_build.py, specgen/emit/prebuilt.py
    assert sum(name.startswith("specgen/prebuilt/tmpl_") for name in names) == 5
    assert "specgen/schemas/model-spec.schema.json" in names
    assert "specgen/py.typed" in names

    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import specgen, sys; assert specgen.__file__.startswith(sys.argv[2]), specgen.__file__;"
        "import json; files = specgen.render(sys.argv[1], 'all'); print(json.dumps(files));"
        # The installed copy trusts what the build compiled and fingerprinted.
        "import jinja2; from specgen.emit import prebuilt, shared;"
        "assert prebuilt.loader(jinja2) is not None;"
        "assert all(prebuilt.fingerprint(shared.source(n)[0]) for n in shared.NAMES);"
        # ...and really renders with it: the Environment's settings pass the manifest's check.
        "from specgen.emit import render as r; env = r.environment();"
        "assert r.uses_prebuilt(env);"
        "assert env.get_template('train.py.jinja').filename.startswith(str(prebuilt.FOLDER))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {"PYTHONPATH": str(site), "SPECGEN_CACHE_DIR": ""}  # render, not a cache hit
    run = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "specs" / "cifar100.json"), str(site)],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    installed = json.loads(run.stdout)
    assert len(installed) == 8  # 3 styles + one training script + 4 shared modules
    # Compiled at build time or from source here, with the cache on or off: the same text.
    assert installed == specgen.render(ROOT / "specs" / "cifar100.json", "all")
