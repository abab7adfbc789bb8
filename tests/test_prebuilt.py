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
