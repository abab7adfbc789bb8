"""The README says what the code does: its spec, data sets, defaults and commands are checked."""

from __future__ import annotations

import glob
import re
import shlex
import shutil

import pytest
from conftest import ROOT

from specgen.catalog.training import DATASETS
from specgen.cli import DEFAULT_STYLE, main

README = (ROOT / "README.md").read_text("utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_opens_with_two_commands_install_render_and_test():
    first = _blocks("sh")[0].strip().splitlines()
    assert README.index("```sh") < README.index("\n## ")
    assert len(first) == 2
    assert "pip install" in first[0] and "specgen render specs/" in first[0]
    assert first[1].endswith("pytest")


def test_example_spec_is_specs_cifar100_verbatim():
    assert _blocks("json")[0] == (ROOT / "specs" / "cifar100.json").read_text("utf-8")


def test_lists_every_data_set_and_the_default_style():
    bullet = README[README.index("- `training.dataset`") :].split("\n- ")[0]
    for name in DATASETS:
        assert f"`{name}`" in bullet, name
    assert f"`--style` defaults to `{DEFAULT_STYLE}`" in README


def test_installs_from_the_repository_never_pypi_specgen():
    assert "pip install specgen" not in README
    assert "git+" in README


def _cli_examples() -> list[list[str]]:
    block = next(b for b in _blocks("sh") if "specgen validate" in b)
    lines = [line.split("#")[0].split() for line in block.splitlines()]
    runnable = ("render", "validate", "summary", "schema")
    return [words[1:] for words in lines if words and words[1] in runnable]


@pytest.mark.parametrize("args", _cli_examples(), ids=" ".join)
def test_cli_examples_run(args, tmp_path, monkeypatch):
    for folder in ("specs", "generated", "schemas"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)
    expanded = [p for arg in args for p in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
    assert main(expanded) == 0, shlex.join(args)


def test_pre_commit_snippet_matches_the_hook():
    yaml = pytest.importorskip("yaml")
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    snippet = next(b for b in _blocks("yaml") if "specgen-check" in b)
    (documented,) = yaml.safe_load(snippet)[0]["hooks"]
    assert documented["files"] == hook["files"] and documented["args"] == hook["args"]
