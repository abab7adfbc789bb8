"""specgen in someone else's repository: their formatter, their pre-commit, their other JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

from specgen.cli import main
from specgen.emit.format import _ruff

CIFAR = ROOT / "specs" / "cifar100.json"
RESIDUAL = ROOT / "specs" / "residual_cnn.json"


@pytest.fixture
def rendered(tmp_path):
    out = tmp_path / "generated"
    assert main(["render", str(CIFAR), str(RESIDUAL), "--style", "all", "--out", str(out)]) == 0
    return out


def _check(out, capsys) -> int:
    capsys.readouterr()
    return main(
        ["render", str(CIFAR), str(RESIDUAL), "--style", "all", "--out", str(out), "--check"]
    )


def _contents(out) -> dict[str, str]:
    before = {p.name: p.read_text() for p in out.glob("*.py")}
    assert all(before.values())
    return before


@pytest.mark.parametrize(
    "config", ['line-length = 60\n[format]\nquote-style = "single"\n', "line-length = 120\n"]
)
def test_users_ruff_format_keeps_files_current(rendered, tmp_path, capsys, config):
    before = _contents(rendered)
    (tmp_path / "ruff.toml").write_text(config)
    subprocess.run([_ruff(), "format", "--quiet", str(rendered)], cwd=tmp_path, check=True)
    after = {p.name: p.read_text() for p in rendered.glob("*.py")}
    assert after != before, "the user's settings must really have reformatted something"
    assert _check(rendered, capsys) == 0, capsys.readouterr().out
    # A normal render leaves the user's formatting alone: nothing is rewritten.
    assert (
        main(["render", str(CIFAR), str(RESIDUAL), "--style", "all", "--out", str(rendered)]) == 0
    )
    assert set(capsys.readouterr().out.split()) >= {"unchanged:"}
    assert {p.name: p.read_text() for p in rendered.glob("*.py")} == after


@pytest.mark.parametrize("line_length", ["60", "120"])
def test_users_black_keeps_files_current(rendered, capsys, line_length):
    black = shutil.which("black") or pytest.skip("black is not installed (pip install '.[test]')")
    before = _contents(rendered)
    subprocess.run([black, "-q", "-l", line_length, "-S", str(rendered)], check=True)
    assert {p.name: p.read_text() for p in rendered.glob("*.py")} != before
    assert _check(rendered, capsys) == 0, capsys.readouterr().out


def test_a_real_code_change_is_still_stale_and_hand_edited(rendered, capsys):
    target = rendered / "cifar100_cnn_functional.py"
    text = target.read_text()
    assert "Conv2D(16," in text
    target.write_text(text.replace("Conv2D(16,", "Conv2D(17,"))
    assert _check(rendered, capsys) == 1
    assert f"stale: {target}" in capsys.readouterr().out
    assert main(["render", str(CIFAR), "--style", "functional", "--out", str(rendered)]) == 1
    assert "edited by hand" in capsys.readouterr().err


def test_a_changed_docstring_is_not_a_code_change_but_a_changed_string_is(rendered, capsys):
    target = rendered / "cifar100_cnn_subclass.py"
    text = target.read_text()
    target.write_text(text.replace('"""Small CNN for', '"""Small  CNN\n    for', 1))
    assert _check(rendered, capsys) == 0
    target.write_text(text.replace('name="conv1"', 'name="convX"', 1))
    assert _check(rendered, capsys) == 1


def _hook_as_local(python: str) -> dict:
    """specgen's published hook, run from this checkout: same files/args/pass_filenames, but
    `language: system` so that pre-commit needs no network to build an environment."""
    yaml = pytest.importorskip("yaml")  # comes with pre-commit
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    local = dict(hook, language="system")
    local["entry"] = hook["entry"].replace("specgen", f"{python} -m specgen.cli", 1)
    return {"repos": [{"repo": "local", "hooks": [local]}]}


def test_pre_commit_hook_runs_on_specs_only(tmp_path):
    pre_commit = shutil.which("pre-commit") or pytest.skip("pre-commit is not installed")
    repo = tmp_path / "user-repo"
    (repo / "specs").mkdir(parents=True)
    shutil.copy(CIFAR, repo / "specs" / "cifar100.json")
    (repo / "specs" / "notes.json").write_text('{"not": "a spec"}\n')
    (repo / "tsconfig.json").write_text('{"compilerOptions": {"strict": true}}\n')
    (repo / ".pre-commit-config.yaml").write_text(json.dumps(_hook_as_local(sys.executable)))
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        PRE_COMMIT_HOME=str(tmp_path / "cache"),
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )

    def git(*args):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)

    def hook(*files):
        git("add", "-A")
        args = ["run", "--files", *files] if files else ["run", "--all-files"]
        return subprocess.run(
            [pre_commit, *args], cwd=repo, capture_output=True, text=True, env=env
        )

    git("init", "-q")
    first = hook()
    assert first.returncode == 1 and "missing:" in first.stdout, first.stdout
    assert "notes.json (not a spec" in first.stdout
    assert (
        main(["render", str(repo / "specs"), "--style", "all", "--out", str(repo / "generated")])
        == 0
    )
    assert hook().returncode == 0
    # Only other JSON changed: the hook does not even run.
    skipped = hook("tsconfig.json")
    assert skipped.returncode == 0 and "no files to check" in skipped.stdout, skipped.stdout
    # The user's formatter over generated/ does not upset it.
    subprocess.run(
        [_ruff(), "format", "--isolated", "--line-length", "120", "generated"],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    assert hook("generated/cifar100_cnn_functional.py").returncode == 0
    spec = json.loads(CIFAR.read_text())
    spec["layers"][0]["filters"] += 1  # a real change to the model, still a valid spec
    (repo / "specs" / "cifar100.json").write_text(json.dumps(spec))
    stale = hook("specs/cifar100.json")
    assert stale.returncode == 1 and "stale:" in stale.stdout
    spec["name"] = "renamed"
    (repo / "specs" / "cifar100.json").write_text(json.dumps(spec))
    assert (
        main(["render", str(repo / "specs"), "--style", "all", "--out", str(repo / "generated")])
        == 0
    )
    orphaned = hook("specs/cifar100.json")
    assert orphaned.returncode == 1 and "orphaned:" in orphaned.stdout
    assert (
        main(
            [
                "render",
                str(repo / "specs"),
                "--style",
                "all",
                "--out",
                str(repo / "generated"),
                "--prune",
            ]
        )
        == 0
    )
    assert hook().returncode == 0
    assert sorted(p.name for p in (repo / "generated").iterdir()) == sorted(
        [
            *(f"renamed_{style}.py" for style in ("functional", "sequential", "subclass")),
            "train_renamed.py",
            *("specgen_cli.py", "specgen_data.py", "specgen_images.py"),
            "specgen_runtime.py",
        ]
    )
