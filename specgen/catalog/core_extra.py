"""Core layers beyond the core module's (keras/src/layers/core): Identity and Masking, which
pass their input through (Masking also sets a mask). Each entry sits beside its shape rule.

Not catalogued on purpose: Lambda (it holds code; a spec never executes code), the framework
bridges TFSMLayer, JaxLayer, FlaxLayer and TorchModuleWrapper, and the abstract bases and
non-layers Layer, Wrapper, RNN with its cells (GRUCell, LSTMCell, SimpleRNNCell,
StackedRNNCells), Input, InputLayer, InputSpec and Pipeline.
"""

from __future__ import annotations

from . import shapes
from .base import FLOAT, Arg, LayerKind

LAYERS: tuple[LayerKind, ...] = (
    LayerKind("Identity", (), shapes.identity),
    LayerKind("Masking", (Arg("mask_value", FLOAT),), shapes.identity),
)
