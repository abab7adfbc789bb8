"""specgen/emit/prebuilt.py: templates compiled at wheel-build time give exactly the output of
templates compiled at render time, and are ignored whenever they cannot be trusted."""

from __future__ import annotations

import json

import jinja2
import pytest
from conftest import ROOT

import specgen
from specgen.emit import header, prebuild, prebuilt, shared
from specgen.emit import render as render_module
from specgen.model import training

SPECS = sorted((ROOT / "specs").glob("*.json"))


@pytest.fixture
def built(tmp_path):
    prebuild.build(tmp_path)
    return tmp_path


def _environment(loader):
    return render_module.new_environment(loader)


def test_compiled_templates_render_what_the_sources_render(built):
    compiled = _environment(prebuilt.loader(jinja2, built))
    source = _environment(jinja2.FileSystemLoader(str(ROOT / "templates")))
    for path in SPECS:
        model = specgen.compile(path)
        train = training.build(model)
        styles = specgen.api.styles_for(model, "all")
        for style in styles:
            names = render_module.outputs_for(model, (style,)).values()
            for name in (n for n in names if n.endswith(".jinja")):
                context = dict(
                    model=model, style=style, styles=styles, script="train_m", training=train
                )
                assert compiled.get_template(name).render(**context) == source.get_template(
                    name
                ).render(**context), (path.name, style, name)
                # really the compiled module, not the source
                assert compiled.get_template(name).filename.startswith(str(built))


def test_a_changed_template_or_another_jinja2_is_not_trusted(built):
    manifest = json.loads((built / prebuilt.MANIFEST).read_text())
    manifest["templates"]["subclass.py.jinja"] = "0" * 64  # as if the source had been edited
    (built / prebuilt.MANIFEST).write_text(json.dumps(manifest))
    prebuilt.manifest.cache_clear()
    loader = prebuilt.loader(jinja2, built)
    with pytest.raises(jinja2.TemplateNotFound):
        loader.load(_environment(loader), "subclass.py.jinja")
    assert loader.load(_environment(loader), "train.py.jinja").filename.startswith(str(built))
    manifest["jinja2"] = "0.0"
    (built / prebuilt.MANIFEST).write_text(json.dumps(manifest))
    prebuilt.manifest.cache_clear()
    assert prebuilt.loader(jinja2, built) is None
    (built / prebuilt.MANIFEST).write_text("{not json")
    prebuilt.manifest.cache_clear()
    assert prebuilt.loader(jinja2, built) is None
    prebuilt.manifest.cache_clear()


def test_shipped_fingerprints_are_the_parsed_ones(built, monkeypatch):
    monkeypatch.setattr(prebuilt, "manifest", lambda folder=built: json.loads(
        (built / prebuilt.MANIFEST).read_text()
    ))  # fmt: skip
    for name in shared.NAMES:
        text, _ = shared.source(name)
        assert prebuilt.fingerprint(text) == header.parse_fingerprint(text) is not None
        assert prebuilt.fingerprint(text + "\n") is None


# --- issue 19, class 4: any doubt about a compiled template falls back to its source --------


@pytest.fixture
def installed(built, monkeypatch):
    """`built` as the wheel's prebuilt/ folder, with the render cache off."""
    import functools

    from specgen.emit import cache

    monkeypatch.setenv("SPECGEN_CACHE_DIR", "")
    monkeypatch.setattr(prebuilt, "loader", functools.partial(prebuilt.loader, folder=built))
    for memo in (cache._root, cache.folder, render_module.environment, prebuilt.manifest):
        memo.cache_clear()
    yield built
    monkeypatch.undo()
    for memo in (cache._root, cache.folder, render_module.environment, prebuilt.manifest):
        memo.cache_clear()


def _tamper(built, name, change) -> None:
    """Change the compiled module of template `name` and record its new hash in the manifest,
    as a damaged or hostile wheel would: only the load or the render can tell."""
    module = jinja2.ModuleLoader.get_module_filename(name)
    code = change((built / module).read_text())
    (built / module).write_text(code)
    data = json.loads((built / prebuilt.MANIFEST).read_text())
    data["modules"][module] = prebuilt.sha256(code)
    (built / prebuilt.MANIFEST).write_text(json.dumps(data))
    prebuilt.manifest.cache_clear()
    render_module.environment.cache_clear()


SPEC = ROOT / "specs" / "tiny_regression.json"


def _source_render():
    model = specgen.compile(SPEC)
    return render_module.render_model(model, ("functional", "subclass"))


@pytest.mark.parametrize(
    "damage",
    [
        "truncated",
        "truncated, manifest agreeing",
        "NameError at load",
        "NameError at render",
        "other settings",
    ],
)
def test_a_compiled_template_in_doubt_falls_back_to_source(installed, damage, tmp_path):
    render_module.environment.cache_clear()
    env = render_module.environment()
    assert render_module.uses_prebuilt(env)
    expected = _source_render()
    name = "functional.py.jinja"
    module = installed / jinja2.ModuleLoader.get_module_filename(name)
    if damage == "truncated":
        module.write_text(module.read_text()[: len(module.read_text()) // 2])
    elif damage == "truncated, manifest agreeing":
        _tamper(installed, name, lambda code: code[: len(code) // 2])
    elif damage == "NameError at load":
        _tamper(installed, name, lambda code: code + "\nnot_defined_anywhere\n")
    elif damage == "NameError at render":
        _tamper(
            installed,
            name,
            lambda code: (
                code + "\ndef root(context, missing=None, environment=None):\n"
                "    yield str(not_defined_anywhere)\n"
            ),
        )
    else:
        data = json.loads((installed / prebuilt.MANIFEST).read_text())
        data["environment"] = data["environment"].replace(
            "lstrip_blocks=True", "lstrip_blocks=False"
        )
        (installed / prebuilt.MANIFEST).write_text(json.dumps(data))
        prebuilt.manifest.cache_clear()
    render_module.environment.cache_clear()
    assert _source_render() == expected
    from specgen.cli import main

    assert main(["render", str(SPEC), "--style", "all", "--out", str(tmp_path / "o")]) == 0


def test_the_settings_check_refuses_another_environment(built):
    loader = prebuilt.loader(jinja2, built)
    same = _environment(loader)
    assert loader.load(same, "train.py.jinja").filename.startswith(str(built))
    other = _environment(loader)
    other.lstrip_blocks = False
    with pytest.raises(jinja2.TemplateNotFound):
        loader.load(other, "train.py.jinja")
