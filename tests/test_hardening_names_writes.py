"""Issue 19, class 10: identifiers compared as Python compares them (after NFKC), a file of one
spec never replaced by another spec's render without --force, and all-or-none when a target
really cannot be replaced in the middle of a set (no mocks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from conftest import ROOT

import specgen
from specgen.catalog import allow_import as custom
from specgen.cli import main
from specgen.model import naming

TRAINED = json.loads((ROOT / "specs" / "tiny_regression.json").read_text())


def _custom(config: dict) -> dict:
    layer = {"type": "CustomLayer", "class": "keras.layers.Dense", "config": config}
    return {"name": "m", "inputs": [{"name": "x", "shape": [2]}], "layers": [layer]}


@pytest.mark.parametrize(
    "config, normal", [({"units": 1, "ｕnits": 2}, "units"), ({"units": 1, "ﬁlters": 2}, "filters")]
)
def test_config_keys_python_reads_alike_are_a_located_error(config, normal, tmp_path, capsys):
    """`Dense(units=1, ｕnits=2)` is a SyntaxError (keyword repeated) in every style."""
    with custom.allowing("keras.layers"):
        (error,) = specgen.validate(_custom(config))
        assert error.pointer == "/layers/0" and f"Python reads it as {normal!r}" in error.message
        path = tmp_path / "s.json"
        path.write_text(json.dumps(_custom(config)))
        assert main(["render", str(path), "--out", str(tmp_path / "o")]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{path}:") and "/layers/0" in line


def test_a_namespace_compares_names_after_nfkc():
    problems = []
    scope = naming.Namespace("the class", frozenset({"keras"}))
    scope.claim("ﬁ", "block 'a'", "/blocks/a", lambda *p: problems.append(p))
    scope.claim("fi", "block 'b'", "/blocks/b", lambda *p: problems.append(p))
    scope.claim("ｋeras", "block 'c'", "/blocks/c", lambda *p: problems.append(p))
    assert [p[0] for p in problems] == ["/blocks/b", "/blocks/c"]


def _render(spec: dict, folder, out, *extra) -> int:
    path = folder / f"{spec['name']}.json"
    path.write_text(json.dumps(spec))
    return main(["render", str(path), "--style", "functional", "--out", str(out), *extra])


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_file_of_one_spec_is_not_replaced_by_another_specs_render(tmp_path, capsys):
    """Spec `functional`'s training script is train_functional.py; spec `train`'s functional
    model module has the same name."""
    out = tmp_path / "out"
    assert _render({**TRAINED, "name": "functional"}, tmp_path, out) == 0
    before = _snapshot(out)
    other = {k: v for k, v in TRAINED.items() if k != "training"} | {"name": "train"}
    capsys.readouterr()
    assert _render(other, tmp_path, out) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{out / 'train_functional.py'}: was written from spec 'functional'")
    assert _snapshot(out) == before
    assert _render(other, tmp_path, out, "--force") == 0
    assert "from train." in (out / "train_functional.py").read_text().splitlines()[0]


def _two_renders(tmp_path):
    """out/ holds spec v1's files; returns (out, v2 spec): v2 changes every file but the shared
    training modules, so a render of it replaces m_functional.py, then train_m.py."""
    out = tmp_path / "out"
    v1 = {**TRAINED, "name": "m"}
    assert _render(v1, tmp_path, out) == 0
    v2 = json.loads(json.dumps(v1))
    v2["layers"][0]["units"] += 1
    return out, v2


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("chattr"), reason="an immutable file needs root"
)
def test_all_or_none_when_the_last_target_cannot_be_replaced(tmp_path, capsys):
    out, v2 = _two_renders(tmp_path)
    before = _snapshot(out)
    last = out / "train_m.py"  # renamed after m_functional.py: a failure mid-set
    if subprocess.run(["chattr", "+i", str(last)], capture_output=True).returncode:
        pytest.skip("this file system has no immutable flag")
    try:
        assert _render(v2, tmp_path, out) == 1
        (line,) = capsys.readouterr().err.splitlines()
        assert "Operation not permitted" in line or "not writable" in line
        assert _snapshot(out) == before  # m_functional.py was replaced, then put back
        assert not [p for p in out.iterdir() if p.name.startswith(".")]
    finally:
        subprocess.run(["chattr", "-i", str(last)], check=True)
    assert _render(v2, tmp_path, out) == 0 and _snapshot(out) != before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_all_or_none_in_a_read_only_folder(tmp_path, capsys):
    out, v2 = _two_renders(tmp_path)
    before = _snapshot(out)
    out.chmod(0o555)
    try:
        assert _render(v2, tmp_path, out) == 1
        assert _snapshot(out) == before
    finally:
        out.chmod(0o755)


def test_all_or_none_with_a_folder_in_place_of_a_target(tmp_path, capsys):
    out, v2 = _two_renders(tmp_path)
    (out / "train_m.py").unlink()
    (out / "train_m.py").mkdir()
    (out / "train_m.py" / "keep").write_text("mine")
    before = _snapshot(out)
    assert _render(v2, tmp_path, out) == 1
    assert "is a folder; refusing to replace it" in capsys.readouterr().err
    assert _snapshot(out) == before
    assert (out / "train_m.py" / "keep").read_text() == "mine"
