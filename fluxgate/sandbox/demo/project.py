"""The demo's GitHub: the example app pushed as its code repository, a manifests repository with the
Flux objects a cluster bootstrap would hold, and a checkout of the code where a worker keeps it.

The example's `fluxgate.yaml` is production-shaped (soaks of 5 and 30 minutes); the demo commits one
visible change on top of it, so what runs is what the repository says: no soak, a two-minute Flux
timeout, and `rollback_on_failure` everywhere, which is what makes the failed release roll back.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from ruamel.yaml import YAML

from fluxgate.config import PipelineConfig
from fluxgate.sandbox.github import Emulator, files_in

__all__ = ["CODE_REPO", "DEMO_CHANGE", "EXAMPLE", "checkout", "demo_config_text", "flux_bootstrap", "seed"]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "shop"
CODE_REPO = "acme/shop"
DEMO_CHANGE = "demo: no soak, a 2m Flux timeout, roll back on failure"


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 110
    return yaml


def demo_config_text(text: str) -> str:
    """The example's config with the demo's timing (a round trip: comments and order are kept)."""
    yaml = _yaml()
    data = yaml.load(text)
    for env in data["environments"]:
        env["soak"] = "0s"
        env["flux_timeout"] = "2m"
        env["rollback_on_failure"] = True
    data["code_repo"] = CODE_REPO
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def flux_bootstrap(config: PipelineConfig) -> dict[str, str]:
    """`clusters/<cluster>/<app>.yaml`: the GitRepository, Kustomization(s), Provider and Alert each
    cluster runs, so the manifests repository documents what the simulated Flux plays."""
    files: dict[str, str] = {}
    repo = config.manifests.repo
    for env in config.environments:
        for cluster in env.clusters:
            docs = [
                _doc("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system", {
                    "interval": "1m", "url": f"https://github.com/{repo}.git",
                    "ref": {"branch": config.manifests.branch}, "secretRef": {"name": "github-token"},
                }),
                *(
                    _doc("kustomize.toolkit.fluxcd.io/v1", "Kustomization", name, {
                        "interval": "10m", "path": f"./{env.manifests_folder}", "prune": True, "wait": True,
                        "timeout": "5m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                    })
                    for name in cluster.kustomizations
                ),
                _doc("notification.toolkit.fluxcd.io/v1beta3", "Provider", "fluxgate", {
                    "type": "generic-hmac", "address": "https://fluxgate.example.com/flux/events",
                    "secretRef": {"name": "fluxgate-hmac"},
                }),
                _doc("notification.toolkit.fluxcd.io/v1beta3", "Alert", "fluxgate", {
                    "providerRef": {"name": "fluxgate"},
                    "eventSeverity": "info",
                    "eventSources": [{"kind": k, "name": "*"} for k in ("GitRepository", "Kustomization")],
                    "eventMetadata": {"app": config.app, "env": env.name, "cluster": cluster.name},
                }),
            ]  # fmt: skip
            out = io.StringIO()
            _yaml().dump_all(docs, out)
            files[f"clusters/{cluster.name}/{config.app}.yaml"] = out.getvalue()
    return files


def _doc(api: str, kind: str, name: str, spec: dict[str, object]) -> dict[str, object]:
    metadata = {"name": name, "namespace": "flux-system"}
    return {"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec}


def seed(emulator: Emulator, url: str, token: str, code: Path) -> Path:
    """Push the code and manifests repositories and check the code out at `code`; returns the config."""
    emulator.create_repo(CODE_REPO, files=files_in(EXAMPLE))
    config_text = (EXAMPLE / "fluxgate.yaml").read_text()
    demo_config: dict[str, str | bytes] = {"fluxgate.yaml": demo_config_text(config_text)}
    emulator.commit_files(CODE_REPO, "main", demo_config, DEMO_CHANGE, author="acme")
    checkout(url, CODE_REPO, token, code)
    from fluxgate.config import load_config

    config = load_config(code / "fluxgate.yaml")
    emulator.create_repo(config.manifests.repo, files={
        "README.md": f"# {config.app} manifests\n\nOne folder per environment, applied by Flux; "
                     "`clusters/` holds each cluster's Flux objects.\n",
        **flux_bootstrap(config),
        # Flux fails a Kustomization whose path does not exist: bootstrap leaves the folders empty
        **{f"{env.manifests_folder}/.gitkeep": "" for env in config.environments},
    })  # fmt: skip
    return code / "fluxgate.yaml"


def checkout(url: str, repo: str, token: str, into: Path) -> None:
    """`git clone` over HTTP, the token in a header (never in the remote URL or the clone's config)."""
    subprocess.run(
        ["git", "-c", f"http.extraHeader=Authorization: token {token}", "clone", "--quiet",
         f"{url}/{repo}.git", str(into)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
