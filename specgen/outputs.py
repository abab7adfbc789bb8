"""What `specgen render` will do to an output folder: which specs, which styles, which orphans.

Kept apart from cli.py so the command stays a thin layer: this module decides, the CLI prints.
"""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import NamedTuple

from . import api
from .catalog import allow_import as custom
from .emit import cache
from .emit.header import (
    HEADER_PREFIX,
    HEADER_SUFFIX,
    LINES,
    MODEL_PREFIX,
    SPEC_PREFIX,
    body_is_intact,
)
from .emit.header import split as split_header
from .emit.render import STYLES
from .emit.shared import NAMES as SHARED
from .emit.write import MAX_OUTPUT_BYTES
from .spec import limits
from .spec.errors import SpecError, SpecInvalid
from .spec.resources import SCHEMA_FILE, SCHEMA_ID


class Rendered:
    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.skipped: list[str] = []  # "what (reason)" lines
        self.errors: list[SpecError] = []
        self.clashes: list[str] = []  # one output file claimed by two specs
        self.models: set[str] = set()  # names of the given specs' models


def _read_json(path: Path) -> tuple[object, str | None]:
    """(data, None), or (None, why not): only regular files, through the loader's limits, so
    a FIFO or a huge file in a spec folder is skipped instead of hanging the render."""
    try:
        return json.loads(limits.read_regular(path, limits.MAX_SPEC_BYTES)), None
    except limits.NotReadable as exc:
        return None, f"not readable: {exc}"
    except (ValueError, RecursionError) as exc:
        return None, f"not readable JSON: {exc}"


def _why_not_spec(data: object) -> str | None:
    """None when parsed JSON is a spec (its `$schema` is a path to specgen's schema file or its
    $id); else the true reason it is skipped."""
    if not isinstance(data, dict):
        return f"not a spec: the JSON is {_json_kind(data)}, not an object"
    if "$schema" not in data:
        if "layers" in data:  # written as a spec, but a folder render cannot tell
            return (
                'not a spec: it has "layers" but no "$schema"; add "$schema":'
                f' ".../{SCHEMA_FILE}" (or "{SCHEMA_ID}") to render it with its folder,'
                " or name the file itself"
            )
        return 'not a spec: it has no "$schema"'
    schema = data["$schema"]
    if not isinstance(schema, str):
        return f"not a spec: its $schema is {_json_kind(schema)}, not a string"
    if not (schema.endswith(SCHEMA_FILE) or schema == SCHEMA_ID):
        shown = schema if len(schema) <= 80 else schema[:77] + "..."
        return (
            f"not a spec: its $schema is {shown!r}, which names neither {SCHEMA_FILE}"
            f" nor {SCHEMA_ID}"
        )
    return None


def _json_kind(value: object) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return next((word for cls, word in kinds.items() if isinstance(value, cls)), "a number")


def _is_spec(path: Path) -> str | None:
    """None when a JSON file in a spec folder is a spec; else why it is skipped."""
    data, why = _read_json(path)
    return why or _why_not_spec(data)


def _may_be_spec(path: Path) -> bool:
    """A spec by its $schema, or one without it (a dict with layers): when in doubt, a spec, so
    that a spec left out is never taken for a deleted one."""
    data, why = _read_json(path)
    if why is not None:
        return False
    if _why_not_spec(data) is None:
        return True
    return isinstance(data, dict) and "$schema" not in data and "layers" in data


def expand(arguments: tuple[str, ...], out: Rendered) -> list[str]:
    """Spec paths: a file is a spec; a folder means its *.json files whose $schema is ours."""
    specs: list[str] = []
    for argument in arguments:
        folder = Path(argument)
        # "" is not the current folder (Path("") is): an unset shell variable must not
        # render whatever specs happen to be here; the loader calls it an empty path.
        if not argument or "\0" in argument or not folder.is_dir():
            specs.append(argument)
            continue
        for path in sorted(folder.glob("*.json")):
            reason = _is_spec(path)
            if reason is None:
                specs.append(str(path))
            else:
                out.skipped.append(f"{path} ({reason})")
    return specs


def complete(arguments: tuple[str, ...]) -> bool:
    """Whether the arguments are every spec of their folders: a folder, or files that include
    each spec beside them (`specs/*.json`), but not one spec picked from several."""
    given = {Path(a).resolve() for a in arguments if not Path(a).is_dir()}
    if len(given) < len(arguments):
        return True
    for folder in {path.parent for path in given}:
        for path in folder.glob("*.json"):
            if path.resolve() not in given and _may_be_spec(path):
                return False
    return True


def render_all(arguments: tuple[str, ...], style: str, templates: Path | None) -> Rendered:
    """Every spec's files; a file name claimed by two specs is a clash naming both."""
    out = Rendered()
    owners: dict[str, str] = {}
    seen: set[Path] = set()
    for spec in expand(arguments, out):
        try:
            key = Path(spec).resolve()
        except (OSError, ValueError):  # a NUL in the path: the loader reports it
            key = Path(spec)
        if key in seen:  # the same file named twice renders once
            continue
        seen.add(key)
        rendered = _render_spec(spec, style, templates, out)
        if rendered is None:
            continue
        model, skipped, files = rendered
        out.models.add(model)
        if skipped is not None:
            out.skipped.append(f"{spec} --style sequential ({skipped})")
        for name, text in files.items():
            # The training runtime modules are shared: every spec renders the same text.
            if owners.setdefault(name, spec) != spec and name not in SHARED:
                out.clashes.append(
                    f"{spec}: would write {name}, which {owners[name]} also writes;"
                    " rename one of the models"
                )
            else:
                out.files[name] = text
    return out


def _render_spec(
    spec: str, style: str, templates: Path | None, out: Rendered
) -> tuple[str, str | None, dict[str, str]] | None:
    """(model name, why --style all skipped sequential or None, files); None after adding
    the spec's errors to `out`.

    A spec file that rendered before with the same bytes, style, templates, specgen, ruff and
    allowed custom-layer modules is served from the cache without even loading the compiler
    (load, validate, IR, Jinja2, ruff): a re-render, such as the pre-commit hook's, starts
    in milliseconds. Only successes are cached; a spec with errors is always compiled.
    """
    try:
        data = limits.read_regular(Path(spec), limits.MAX_SPEC_BYTES)
    except (limits.NotReadable, ValueError):  # ValueError: a NUL in the path
        data = None  # compiling it says why
    entry = _cache_entry(data, style, templates) if data is not None else None
    if entry is not None:
        known = cache.get("spec-renders", entry)
        try:
            model, skipped, files = json.loads(known) if known is not None else (None,) * 3
        except (ValueError, TypeError):
            model = skipped = files = None
        if isinstance(model, str) and isinstance(files, dict):
            return model, skipped, files
    from .spec.loader import load_bytes

    try:
        # The very bytes the cache key hashed: a spec edited meanwhile is not cached as them.
        compiled = api.compile(load_bytes(data, str(Path(spec))) if data is not None else spec)
        files = api.render(compiled, style, templates=templates)
    except SpecInvalid as exc:
        out.errors += exc.errors
        return None
    # One render per spec: the shared training modules are made once, not once a style.
    reason = compiled.chain_break() if style == "all" else None
    result = (compiled.name, reason[1] if reason else None, files)
    # A spec that reads a state file (a vocabulary) renders what the file holds: its bytes
    # alone do not key the result, so it is never cached.
    if entry is not None:
        from .spec import state_files  # loads the catalog: imported here, never on a hit

        if not state_files.reads_files(data):
            cache.put("spec-renders", entry, json.dumps(result, ensure_ascii=False))
    return result


def _cache_entry(data: bytes, style: str, templates: Path | None) -> str | None:
    from .emit.keys import sources_digest

    if cache.folder("spec-renders") is None:
        return None
    digest = sources_digest(templates)
    if digest is None:
        return None
    spec_hash = hashlib.sha256(data).hexdigest()
    return cache.key("spec-render", spec_hash, style, digest, custom.allow_key())


class Orphan(NamedTuple):
    """A file in the output folder that looks like specgen's and no given spec produces.
    `keep` is None when --prune may delete it (a regular file specgen wrote, unchanged since);
    else why it is only reported. `edited`: the one reason --force overrides."""

    path: Path
    keep: str | None = None
    edited: bool = False


_HEX = frozenset("0123456789abcdef")
SHARED_OWNER = "the training runtime"


def _is_hash(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


def _written_as(name: str, model: str) -> bool:
    """Whether specgen names a file `name` for the model named in its header."""
    if model == SHARED_OWNER:
        return name in SHARED
    modules = {f"{model}_{style}.py" for style in STYLES}
    # train_<model>.py now; train_<model>_<style>.py from specgen's per-style scripts before.
    scripts = {f"train_{model}.py"} | {f"train_{module}" for module in modules}
    return name in modules or name in scripts


def examine(path: Path) -> tuple[str, Orphan] | None:
    """(model named in its header, what --prune may do with it) for a file with a specgen
    header; None for any other file (never reported, never touched)."""
    try:
        info = path.lstat()
        text = limits.read_regular(path, MAX_OUTPUT_BYTES).decode("utf-8")
    except (OSError, limits.NotReadable, UnicodeDecodeError, ValueError):
        return None
    head = text.split("\n", LINES)
    if not (head[0].startswith(HEADER_PREFIX) and head[0].endswith(HEADER_SUFFIX)):
        return None
    model = head[0].removeprefix(HEADER_PREFIX).removesuffix(HEADER_SUFFIX)
    if stat.S_ISLNK(info.st_mode):
        return model, Orphan(path, "a symbolic link; specgen never deletes links")
    if path.name.startswith("."):
        return model, Orphan(path, "a dotfile; specgen never writes one")
    parts = split_header(text)
    if parts is None:
        return model, Orphan(path, "its header is not one specgen writes")
    # A model module carries the model's hash, a training script (and any file of an older
    # specgen) the spec's.
    spec_hash = head[1].removeprefix(SPEC_PREFIX).removeprefix(MODEL_PREFIX)
    if (
        not _is_hash(parts[1])
        or not (_is_hash(spec_hash) or model == SHARED_OWNER)
        or not _written_as(path.name, model)
    ):
        return model, Orphan(path, "its header looks like specgen's but is not one it writes")
    if not body_is_intact(text):
        edited = "edited since specgen wrote it; --force deletes it"
        return model, Orphan(path, edited, edited=True)
    return model, Orphan(path)


def orphans(
    folder: Path, rendered: Rendered, styles: tuple[str, ...], complete: bool
) -> list[Orphan]:
    """Files with specgen's header in `folder` that the given specs no longer produce.

    A file of a model the given specs define is an orphan when it was not produced: a model
    module of a style that was asked for, or a training script (a training block removed, or
    a script of specgen's older per-style kind). A file of any other model is an orphan only
    when the given specs are `complete` (every spec of their folders, or --prune): rendering one
    spec must not call every other spec's modules orphans. `examine` says whether --prune may
    delete each.
    """
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.py")):
        if path.name in rendered.files:
            continue
        seen = examine(path)
        if seen is None:
            continue
        model, orphan = seen
        if model in rendered.models:
            # A model module counts when its style was asked for; anything else of the model
            # (a training script: one per spec now, one per style in older versions) always.
            style = path.stem.removeprefix(f"{model}_")
            if style not in STYLES or style in styles:
                found.append(orphan)
        elif complete:
            found.append(orphan)
    return found


def prune(orphan: Orphan, force: bool) -> str | None:
    """Delete an orphan when `examine` (asked again: it may have changed since) allows it;
    None when deleted, else why it was kept."""
    seen = examine(orphan.path)
    if seen is None:
        return "no longer has specgen's header"
    current = seen[1]
    if current.keep is not None and not (force and current.edited):
        return current.keep
    try:
        orphan.path.unlink()
    except OSError as exc:
        return f"cannot delete it ({exc.strerror or exc})"
    return None
