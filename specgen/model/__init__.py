"""Stage 2, the model: a checked spec in, frozen dataclasses out.

Takes a `Loaded` spec and gives an `ir.Model`: the layer graph with inferred shapes (`graph`,
which puts together `references`, `resolve` and `blocks`),
Keras's own layer order (`keras_order`), one namespace of identifiers per generated file
(`naming`) and the training plan (`training`). `summary` and `plot` read a built model.
"""
