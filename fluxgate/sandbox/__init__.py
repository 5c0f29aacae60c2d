"""Stand-ins for what cannot run on a laptop or a CI machine: GitHub (and, later, Flux).

Tests and the one-command demo use these; production code paths never import them.
"""
