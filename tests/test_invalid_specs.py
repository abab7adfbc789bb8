"""Snapshots of what the CLI says about each kind of mistake (tests/invalid/, one file each).

Refresh after an intended change of wording: SPECGEN_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_invalid_specs.py
"""

from __future__ import annotations

import os

import pytest
from conftest import INVALID, ROOT, spec_id

from specgen.cli import main

CASES = sorted(INVALID.glob("*.json"))
# Specs that are valid JSON models but refused for the style asked of them.
STYLE = {"sequential_on_graph": "sequential"}


def run_cli(capsys, spec, tmp_path) -> str:
    relative = spec.relative_to(ROOT).as_posix()
    if spec.stem in STYLE:
        args = ["render", relative, "--style", STYLE[spec.stem], "--out", str(tmp_path)]
    else:
        args = ["validate", relative]
    code = main(args)
    captured = capsys.readouterr()
    assert captured.out == ""
    return f"exit {code}\n{captured.err}"


@pytest.mark.parametrize("spec", CASES, ids=spec_id)
def test_message_snapshot(spec, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    got = run_cli(capsys, spec, tmp_path)
    expected_file = spec.with_suffix(".expected")
    if os.environ.get("SPECGEN_UPDATE_SNAPSHOTS"):
        expected_file.write_text(got, encoding="utf-8")
    assert got == expected_file.read_text(encoding="utf-8")
    assert got.startswith("exit 1\n")
    assert "Traceback" not in got
    assert list(tmp_path.iterdir()) == [], "a refused render must write nothing"
    for line in got.splitlines()[1:]:
        assert line.startswith(f"{spec.relative_to(ROOT).as_posix()}:"), line
