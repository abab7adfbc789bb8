"""The public `keras.layers` classes the catalog leaves out, each with its reason. A test
holds this against `dir(keras.layers)`, so a class a new Keras adds shows up there."""

from __future__ import annotations

EXCLUDED = {
    "Lambda": "holds code: refused, never executed",
    "TFSMLayer": "framework bridge",
    "JaxLayer": "framework bridge",
    "FlaxLayer": "framework bridge",
    "TorchModuleWrapper": "framework bridge",
    "Layer": "abstract base",
    "Wrapper": "abstract base",
    "GRUCell": "a cell, not a layer of a graph: RNN's `cell` (catalog/rnn.py)",
    "LSTMCell": "a cell, not a layer of a graph: RNN's `cell` (catalog/rnn.py)",
    "SimpleRNNCell": "a cell, not a layer of a graph: RNN's `cell` (catalog/rnn.py)",
    "StackedRNNCells": "a list of cells as RNN's `cell` (catalog/rnn.py)",
    "Input": "a spec's `inputs`",
    "InputLayer": "a spec's `inputs`",
    "InputSpec": "not a layer",
    "MaxNumBoundingBoxes": (
        "pads bounding-box dicts, which a spec does not carry; on an image tensor it is the"
        " identity"
    ),
    "Equalization": "Keras 3 cannot trace it into a model ('part of a cycle')",
}
