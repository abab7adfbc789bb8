"""Issue 19, class 2: `--prune` deletes only regular files specgen wrote and that are unchanged
since; everything else that looks like its output is reported and kept (README: files specgen
did not write are never touched). `--force` deletes edited files, nothing else."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

from specgen.cli import main
from specgen.emit import header

SPEC = {
    "name": "m",
    "inputs": [{"name": "x", "shape": [2]}],
    "layers": [{"type": "Dense", "units": 1, "activation": "relu"}],
}


@pytest.fixture
def stage(tmp_path, capsys):
    """A folder where spec `m` rendered m_functional.py, then the spec was renamed to `n`:
    m_functional.py is an orphan. Returns (run(extra args) -> (exit, stdout), out folder)."""
    specs, out = tmp_path / "specs", tmp_path / "out"
    specs.mkdir()
    path = specs / "spec.json"
    path.write_text(json.dumps(SPEC))
    args = ["render", str(path), "--style", "functional", "--out", str(out)]
    assert main(args) == 0
    path.write_text(json.dumps({**SPEC, "name": "n"}))
    assert main(args) == 0
    capsys.readouterr()

    def run(*extra):
        code = main([*args, *extra])
        return code, capsys.readouterr().out

    return run, out


def _contents(folder):
    return {p.name: (os.path.islink(p), p.read_bytes()) for p in sorted(folder.iterdir())}


def test_an_unchanged_file_specgen_wrote_is_pruned(stage):
    run, out = stage
    code, text = run("--prune")
    assert code == 0 and f"pruned: {out / 'm_functional.py'}" in text
    assert not (out / "m_functional.py").exists()


def test_a_file_reformatted_by_the_users_formatter_is_still_unchanged(stage):
    run, out = stage
    subprocess.run(["ruff", "format", "--isolated", "--line-length", "60", str(out)], check=True)
    code, text = run("--prune")
    assert code == 0 and not (out / "m_functional.py").exists()


def test_an_edited_file_is_kept_unless_force(stage):
    run, out = stage
    target = out / "m_functional.py"
    target.write_text(target.read_text() + "\nprint('mine')\n")
    before = _contents(out)
    code, text = run("--prune")
    assert code == 0 and "not pruned: " in text and "edited" in text
    assert _contents(out) == before
    code, text = run("--prune", "--force")
    assert code == 0 and f"pruned: {target}" in text and not target.exists()


def _generated(out) -> str:
    return (out / "m_functional.py").read_text()


@pytest.mark.parametrize(
    "case",
    [
        "notes.py with a copied header",
        "look-alike hash",
        "look-alike spec hash",
        "old-style header",
        "symbolic link",
        "dotfile",
    ],
)
def test_what_specgen_did_not_write_is_never_deleted_even_with_force(stage, tmp_path, case):
    run, out = stage
    generated = _generated(out)
    head, body = generated.split("\n", 3)[:3], generated.split("\n", 3)[3]
    (out / "m_functional.py").unlink()
    if case == "notes.py with a copied header":
        (out / "notes.py").write_text("\n".join(head) + "\n# my notes\nx = 1\n")
    elif case == "look-alike hash":
        (out / "m_functional.py").write_text("\n".join([*head[:2], head[2][:-4]]) + "\n" + body)
    elif case == "look-alike spec hash":
        spec_line = header.SPEC_PREFIX + "not a hash"
        (out / "m_functional.py").write_text("\n".join([head[0], spec_line, head[2]]) + "\n" + body)
    elif case == "old-style header":  # what specgen <= 0.1.0 wrote, hash and all
        legacy = "# specgen body-sha256: " + hashlib.sha256(body.encode()).hexdigest()
        (out / "m_functional.py").write_text(f"{head[0]}\n{legacy}\n{body}")
    elif case == "symbolic link":
        (tmp_path / "mine.py").write_text(generated)
        (out / "m_functional.py").symlink_to(tmp_path / "mine.py")
    else:
        (out / ".m_functional.py").write_text(generated)
    before = _contents(out)
    for extra in (("--prune",), ("--prune", "--force")):
        code, text = run(*extra)
        assert code == 0 and "pruned: " not in text.replace("not pruned: ", ""), text
        assert _contents(out) == before
    assert (tmp_path / "mine.py").exists() or case != "symbolic link"
