"""Validation of rendered objects: Kubernetes schemas and fluxgate's policies."""

from fluxgate.validate.policy import policy_problems
from fluxgate.validate.schema import SchemaValidator, known_versions

__all__ = ["SchemaValidator", "known_versions", "policy_problems"]
