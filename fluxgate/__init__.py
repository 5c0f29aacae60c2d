"""fluxgate: multistage GitOps delivery for Flux v2 and GitHub. This package is the Prefect-free core."""
