"""Prefect tasks: thin `verb_noun` wrappers over the `fluxgate` core (render, open PR, verify, ...)."""
