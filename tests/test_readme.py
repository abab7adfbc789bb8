"""The README says what the code does: its spec, data sets, defaults and commands are checked."""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil

import pytest
from conftest import ROOT

from specgen.catalog.datasets import DATASETS
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


# How Keras files its layers (keras/src/layers/<family>/...), as the README names the families.
FAMILIES = {
    "core": "Core",
    "activations": "Activations",
    "regularization": "Regularization",
    "reshaping": "Reshaping",
    "normalization": "Normalization",
    "convolutional": "Convolution",
    "pooling": "Pooling",
    "rnn": "Recurrent",
    "attention": "Attention",
    "preprocessing": "Preprocessing",
    "merging": "Merging",
}
BEGIN, END = "<!-- catalog:begin -->\n", "<!-- catalog:end -->"


def catalog_listing() -> str:
    """The README's list of layers, from the catalog, grouped as Keras files them."""
    import textwrap

    from specgen.catalog.layers import LAYERS

    keras = pytest.importorskip("keras")
    families: dict[str, list[str]] = {}
    layers = [k.name for k in LAYERS if not k.op and k.name != "CustomLayer"]
    for name in layers:
        layer = getattr(keras.layers, name, None)  # `Application` wraps keras.applications
        family = layer.__module__.split(".")[3] if layer else "applications"
        families.setdefault(FAMILIES.get(family, family.capitalize()), []).append(name)
    ops = [k.name for k in LAYERS if k.op]
    opening = (
        f"{len(layers)} Keras layers, {len(ops)} operations (`keras.ops`, called as layers are)"
        " and `CustomLayer` (a layer class of your own, opted in with `--allow-import`):"
    )
    text = [textwrap.fill(opening, 100), ""]
    for family, names in [*families.items(), ("Operations", ops)]:
        text.append(textwrap.fill(f"- {family}: {', '.join(names)}.", 100, subsequent_indent="  "))
    return "\n".join(text) + "\n"


def test_the_layer_list_is_the_catalog():
    global README
    expected = BEGIN + catalog_listing() + END
    found = README[README.index(BEGIN) : README.index(END) + len(END)]
    if found != expected and os.environ.get("SPECGEN_UPDATE_README"):
        README = README.replace(found, expected)
        (ROOT / "README.md").write_text(README, "utf-8")
        found = expected
    assert found == expected, (
        "README's layer list is not the catalog's; rewrite it with "
        "SPECGEN_UPDATE_README=1 python3 -m pytest tests/test_readme.py"
    )


def test_the_schema_size_is_the_schema_files():
    (stated,) = re.findall(r"JSON Schema 2020-12, ~(\d+) KB", README)
    size = (ROOT / "schemas" / "model-spec.schema.json").stat().st_size / 1000
    assert abs(int(stated) - size) <= 0.05 * size, (stated, size)


def _ratios(row: str) -> list[float]:
    return [float(x) for x in re.findall(r"\*\*(\d+(?:\.\d+)?)x\*\*", row)]


def test_speed_figures_are_those_measured_in_benchmarks():
    """The README's speed-ups are the range of the latest runs in BENCHMARKS.md (its first
    table: bench/render_speed.py, each ratio against `import tensorflow` in the same run)."""
    benchmarks = (ROOT / "BENCHMARKS.md").read_text("utf-8")
    for label, phrase in (
        ("warm cache", "re-render of an unchanged spec"),
        ("cold, no cache", "no cache"),
    ):
        row = next(line for line in benchmarks.splitlines() if line.startswith(f"| {label}"))
        ratios = _ratios(row)
        assert ratios, row
        low, high = re.search(rf"{phrase}[^.]*?(\d+)(?:-(\d+))?x faster", README, re.S).groups()
        stated = (int(low), int(high or low))
        assert stated == (int(min(ratios)), int(max(ratios))), (label, ratios)
