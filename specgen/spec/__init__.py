"""Stage 1, the spec: JSON text in, a checked spec out.

Takes a spec's bytes (a file, a string or a dict) and gives a `Loaded` spec with a source map
(`loader`), within the limits of `limits`, checked against the JSON Schema built from the
catalog (`schema`, `schema_check`) and by the semantic rules of `validation`. Every problem is
a located `SpecError` (`errors`). `resources` finds the packaged schema and templates.
"""
