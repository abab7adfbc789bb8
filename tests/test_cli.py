"""The CLI as users run it: exit codes, paths printed, --check/--diff, never clobbering work."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

from specgen.cli import main

CIFAR = str(ROOT / "specs" / "cifar100.json")


def test_render_prints_each_path(tmp_path, capsys):
    assert main(["render", CIFAR, "--style", "subclass", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed and all((tmp_path / p).is_file() for p in printed)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.split("/")[-1] for p in printed)


def test_check_and_diff(tmp_path, capsys):
    args = ["render", CIFAR, "--style", "functional", "--out", str(tmp_path)]
    assert main([*args, "--check"]) == 1
    assert "missing:" in capsys.readouterr().out
    assert main(args) == 0
    assert main([*args, "--check"]) == 0
    target = next(tmp_path.glob("cifar100_cnn_functional.py"))
    target.write_text(target.read_text().replace("16", "32"))
    capsys.readouterr()
    assert main([*args, "--diff"]) == 1
    diff = capsys.readouterr().out
    assert (
        "-        conv1 = keras.layers.Conv2D(32" in diff
        and "+        conv1 = keras.layers.Conv2D(16" in diff
    )


def test_refuses_to_overwrite_foreign_or_edited_files(tmp_path, capsys):
    args = ["render", CIFAR, "--style", "functional", "--out", str(tmp_path)]
    target = tmp_path / "cifar100_cnn_functional.py"
    target.write_text("my own work\n")
    assert main(args) == 1
    assert "not written by specgen" in capsys.readouterr().err
    assert target.read_text() == "my own work\n"
    assert main([*args, "--force"]) == 0
    edited = target.read_text().replace("relu", "tanh", 1)
    target.write_text(edited)
    assert main(args) == 1
    assert "edited by hand" in capsys.readouterr().err
    assert target.read_text() == edited
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_rerender_of_a_renamed_spec_is_the_only_change(tmp_path):
    assert main(["render", CIFAR, "--style", "all", "--out", str(tmp_path)]) == 0
    before = {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    assert main(["render", CIFAR, "--style", "all", "--out", str(tmp_path)]) == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before, (
        "current files are not rewritten"
    )


def test_usage_error_is_exit_2(capsys):
    assert main(["render"]) == 2
    assert main(["render", CIFAR, "--style", "nope"]) == 2


def test_validate_ok(capsys):
    assert main(["validate", CIFAR]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")


def test_schema_command_prints_the_committed_schema(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((ROOT / "schemas" / "model-spec.schema.json").read_text())


def test_internal_error_is_one_line_exit_3(monkeypatch, capsys):
    import specgen.api

    monkeypatch.setattr(specgen.api, "render", lambda *a, **k: 1 / 0)
    assert main(["render", CIFAR]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" in err and "Traceback" not in err


def test_console_script_and_version():
    out = subprocess.run(
        [sys.executable, "-m", "specgen.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "specgen, version" in out.stdout


def test_summary(capsys):
    assert main(["summary", CIFAR]) == 0
    text = capsys.readouterr().out
    assert "fc1 (Dense)" in text and "(None, 256)" in text and "Total params: 325,956" in text
