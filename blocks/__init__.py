"""Prefect blocks: GitHub credentials, manifests repository and connector settings.

Registered with `prefect block register -m blocks`.
"""
