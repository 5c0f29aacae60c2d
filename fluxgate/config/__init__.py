"""Pipeline configuration: `fluxgate.yaml` models and their loader."""

from fluxgate.config.checks import (
    SECRET_REF,
    Check,
    ContainerCheck,
    ContainerSpec,
    HttpCheck,
    JsonExpectation,
    TlsSettings,
    WorkflowCheck,
    WorkflowSpec,
)
from fluxgate.config.fields import LocatedError, format_duration, parse_duration
from fluxgate.config.load import DEFAULT_CONFIG, find_config, load_config
from fluxgate.config.model import (
    Approval,
    Cluster,
    Component,
    ConfigSource,
    Environment,
    KubernetesSettings,
    ManifestsRepo,
    PipelineConfig,
    Templates,
    Triggers,
)

__all__ = [
    "DEFAULT_CONFIG",
    "SECRET_REF",
    "Approval",
    "Check",
    "Cluster",
    "Component",
    "ConfigSource",
    "ContainerCheck",
    "ContainerSpec",
    "Environment",
    "HttpCheck",
    "JsonExpectation",
    "KubernetesSettings",
    "LocatedError",
    "ManifestsRepo",
    "PipelineConfig",
    "Templates",
    "TlsSettings",
    "Triggers",
    "WorkflowCheck",
    "WorkflowSpec",
    "find_config",
    "format_duration",
    "load_config",
    "parse_duration",
]
