"""Where one `specgen render` of a spec spends its time, phase by phase, in one process.

Run by bench/render_speed.py with the cache off (SPECGEN_CACHE_DIR=""); importing is measured
in a fresh interpreter, each later phase as the best of 5 repeats.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

start = time.perf_counter()
import click  # noqa: E402, F401

clicked = time.perf_counter()
import specgen.cli  # noqa: E402, F401

imported = time.perf_counter()
import jinja2  # noqa: E402, F401

jinja = time.perf_counter()

from specgen import api, header  # noqa: E402
from specgen import format as formatting  # noqa: E402

render = sys.modules["specgen.render"]  # `specgen.render` the attribute is the function


def best(fn, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        begin = time.perf_counter()
        fn()
        times.append(time.perf_counter() - begin)
    return min(times)


spec = sys.argv[1]
model = api.compile(spec)
env = render.environment(None)
raw = {}


def templates() -> None:
    env.cache.clear()  # compile as a cold process does
    for name, template in render.outputs_for(model, "subclass").items():
        raw[name] = env.get_template(template).render(
            model=model,
            style="subclass",
            module=render.module_name(model, "subclass"),
            script=f"train_{render.module_name(model, 'subclass')}",
            training=render.training.build(model),
        )


phases = {
    "import click": clicked - start,
    "import specgen (catalog, schema check, IR)": imported - clicked,
    "import jinja2": jinja - imported,
    "load + validate + build the IR": best(lambda: api.compile(spec)),
    "compile and render the templates": best(templates),
}
formatted = formatting.format_sources(raw)
phases["ruff format (one subprocess)"] = best(lambda: formatting.format_sources(raw))
phases["code fingerprints (ast)"] = best(
    lambda: [header.fingerprint(t) for t in formatted.values()]
)
for name, seconds in phases.items():
    print(f"  {name:44s} {seconds * 1000:7.1f} ms")
print(f"  {'sum':44s} {sum(phases.values()) * 1000:7.1f} ms")
