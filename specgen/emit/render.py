"""Stage 4: IR -> Python source through one strict Jinja2 environment, then ruff, then a header.

The header (specgen/emit/header.py) names the spec and its hash, and carries a formatter-proof
hash of the body below it, so `write` can tell a file specgen wrote from one edited by hand.
"""

from __future__ import annotations

import json
from functools import cache as memoize
from pathlib import Path
from typing import TYPE_CHECKING

from ..spec import resources
from . import cache, shared
from . import format as formatting
from . import header as headers
from .keys import SETTINGS, jinja_digest, sources_digest

if TYPE_CHECKING:
    import jinja2

    from ..model.ir import Model

STYLES = ("sequential", "functional", "subclass")


def docstring_text(text: str) -> str:
    """Escape free text for a triple-quoted docstring so that it is inert and round-trips.

    Backslashes and every quote are escaped (no `\"\"\"`, no trailing backslash can close the
    string early), and so is every character that is not printable: newlines, `\\r` (which ends
    a comment line in some readers), NUL, `\\u2028`.
    """
    out = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif char == "\n":
            out.append("\\n")
        else:
            code = ord(char)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
    return _wrap("".join(out))


def _wrap(escaped: str, width: int = 76) -> str:
    """Break a long escaped docstring after spaces with backslash-newline: a line continuation
    inside the string, so the docstring's value is unchanged and every line fits 88 columns
    (an escape sequence never contains a space, so none is split)."""
    if len(escaped) <= width:
        return escaped
    words = escaped.split(" ")
    lines, current, length = [], [words[0]], len(words[0])
    for word in words[1:]:
        if length and length + len(word) + 3 > width:
            lines.append(" ".join(current) + " \\\n")
            current, length = [word], len(word)
        else:
            current.append(word)
            length += 1 + len(word)
    return "".join(lines) + " ".join(current)


def filters() -> dict:
    from ..model.ir import literal

    return {"literal": literal, "docstring": docstring_text}


@memoize
def environment(templates: Path | None = None, compiled: bool = True) -> jinja2.Environment:
    """The one Environment; `templates` overrides packaged templates by file name. Packaged
    templates come compiled from the wheel (prebuilt.py) when they can be trusted and
    `compiled` is true (render_model turns it off to fall back on any doubt)."""
    import jinja2  # ~40 ms: `validate`, `summary` and `plot` never need it

    from . import prebuilt
    from .template_errors import SafeLoader

    loaders = [] if templates is None else [SafeLoader([str(templates)])]
    loader = prebuilt.loader(jinja2) if compiled else None
    if loader is not None:
        loaders.append(loader)
    loaders.append(SafeLoader([str(resources.data_dir("templates"))]))
    env = new_environment(loaders[0] if len(loaders) == 1 else jinja2.ChoiceLoader(loaders))
    env.bytecode_cache = _bytecode_cache(jinja2, env)
    return env


def uses_prebuilt(env: jinja2.Environment) -> bool:
    loaders = getattr(env.loader, "loaders", [env.loader])
    return any(getattr(loader, "specgen_prebuilt", False) for loader in loaders)


def new_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """An Environment with specgen's SETTINGS: prebuild.build compiles with them too."""
    import jinja2

    env = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, **SETTINGS)
    env.filters.update(filters())
    return env


def _bytecode_cache(jinja2, env):
    """Compiled templates kept between runs in specgen's authenticated cache (cache.py):
    compiling them was ~40% of a one-spec render. Jinja checks each template's source checksum;
    the key adds the Environment's settings (prebuilt.settings), which Jinja's own
    FileSystemBytecodeCache leaves out, and Python's and Jinja2's code."""
    if cache.folder("templates") is None:
        return None
    from . import prebuilt

    settings = cache.key(prebuilt.settings(env), jinja_digest(), cache.code_digest())

    class CheckedCache(jinja2.BytecodeCache):
        def load_bytecode(self, bucket):
            data = cache.get_bytes("templates", cache.key(settings, bucket.key))
            if data is not None:
                try:
                    bucket.bytecode_from_string(data)
                except Exception:  # an authentic entry is ours; still, never trust it blindly
                    bucket.reset()

        def dump_bytecode(self, bucket):
            data = bucket.bytecode_to_string()
            cache.put_bytes("templates", cache.key(settings, bucket.key), data)

    return CheckedCache()


def module_name(model: Model, style: str) -> str:
    return f"{model.name}_{style}"


def header(model: Model, body: str, *, script: bool) -> str:
    """A training script carries the whole spec's hash; a model module the model's only."""
    if script:
        return headers.make(model.name, model.spec_sha256, body)
    return headers.make(model.name, model.model_sha256, body, model=True)


def shared_header(body: str) -> str:
    return headers.make("the training runtime", "none (shared by every spec)", body)


def script_name(model: Model) -> str:
    """The one training script of a spec, whatever styles were rendered: it trains any."""
    return f"train_{model.name}"


def script_styles(model: Model) -> tuple[str, ...]:
    """Every style the spec can take: its training script is the same text whichever of them a
    render writes, and trains the ones it finds beside it (specgen_cli.rendered)."""
    return tuple(s for s in STYLES if s != "sequential" or model.chain_break() is None)


def outputs_for(model: Model, styles: tuple[str, ...]) -> dict[str, str]:
    """{file name: template name}: one model module per style and, when the spec has a training
    block, one training script (and the shared modules it imports, which are copied, not
    rendered: their template is the file itself)."""
    files = {f"{module_name(model, style)}.py": f"{style}.py.jinja" for style in styles}
    if model.training is not None:
        files[f"{script_name(model)}.py"] = "train.py.jinja"
        files.update({name: name for name in shared.NAMES})
    return files


def _render_raw(env, model: Model, styles, templates, raw: dict, ready: dict) -> None:
    from ..model import training

    train = training.build(model)
    for file_name, template in outputs_for(model, styles).items():
        if file_name in shared.NAMES:
            text, packaged = shared.source(file_name, templates)
            (ready if packaged else raw)[file_name] = text  # packaged: formatted
            continue
        style = template.removesuffix(".py.jinja")  # "train" for the training script
        raw[file_name] = env.get_template(template).render(
            model=model,
            style=style,
            styles=script_styles(model),
            script=script_name(model),
            training=train,
        )


def render_model(
    model: Model, styles: tuple[str, ...], templates: Path | None = None
) -> dict[str, str]:
    """{file name: source}. A render of the same spec, styles and sources (sources_digest) is
    read from the cache (specgen/emit/cache.py) without importing Jinja2 or running ruff: the
    output is a pure function of those."""
    entry = None
    digest = sources_digest(templates) if cache.folder("outputs") is not None else None
    if digest is not None:
        entry = cache.key("render", model.spec_sha256, *styles, digest)
        known = cache.get("outputs", entry)
        if known is not None:
            try:
                files = json.loads(known)
            except ValueError:
                files = None
            if isinstance(files, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items()
            ):
                return files
    from .template_errors import check_python, located  # imports Jinja2: after the cache

    raw: dict[str, str] = {}
    ready: dict[str, str] = {}
    with located(templates):
        env = environment(templates)
        try:
            _render_raw(env, model, styles, templates, raw, ready)
        except Exception:
            if not uses_prebuilt(env):
                raise
            # A compiled template that fails (damaged, or not what its manifest says): on
            # any doubt, the source templates, whose failures are reported as they are.
            raw.clear()
            ready.clear()
            _render_raw(environment(templates, False), model, styles, templates, raw, ready)
        # ruff failing on code from the user's templates is the templates' fault, not a bug.
        if templates is not None:
            check_python(raw, templates)
        wait = formatting.start(raw)
        # The code fingerprint ignores layout, so it is taken from the unformatted code while
        # ruff runs (tests/test_golden.py checks every header against the formatted body).
        heads = {
            name: shared_header(body)
            if name in shared.NAMES
            else header(model, body, script=name == f"{script_name(model)}.py")
            for name, body in {**raw, **ready}.items()
        }
        formatted = {**wait(), **ready}
    files = {name: heads[name] + body for name, body in sorted(formatted.items())}
    if entry is not None:
        cache.put("outputs", entry, json.dumps(files, ensure_ascii=False))
    return files
