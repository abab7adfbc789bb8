"""Rendering is a code generator's job: it must never import TensorFlow or Keras."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT, SPECS


def test_render_never_imports_tensorflow(tmp_path):
    code = (
        "import sys, specgen\n"
        "for spec in sys.argv[1:]:\n"
        "    specgen.render(spec, 'all'); specgen.validate(spec)\n"
        "from specgen.cli import main\n"
        f"main(['render', *sys.argv[1:], '--style', 'all', '--out', {str(tmp_path)!r}])\n"
        "main(['summary', sys.argv[1]])\n"
        "heavy = ('tensorflow', 'keras', 'jax', 'torch', 'numpy')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in heavy]\n"
        "assert not bad, bad\n"
    )
    # Cache off, whatever the caller's environment: a cached render never reaches the code
    # that could import them.
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SPECGEN_CACHE_DIR": ""}
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, SPECS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
