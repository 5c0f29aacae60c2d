"""Pipeline configuration: `fluxgate.yaml` models and their loader."""

from fluxgate.config.load import DEFAULT_CONFIG, find_config, load_config
from fluxgate.config.model import (
    Approval,
    Cluster,
    Component,
    ConfigSource,
    Environment,
    HttpCheck,
    KubernetesSettings,
    LocatedError,
    ManifestsRepo,
    PipelineConfig,
    Templates,
    Triggers,
    parse_duration,
)

__all__ = [
    "DEFAULT_CONFIG",
    "Approval",
    "Cluster",
    "Component",
    "ConfigSource",
    "Environment",
    "HttpCheck",
    "KubernetesSettings",
    "LocatedError",
    "ManifestsRepo",
    "PipelineConfig",
    "Templates",
    "Triggers",
    "find_config",
    "load_config",
    "parse_duration",
]
