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
def environment(templates: Path | None = None) -> jinja2.Environment:
    """The one Environment; `templates` overrides packaged templates by file name. Packaged
    templates come compiled from the wheel (prebuilt.py) when they can be trusted."""
    import jinja2  # ~40 ms: `validate`, `summary` and `plot` never need it

    from . import prebuilt
    from .template_errors import SafeLoader

    loaders = [] if templates is None else [SafeLoader([str(templates)])]
    compiled = prebuilt.loader(jinja2)
    if compiled is not None:
        loaders.append(compiled)
    loaders.append(SafeLoader([str(resources.data_dir("templates"))]))
    env = new_environment(loaders[0] if len(loaders) == 1 else jinja2.ChoiceLoader(loaders))
    env.bytecode_cache = _bytecode_cache(jinja2)
    return env


def new_environment(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """specgen's Environment settings, in one place: prebuild.build compiles with them too."""
    import jinja2

    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(filters())
    return env


def _bytecode_cache(jinja2):
    """Compiled templates kept between runs (specgen/emit/cache.py): compiling them was ~40% of a
    one-spec render. Jinja checks each template's source checksum and the Python version, so
    edited templates and --templates overrides are recompiled."""
    where = cache.folder("templates")
    if where is None:
        return None

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket):
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

        def load_bytecode(self, bucket):
            try:
                super().load_bytecode(bucket)
            except OSError:
                pass

    return QuietCache(str(where))


def module_name(model: Model, style: str) -> str:
    return f"{model.name}_{style}"


def header(model: Model, body: str, *, script: bool) -> str:
    """A training script carries the whole spec's hash; a model module the model's only."""
    if script:
        return headers.make(model.name, model.spec_sha256, body)
    return headers.make(model.name, model.model_sha256, body, model=True)


# Written once per output folder: the same text from every spec that trains (shared.py).
SHARED = shared.NAMES


def shared_header(body: str) -> str:
    return headers.make("the training runtime", "none (shared by every spec)", body)


def outputs_for(model: Model, style: str) -> dict[str, str]:
    """{file name: template name} for one style: the model module and, when the spec has a
    training block, its training script (and the shared modules it imports, which are copied,
    not rendered: their template is the file itself)."""
    module = module_name(model, style)
    files = {f"{module}.py": f"{style}.py.jinja"}
    if model.training is not None:
        files[f"train_{module}.py"] = "train.py.jinja"
        files.update({name: name for name in SHARED})
    return files


def sources_digest(templates: Path | None) -> str | None:
    """Everything besides the spec that decides the output: specgen's code, the templates, the
    ruff and Jinja2 that run, the Python version. None (do not cache) when a template folder
    holds anything but regular files: a FIFO would hang the read, and the loader reports it."""
    installed = _installed_digest()
    overrides = _files_digest(_entries(Path(templates))) if templates else ""
    if installed is None or overrides is None:
        return None
    return cache.key(installed, overrides)


@memoize
def _installed_digest() -> str | None:
    """The part that cannot change while this process runs: read once, not once a spec."""
    import importlib.util
    import sys

    files = sorted(Path(__file__).parent.parent.rglob("*.py"))
    files += _entries(resources.data_dir("templates"))
    sources = _files_digest(files)
    if sources is None:
        return None
    parts = [sys.version, sources, formatting.ruff_identity()]
    jinja = importlib.util.find_spec("jinja2")
    if jinja and jinja.origin:
        info = Path(jinja.origin).stat()
        parts += [jinja.origin, f"{info.st_size}:{info.st_mtime_ns}"]
    return cache.key(*parts)


def _entries(folder: Path) -> list[Path]:
    """A template folder's entries, less its folders: pip compiles the packaged shared modules
    into templates/__pycache__/, and a folder cannot be a template."""
    return sorted(path for path in folder.glob("*") if not path.is_dir())


def _files_digest(files: list[Path]) -> str | None:
    import stat

    parts = []
    for path in files:
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                return None
            parts += [str(path), path.read_text(encoding="utf-8")]
        except (OSError, UnicodeDecodeError):
            parts += [str(path), "?"]
    return cache.key(*parts)


def render_model(
    model: Model, styles: tuple[str, ...], templates: Path | None = None
) -> dict[str, str]:
    """{file name: source}. A render of the same spec, styles, specgen code, templates and
    ruff is read from the cache (specgen/emit/cache.py) without importing Jinja2 or running ruff:
    the output is a pure function of those."""
    entry = None
    digest = sources_digest(templates) if cache.folder("outputs") is not None else None
    if digest is not None:
        entry = cache.key("render-v1", model.spec_sha256, *styles, digest)
        known = cache.get("outputs", entry)
        if known is not None:
            try:
                files = json.loads(known)
            except ValueError:
                files = None
            if isinstance(files, dict):
                return files
    from ..model import training
    from .template_errors import check_python, located  # imports Jinja2: after the cache

    env = environment(templates)
    train = training.build(model)
    raw, ready, scripts = {}, {}, set()
    with located(templates):
        for style in styles:
            module = module_name(model, style)
            for file_name, template in outputs_for(model, style).items():
                if file_name in raw or file_name in ready:  # a shared module, seen already
                    continue
                if file_name in SHARED:
                    text, packaged = shared.source(file_name, templates)
                    (ready if packaged else raw)[file_name] = text  # packaged: formatted
                    continue
                if template == "train.py.jinja":
                    scripts.add(file_name)
                raw[file_name] = env.get_template(template).render(
                    model=model,
                    style=style,
                    module=module,
                    script=f"train_{module}",
                    training=train,
                )
        # ruff failing on code from the user's templates is the templates' fault, not a bug.
        if templates is not None:
            check_python(raw, templates)
        wait = formatting.start(raw)
        # The code fingerprint ignores layout, so it is taken from the unformatted code while
        # ruff runs (tests/test_golden.py checks every header against the formatted body).
        heads = {
            name: shared_header(body)
            if name in SHARED
            else header(model, body, script=name in scripts)
            for name, body in {**raw, **ready}.items()
        }
        formatted = {**wait(), **ready}
    files = {name: heads[name] + body for name, body in sorted(formatted.items())}
    if entry is not None:
        cache.put("outputs", entry, json.dumps(files, ensure_ascii=False))
    return files
