"""The CLI as users run it: exit codes, paths printed, --check/--diff, never clobbering work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
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
    assert f"pruned: {out / 'train_cifar100_cnn.py'}" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "mine.py",
        "renamed_functional.py",
        "specgen_cli.py",
        "specgen_data.py",
        "specgen_images.py",
        "specgen_runtime.py",
        "train_renamed.py",
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
    (folder / "list.json").write_text("[1]")
    (folder / "other.json").write_text('{"$schema": "https://json.schemastore.org/x.json"}')
    (folder / "number.json").write_text('{"$schema": 3}')
    (folder / "broken.json").write_text('{"a": ')
    spec = json.loads((ROOT / "specs" / "tiny_regression.json").read_text())
    del spec["$schema"]
    (folder / "bare.json").write_text(json.dumps(spec))
    os.mkfifo(folder / "pipe.json")  # read blindly, a FIFO would hang the render
    assert main(["render", str(folder), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    for name, reason in (
        ("tsconfig.json", 'not a spec: it has no "$schema")'),
        ("list.json", "not a spec: the JSON is an array, not an object)"),
        ("other.json", "not a spec: its $schema is 'https://json.schemastore.org/x.json', which"),
        ("number.json", "not a spec: its $schema is a number, not a string)"),
        ("broken.json", "not readable JSON: Expecting value: line 1"),
        ("bare.json", 'not a spec: it has "layers" but no "$schema"; add "$schema":'),
        ("pipe.json", "not readable: is not a regular file"),
    ):
        assert f"skipped: {folder / name} ({reason}" in out, name
    assert out.count("skipped: ") == 7  # every JSON file not treated as a spec, once
    assert out.count("written: ") == 6  # model, training script, four shared modules


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
    assert "Invalid value for '--style': 'nope' is not one of" in capsys.readouterr().err
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


def _training_spec(tmp_path, change) -> str:
    spec = json.loads((ROOT / "specs" / "tiny_regression.json").read_text())
    change(spec["training"])
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec, indent=2))
    return str(path)


def test_an_anyof_error_names_the_closest_branch_and_its_own_problem(tmp_path, capsys):
    schedule = {"type": "CosineDecay", "initial_learning_rate": 0.1, "decay_steps": 9}
    for change, expected in (
        (
            lambda t: t["optimizer"].update(learning_rate={**schedule, "warmup_step": 3}),
            "/training/optimizer/learning_rate/warmup_step: unknown key 'warmup_step';"
            " did you mean 'warmup_steps'?",
        ),
        (
            lambda t: t.update(dataset={"x_train": [1], "y_train": [2], "x_tset": [1]}),
            "/training/dataset/x_tset: unknown key 'x_tset'; did you mean 'x_test'?",
        ),
        (
            lambda t: t.update(dataset={"csv": "a.csv", "labl": "y"}),
            "/training/dataset/labl: unknown key 'labl'; did you mean 'label'?",
        ),
        (
            lambda t: t.update(loss={"type": "Huber", "delt": 1.0}),
            "/training/loss/delt: unknown key 'delt'; did you mean 'delta'?",
        ),
        (
            lambda t: t["optimizer"].update(learning_rate={"type": "CosineDecay"}),
            "/training/optimizer/learning_rate: missing required key 'initial_learning_rate'",
        ),
        (  # no branch takes a number: the whole choice is named
            lambda t: t.update(dataset=3),
            "/training/dataset: expected a built-in data set, an .npz path,",
        ),
    ):
        assert main(["validate", _training_spec(tmp_path, change)]) == 1
        err = capsys.readouterr().err
        assert expected in err and "expected anyOf" not in err, err


def _complete(monkeypatch, capsys, shell, words, cword):
    """What click answers a shell asking to complete `words` (word `cword` being typed)."""
    monkeypatch.setenv("_SPECGEN_COMPLETE", f"{shell}_complete")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", cword)
    assert main([]) == 0
    return capsys.readouterr().out


def test_shell_completion_of_commands_options_styles_and_spec_files(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "specs").mkdir()
    for shell in ("bash", "zsh"):
        out = _complete(monkeypatch, capsys, shell, "specgen ", "1")
        assert all(c in out for c in ("render", "validate", "import", "completion")), out
        out = _complete(monkeypatch, capsys, shell, "specgen render --", "2")
        assert all(o in out for o in ("--style", "--out", "--check", "--prune")), out
        out = _complete(monkeypatch, capsys, shell, "specgen render --style ", "3")
        assert all(s in out for s in ("sequential", "functional", "subclass", "all")), out
        out = _complete(monkeypatch, capsys, shell, "specgen render ", "2")
        assert "model.json" in out and "specs/" in out and "notes.txt" not in out, out
    # fish passes the word being typed itself
    out = _complete(monkeypatch, capsys, "fish", "specgen render --style s", "s")
    assert "sequential" in out and "subclass" in out and "functional" not in out, out
    out = _complete(monkeypatch, capsys, "fish", "specgen validate m", "m")
    assert "model.json" in out and "notes.txt" not in out, out


def test_completion_scripts_for_each_shell():
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete")):
        out = subprocess.run(
            [sys.executable, "-m", "specgen.cli", "completion", shell],
            capture_output=True,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert out.returncode == 0 and marker in out.stdout and "_SPECGEN_COMPLETE" in out.stdout


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`specgen render --diff | head -1`: the reader leaves early; no message, not exit 3."""
    command = [sys.executable, "-m", "specgen.cli", "render", str(ROOT / "specs")]
    command += ["--style", "all", "--out", str(tmp_path / "none"), "--diff"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as run:
        assert run.stdout.readline()  # diffs of every missing file: far more than a pipe holds
        run.stdout.close()
        err = run.stderr.read().decode()
        code = run.wait()
    assert err == "" and code == 1, (code, err)


TF_LOG_LINE = re.compile(r"^(?:[IWEF]\d{4} |WARNING: All log messages before absl)", re.M)


def test_import_writes_a_spec_as_a_person_would_and_keeps_tensorflow_quiet(tmp_path):
    """$schema first (here the repository's schema, found above the output), 2-space
    indents, a shape on one line, one layer a line; TensorFlow's start-up log hidden."""
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(10, name="logits"),
        ],
        name="small",
    )
    config = tmp_path / "config.json"
    config.write_text(model.to_json())
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "model-spec.schema.json").write_text("{}")
    (tmp_path / "out").mkdir()
    output = tmp_path / "out" / "small.json"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    command = [sys.executable, "-m", "specgen.cli", "import", str(config), "-o", str(output)]
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert not TF_LOG_LINE.search(run.stderr), run.stderr
    text = output.read_text()
    assert text.startswith(
        '{\n  "$schema": "../schemas/model-spec.schema.json",\n  "name": "small",'
    )
    assert '"shape": [28, 28, 1]' in text
    assert '    {"name": "flat", "type": "Flatten"},\n' in text
    assert main(["validate", str(output)]) == 0
    # --verbose lets TensorFlow speak (whatever it has to say on this machine) and works.
    run = subprocess.run(
        [*command, "--force", "--verbose"], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr


def test_a_per_style_training_script_of_older_specgen_is_orphaned(tmp_path, capsys):
    """Older specgen wrote train_<name>_<style>.py; now one train_<name>.py trains any style,
    so the old ones are orphans of the spec, whatever style is rendered."""
    args = ["render", CIFAR, "--style", "subclass", "--out", str(tmp_path)]
    assert main(args) == 0
    old = tmp_path / "train_cifar100_cnn_functional.py"
    old.write_text((tmp_path / "train_cifar100_cnn.py").read_text())  # specgen's header
    capsys.readouterr()
    assert main([*args, "--check"]) == 1
    assert f"orphaned: {old}" in capsys.readouterr().out
    assert main([*args, "--prune"]) == 0
    assert not old.exists() and (tmp_path / "train_cifar100_cnn.py").exists()
