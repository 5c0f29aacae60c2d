"""Prefect flows: the stage flow (`deploy-stage`) and the CI flow compose tasks; no logic lives here."""
