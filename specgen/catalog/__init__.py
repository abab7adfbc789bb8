"""The catalog, under every stage: what specgen knows of Keras, as data.

Every layer kind (`layers`, with its families in `activations`, `preprocessing`, `ops` and the
opted-in `custom` layer) is one `LayerKind` entry holding its argument schema and its shape rule
(`shapes`) side by side; `training` holds the optimizers, losses, metrics, callbacks, schedules
and data sets. `allow_import` is the user's opt-in for custom layer modules, given outside the
spec. The stages above read these names from the package.
"""

import importlib

_MODULES = {"activations", "allow_import", "base", "custom", "layers", "ops", "preprocessing"}
_MODULES |= {"shapes", "training", "zoo_layers"}


def __getattr__(name: str):
    # The entries load on first use: a cached re-render reads `allow_import` and nothing else.
    # `from .catalog import shapes` asks this module for `shapes` before importing it.
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    layers = importlib.import_module(".layers", __name__)
    try:
        return getattr(layers, name)
    except AttributeError:
        raise AttributeError(f"module 'specgen.catalog' has no attribute {name!r}") from None
