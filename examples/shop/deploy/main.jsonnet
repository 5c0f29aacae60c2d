// The shop's Kubernetes objects for one environment.
//
// fluxgate passes every input as an external variable:
//   app      "shop"
//   version  the release being rendered, e.g. "1.4.2"
//   env      {name, namespace, clusters}
//   images   component -> full image reference, e.g. {web: "ghcr.io/acme/shop-web:1.4.2", ...}
//   values   the environment's config/<env>/values.yaml
// Environment overlays (config/<env>/overlays/) are merged by fluxgate after rendering.
local k = import 'k8s.libsonnet';

local app = std.extVar('app');
local version = std.extVar('version');
local env = std.extVar('env');
local images = std.extVar('images');
local values = std.extVar('values');

// newCheckout -> NEW_CHECKOUT
local upperSnake(s) = std.join('', [
  if c != std.asciiLower(c) then '_' + c else std.asciiUpper(c)
  for c in std.stringChars(s)
]);

// Feature flags become FEATURE_<NAME>=true|false in both components' ConfigMaps.
local features = {
  ['FEATURE_' + upperSnake(name)]: values.features[name]
  for name in std.objectFields(values.features)
};

local common = features {
  ENVIRONMENT: env.name,
  LOG_LEVEL: values.logLevel,
};

local web =
  local c = k.component(app, 'web', version, env.namespace);
  local v = values.web;
  local config = k.configMap(c, common { PUBLIC_URL: 'https://' + v.ingress.host });
  local probe = { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 };
  local container = k.container('web', images.web, v.resources, config, version) {
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    readinessProbe: probe { initialDelaySeconds: 2, failureThreshold: 3 },
    livenessProbe: probe { initialDelaySeconds: 10, failureThreshold: 6 },
  };
  local service = k.service(c);
  {
    serviceAccount: k.serviceAccount(c),
    configMap: config,
    deployment: k.deployment(c, container, config),
    service: service,
    hpa: k.hpa(c, v.autoscaling),
    ingress: k.ingress(c, v.ingress, service),
  };

local worker =
  local c = k.component(app, 'worker', version, env.namespace);
  local v = values.worker;
  local config = k.configMap(c, common {
    QUEUE_URL: v.queue.url,
    QUEUE_NAME: v.queue.name,
    POLL_SECONDS: v.queue.pollSeconds,
  });
  local container = k.container('worker', images.worker, v.resources, config, version);
  {
    serviceAccount: k.serviceAccount(c),
    configMap: config,
    // Give a running job time to finish after SIGTERM.
    deployment: k.deployment(c, container, config) {
      spec+: { template+: { spec+: { terminationGracePeriodSeconds: 60 } } },
    },
    hpa: k.hpa(c, v.autoscaling),
  };

std.objectValues(web) + std.objectValues(worker)
