"""The CLI as users run it: exit codes, paths printed, --check/--diff, never clobbering work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from specgen.cli import main

CIFAR = str(ROOT / "specs" / "cifar100.json")


def test_render_says_what_it_did_to_each_file(tmp_path, capsys):
    assert main(["render", CIFAR, "--style", "subclass", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith("written: ") for line in lines)
    printed = [line.removeprefix("written: ") for line in lines]
    assert all((tmp_path / p).is_file() for p in printed)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.split("/")[-1] for p in printed)
    assert main(["render", CIFAR, "--style", "subclass", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"unchanged: {p}" for p in printed]


def test_style_all_reports_the_styles_a_spec_cannot_take(tmp_path, capsys):
    residual = str(ROOT / "specs" / "residual_cnn.json")
    assert main(["render", residual, "--style", "all", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"skipped: {residual} --style sequential (layer 'block1_add' breaks the chain" in out
    assert "written: " in out and "sequential.py" not in out


def test_orphans_fail_check_and_prune_deletes_them(tmp_path, capsys):
    spec = json.loads((ROOT / "specs" / "cifar100.json").read_text())
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "out"
    (out).mkdir()
    (out / "mine.py").write_text("print('not generated')\n")
    args = ["render", str(path), "--style", "functional", "--out", str(out)]
    assert main(args) == 0
    spec["name"] = "renamed"
    path.write_text(json.dumps(spec))
    assert main(args) == 0
    assert "orphaned: " in capsys.readouterr().out
    assert main([*args, "--check"]) == 1
    text = capsys.readouterr().out
    assert f"orphaned: {out / 'cifar100_cnn_functional.py'}" in text
    assert "mine.py" not in text, "only files specgen wrote are orphans"
    assert main([*args, "--prune"]) == 0
    assert f"pruned: {out / 'train_cifar100_cnn_functional.py'}" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "mine.py",
        "renamed_functional.py",
        "specgen_cli.py",
        "specgen_data.py",
        "specgen_runtime.py",
        "train_renamed_functional.py",
    ]
    assert main([*args, "--check"]) == 0


def test_one_spec_picked_from_a_folder_orphans_no_other_specs_modules(tmp_path, capsys):
    residual = str(ROOT / "specs" / "residual_cnn.json")
    assert main(["render", CIFAR, residual, "--out", str(tmp_path)]) == 0
    assert main(["render", CIFAR, "--out", str(tmp_path), "--check"]) == 0
    assert "orphaned" not in capsys.readouterr().out


def test_a_spec_without_schema_beside_the_given_one_keeps_its_modules(tmp_path, capsys):
    specs = tmp_path / "specs"
    specs.mkdir()
    cifar = json.loads((ROOT / "specs" / "cifar100.json").read_text())
    del cifar["$schema"]
    (specs / "a.json").write_text(json.dumps(cifar))
    other = json.loads((ROOT / "specs" / "tiny_regression.json").read_text())
    del other["$schema"]
    (specs / "b.json").write_text(json.dumps(other))
    out = str(tmp_path / "out")
    assert main(["render", str(specs / "a.json"), str(specs / "b.json"), "--out", out]) == 0
    assert main(["render", str(specs / "a.json"), "--out", out, "--check"]) == 0
    assert "orphaned" not in capsys.readouterr().out


def test_a_folder_means_its_specs(tmp_path, capsys):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "cifar.json").write_text((ROOT / "specs" / "cifar100.json").read_text())
    (folder / "tsconfig.json").write_text("{}")
    os.mkfifo(folder / "pipe.json")  # read blindly, a FIFO would hang the render
    assert main(["render", str(folder), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert f"skipped: {folder / 'tsconfig.json'} (not a spec: its $schema names neither" in out
    assert f"skipped: {folder / 'pipe.json'} (not readable: is not a regular file" in out
    assert out.count("written: ") == 5  # model, training script, three shared modules


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


def test_rerender_of_a_renamed_spec_is_the_only_change(tmp_path, capsys):
    assert main(["render", CIFAR, "--style", "all", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    # By content and identity, not by clock: a rewrite replaces the file (a new inode).
    before = {p: (p.stat().st_ino, p.read_bytes()) for p in tmp_path.iterdir()}
    assert main(["render", CIFAR, "--style", "all", "--out", str(tmp_path)]) == 0
    assert {p: (p.stat().st_ino, p.read_bytes()) for p in tmp_path.iterdir()} == before, (
        "current files are not rewritten"
    )
    reported = capsys.readouterr().out.splitlines()
    assert reported == [f"unchanged: {p}" for p in sorted(before)]


def test_usage_error_is_exit_2(capsys):
    assert main(["render"]) == 2
    assert main(["render", CIFAR, "--style", "nope"]) == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    assert main(["nope"]) == 2
    assert main(["plot", CIFAR, "-o", "model.pdf"]) == 2
    assert "--output must end in .svg, .png or .dot" in capsys.readouterr().err


def test_help_exits_0_and_options_mix_with_specs(capsys, tmp_path):
    assert main(["--help"]) == 0
    assert "render" in capsys.readouterr().out
    assert main(["render", "-h"]) == 0
    assert "--prune" in capsys.readouterr().out
    # Options before, between and after the specs, as the pre-commit hook passes them.
    args = ["render", "--style", "all", CIFAR, "--out", str(tmp_path), "--check", CIFAR]
    assert main(args) == 1  # nothing rendered yet: missing files
    assert "missing: " in capsys.readouterr().out


def test_validate_ok(capsys):
    assert main(["validate", CIFAR]) == 0
    assert capsys.readouterr().out.strip().endswith(": ok")


def test_schema_command_prints_the_committed_schema(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((ROOT / "schemas" / "model-spec.schema.json").read_text())


def test_internal_error_is_one_line_exit_3(monkeypatch, capsys, tmp_path):
    import specgen.api

    # Bytes no earlier render has cached: a cached spec would never reach api.render.
    spec = json.loads(Path(CIFAR).read_text())
    spec["description"] = f"rendered only here: {tmp_path}"
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    monkeypatch.setattr(specgen.api, "render", lambda *a, **k: 1 / 0)
    assert main(["render", str(tmp_path / "spec.json"), "--out", str(tmp_path)]) == 3
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


def test_an_empty_or_nul_spec_path_is_an_error_not_a_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder holding a spec: "" must not render it
    (tmp_path / "cifar.json").write_text(Path(CIFAR).read_text())
    assert main(["render", "", "--out", str(tmp_path / "out")]) == 1
    assert "the spec path is empty" in capsys.readouterr().err
    assert main(["render", "a\0b.json", "--out", str(tmp_path / "out")]) == 1
    assert "NUL" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
