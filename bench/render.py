"""Benchmark: fluxgate's whole render against the bare jsonnet evaluation of the same templates.

A synthetic app of 1,000 objects (200 components x Deployment, Service, ConfigMap, ServiceAccount,
HorizontalPodAutoscaler) is rendered for 3 environments, each with its own values and an overlay.
The templates avoid `std.format` (`%`), which alone costs jsonnet ~2 s per 1,000 objects and would
flatter the ratio.
Printed figures:
- ratio  = fluxgate render (evaluate + overlay + validate + write) / bare jsonnet evaluation,
           best of N interleaved rounds each, so background load on a 2-core machine cancels out;
- cold ratio: the first round, which also compiles each kind's schema once per process;
- objects per second of the whole render.
Target: ratio <= 5 with schema validation on.

Run: `make bench` (or `.venv/bin/python bench/render.py [--components 200] [--rounds 5]`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _jsonnet

from fluxgate.config import load_config
from fluxgate.release import build_release
from fluxgate.render import make_validator, render_environment, template_context, write_tree
from fluxgate.render.config_source import load_env_config
from fluxgate.render.engines import TemplateRequest
from fluxgate.render.engines.jsonnet import jsonnet_arguments

ENVS = ("dev", "staging", "prod")

TEMPLATE = r"""
local images = std.extVar('images');
local env = std.extVar('env');
local values = std.extVar('values');
local labels(name) = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/version': std.extVar('version') };
local component(i) = {
  local name = 'svc-' + std.toString(i),
  deployment: {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: name, labels: labels(name) },
    spec: {
      replicas: values.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': name } },
      template: {
        metadata: { labels: labels(name) },
        spec: {
          serviceAccountName: name,
          containers: [{
            name: 'app', image: images.app,
            ports: [{ name: 'http', containerPort: 8080 }],
            env: [{ name: 'ENV', value: env.name }, { name: 'INDEX', value: std.toString(i) }],
            envFrom: [{ configMapRef: { name: name } }],
            resources: { requests: { cpu: values.cpu, memory: '128Mi' }, limits: { memory: '256Mi' } },
            readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
          }],
        },
      },
    },
  },
  service: {
    apiVersion: 'v1', kind: 'Service', metadata: { name: name, labels: labels(name) },
    spec: { selector: { 'app.kubernetes.io/name': name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  },
  configmap: {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name, labels: labels(name) },
    data: { LOG_LEVEL: values.logLevel, 'app.properties': 'index=' + i + '\nenv=' + env.name + '\n' },
  },
  serviceaccount: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: name, labels: labels(name) } },
  hpa: {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: name, labels: labels(name) },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: name },
      minReplicas: values.replicas, maxReplicas: values.replicas * 4,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  },
};
[component(i) for i in std.range(0, COUNT - 1)]
"""


def make_app(root: Path, components: int) -> Path:
    (root / "deploy").mkdir(parents=True)
    (root / "deploy" / "main.jsonnet").write_text(TEMPLATE.replace("COUNT", str(components)))
    envs = []
    for index, env in enumerate(ENVS):
        folder = root / "config" / env
        (folder / "overlays").mkdir(parents=True)
        values = {
            "replicas": index + 1,
            "cpu": f"{(index + 1) * 100}m",
            "logLevel": ["debug", "info", "warn"][index],
        }
        (folder / "values.yaml").write_text(json.dumps(values))
        (folder / "overlays" / "svc-0.yaml").write_text(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc-0\n"
            "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n"
            '        env:\n        - name: OVERLAY\n          value: "yes"\n'
        )
        envs.append(
            f"  - name: {env}\n    namespace: bench-{env}\n    clusters: [{{name: {env}-1, kustomizations: [bench]}}]\n"
            f"    config: {{path: config/{env}}}\n"
        )
    (root / "fluxgate.yaml").write_text(
        "app: bench\ncomponents:\n  app: {path: src, image: ghcr.io/acme/bench}\n"
        "templates: {engine: jsonnet, path: deploy/main.jsonnet}\n"
        "manifests: {repo: acme/bench-manifests}\nkubernetes: {version: '1.31', strict: true}\n"
        "environments:\n" + "".join(envs)
    )
    return root / "fluxgate.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=200, help="x5 objects per environment")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fluxgate-bench-"))
    try:
        config = load_config(make_app(work / "app", args.components))
        release = build_release(config, {"app": "1.0.0"})
        requests = []
        for env in ENVS:
            environment = config.environment(env)
            values = load_env_config(config, environment).values
            ctx = template_context(config, environment, release, values)
            requests.append(TemplateRequest(root=config.root, templates=config.templates, context=ctx))

        def bare() -> None:
            for request in requests:
                _jsonnet.evaluate_file(str(request.entry), **jsonnet_arguments(request))

        validator = make_validator(config)
        objects = 0

        def whole() -> None:
            nonlocal objects
            objects = 0
            out = work / "out"
            for env in ENVS:
                result = render_environment(config, env, release, validator=validator)
                write_tree(out, result.files(), result.folders())
                objects += len(result.manifests.objects)

        bare_times, whole_times = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            bare()
            bare_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            whole()
            whole_times.append(time.perf_counter() - start)
        best_bare, best_whole = min(bare_times), min(whole_times)
        print(f"objects rendered per round: {objects} ({len(ENVS)} environments)")
        print(f"bare jsonnet evaluation: {best_bare:.3f} s (best of {args.rounds})")
        print(f"fluxgate whole render:   {best_whole:.3f} s (best of {args.rounds})")
        print(f"ratio (whole / bare): {best_whole / best_bare:.2f}  (target <= 5)")
        print(f"cold ratio (first round, schemas compiled): {whole_times[0] / bare_times[0]:.2f}")
        print(f"objects per second: {objects / best_whole:.0f}")
        sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
