"""Stage 3, emit: an `ir.Model` in, checked source files on disk out.

`render` turns the model into Python through one strict Jinja2 Environment (templates compiled
in the wheel by `prebuild`, trusted through `prebuilt`), `format` runs ruff in memory, `header`
stamps and recognises specgen's headers, `shared` supplies the training runtime modules, and
`write`/`write_one` put files on disk atomically, refusing to overwrite what the user wrote.
`cache` keeps rendered outputs between runs, under `keys` that hash the content of every input.
"""
