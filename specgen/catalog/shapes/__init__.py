"""Shape rules: output shape and parameter counts of each layer kind, without TensorFlow.

Shapes exclude the batch axis; `None` is an unknown size. Each rule takes the layer's arguments
(with catalog defaults filled in) and its input shapes, and returns a `Shape` or raises
`ShapeError` with a message that says what was expected and what was received. The catalog
reads every rule as `shapes.<rule>`: `common` holds the types and shared checks, `spatial`,
`features` and `merging` the rules by what they act on.
"""

from .common import (
    Dims,
    Shape,
    ShapeError,
    as_tuple,
    check_rank,
    identity,
    known,
    show,
    single,
    window,
    with_bias,
)
from .features import (
    batch_normalization,
    bidirectional,
    dense,
    dropout,
    embedding,
    flatten,
    group_normalization,
    layer_normalization,
    multi_head_attention,
    permute,
    recurrent,
    repeat_vector,
    reshape,
)
from .merging import broadcast, concatenate, dot, elementwise
from .spatial import (
    conv,
    conv_transpose,
    depthwise_conv,
    global_pool,
    pad_or_crop,
    pool,
    resize,
    spatial_dropout,
    upsampling,
)

__all__ = [
    "Dims",
    "Shape",
    "ShapeError",
    "as_tuple",
    "batch_normalization",
    "bidirectional",
    "broadcast",
    "check_rank",
    "concatenate",
    "conv",
    "conv_transpose",
    "dense",
    "depthwise_conv",
    "dot",
    "dropout",
    "elementwise",
    "embedding",
    "flatten",
    "global_pool",
    "group_normalization",
    "identity",
    "known",
    "layer_normalization",
    "multi_head_attention",
    "pad_or_crop",
    "permute",
    "pool",
    "recurrent",
    "repeat_vector",
    "reshape",
    "resize",
    "show",
    "single",
    "spatial_dropout",
    "upsampling",
    "window",
    "with_bias",
]
