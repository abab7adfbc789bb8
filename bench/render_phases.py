"""Where one cold `specgen render` of a spec spends its time, phase by phase, in one process.

Each phase runs once, as in a real cold process (first calls pay for lazy imports and loads);
bench/render_speed.py runs this several times with the cache off and keeps each phase's best.
Prints one `phase<TAB>milliseconds` line per phase.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

# After PYTHONPATH: render_speed.py points it at an installed wheel; alone, the checkout.
sys.path.append(str(Path(__file__).resolve().parent.parent))

marks = [("start", time.perf_counter())]


def mark(label: str) -> None:
    marks.append((label, time.perf_counter()))


import click  # noqa: E402, F401

mark("import click")
import specgen.cli  # noqa: E402, F401

mark("import specgen (catalog, schema check, IR)")
from specgen import api  # noqa: E402
from specgen.emit import format as formatting  # noqa: E402
from specgen.emit import (  # noqa: E402
    header,
    render,  # noqa: E402
    shared,
)
from specgen.model import training  # noqa: E402

model = api.compile(sys.argv[1])
mark("load + validate + build the IR")
import jinja2  # noqa: E402, F401

mark("import jinja2")
env = render.environment(None)
raw, ready = {}, {}
styles = ("subclass",)
for name, template in render.outputs_for(model, styles).items():
    if name in render.SHARED:
        ready[name] = shared.source(name)[0]
        continue
    raw[name] = env.get_template(template).render(
        model=model, style="subclass", styles=styles, script=render.script_name(model),
        training=training.build(model),
    )  # fmt: skip
mark("load (prebuilt) or compile the templates, render")
wait = formatting.start(raw)
mark("start ruff")
for text in (*raw.values(), *ready.values()):
    header.fingerprint(text)
mark("code fingerprints (while ruff runs)")
wait()
mark("wait for ruff")
for (_, before), (label, after) in zip(marks, marks[1:], strict=False):
    print(f"{label}\t{(after - before) * 1000:.2f}")
