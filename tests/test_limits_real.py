"""The README's limits at their real size, through the CLI as a user runs it: a 10,000-layer
spec in any order and a cycle of thousands of layers are located errors (exit 1), never a
RecursionError (exit 3); 10,000 layers render, 10,001 are refused."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from specgen.spec import limits

N = limits.MAX_LAYERS  # 10,000, as the README says


def _cli(tmp_path, spec, *args):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SPECGEN_CACHE_DIR": ""}
    return subprocess.run(
        [sys.executable, "-m", "specgen.cli", *args, "spec.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _spec(layers, outputs=None):
    spec = {"name": "big", "inputs": [{"name": "x", "shape": [2]}], "layers": layers}
    return spec | ({"outputs": outputs} if outputs else {})


def _dense(name, ref):
    return {"name": name, "type": "Dense", "units": 2, "inputs": [ref]}


def test_the_readme_states_this_limit():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"at most {N:,} layers" in readme


def test_ten_thousand_layers_written_in_reverse_are_located_errors(tmp_path):
    layers = [_dense(f"l{i}", f"l{i + 1}" if i < N - 1 else "x") for i in range(N)]
    out = _cli(tmp_path, _spec(layers, ["l0"]), "validate")
    assert out.returncode == 1, out.stderr[-2000:]
    lines = out.stderr.splitlines()
    assert len(lines) == N - 1
    assert lines[-1].startswith("spec.json:1:") and lines[-1].endswith(
        f": /layers/{N - 2}/inputs/0: layer 'l{N - 2}' uses 'l{N - 1}', which comes later;"
        " list layers in the order they run"
    )


@pytest.mark.parametrize("order", ["written in order", "written in reverse"])
def test_a_cycle_of_three_thousand_layers_is_reported_once(order, tmp_path):
    n = 3000
    if order == "written in order":  # l0 takes the last layer; each other the one before
        layers = [_dense(f"l{i}", f"l{i - 1}" if i else f"l{n - 1}") for i in range(n)]
        expected = ["l0", f"l{n - 1}", f"l{n - 2}"]
    else:  # each layer takes the next; the last takes l0
        layers = [_dense(f"l{i}", f"l{i + 1}" if i < n - 1 else "l0") for i in range(n)]
        expected = ["l0", "l1", "l2"]
    layers.append({"name": "out", "type": "Add", "inputs": ["x", "l0"]})
    out = _cli(tmp_path, _spec(layers, ["out"]), "validate")
    assert out.returncode == 1, out.stderr[-2000:]
    first, *rest = out.stderr.splitlines()
    shown = " -> ".join(expected)
    assert f"/layers/0/inputs/0: the layers form a cycle: {shown} -> " in first
    assert f"({n + 1 - 11:,} more)" in first and first.endswith(" -> l0")
    assert all("form a cycle (reported at /layers/0/inputs/0)" in line for line in rest)
    assert len(rest) == (0 if order == "written in order" else n - 2)


def test_ten_thousand_layers_render_and_one_more_is_refused(tmp_path):
    layers = [{"type": "Dense", "units": 2} for _ in range(N)]
    out = _cli(tmp_path, _spec(layers), "render", "--style", "functional", "--out", "g")
    assert out.returncode == 0, out.stderr[-2000:]
    text = (tmp_path / "g" / "big_functional.py").read_text(encoding="utf-8")
    assert text.count("keras.layers.Dense(") == N
    out = _cli(tmp_path, _spec([*layers, {"type": "Dense", "units": 2}]), "validate")
    assert out.returncode == 1
    assert out.stderr.endswith(f"/layers: {N + 1:,} layers; the limit is {N:,}\n")
