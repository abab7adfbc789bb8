"""The importer: a saved Keras model in, a spec out.

`guard` reads a `.keras` archive or config within limits and hands the config to `convert`,
which turns layers into spec entries (`config` for one layer's arguments and calls, `walk` for
a graph, `blocks` for repeated sub-graphs, `training` for the compile config); the spec it
gives is then checked like any hand-written one.
"""
