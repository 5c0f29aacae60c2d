// Constructors for the Kubernetes objects the shop renders.
//
// Each takes a component context `c` (see `component`) plus the settings that vary, and returns
// a complete object with the defaults a production workload should have. Callers refine results
// with `+` rather than adding parameters for every field.
{
  // Name, namespace and labels shared by every object of one component.
  component(app, name, version, namespace):: {
    name: app + '-' + name,
    namespace: namespace,
    // The selector must never change after the first apply, so it holds no version.
    selector: { 'app.kubernetes.io/name': app + '-' + name },
    labels: self.selector {
      'app.kubernetes.io/component': name,
      'app.kubernetes.io/part-of': app,
      'app.kubernetes.io/version': version,
      'app.kubernetes.io/managed-by': 'fluxgate',
    },
  },

  object(c, apiVersion, kind):: {
    apiVersion: apiVersion,
    kind: kind,
    metadata: { name: c.name, namespace: c.namespace, labels: c.labels },
  },

  serviceAccount(c):: $.object(c, 'v1', 'ServiceAccount') {
    automountServiceAccountToken: false,
  },

  // ConfigMap values must be strings; numbers and booleans from values.yaml are converted.
  configMap(c, data):: $.object(c, 'v1', 'ConfigMap') {
    data: { [k]: std.toString(data[k]) for k in std.objectFields(data) },
  },

  // A non-root container with a read-only root filesystem and a writable /tmp.
  container(name, image, resources, configMap, version):: {
    name: name,
    image: image,
    imagePullPolicy: 'IfNotPresent',
    envFrom: [{ configMapRef: { name: configMap.metadata.name } }],
    env: [
      { name: 'APP_VERSION', value: version },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    resources: resources,
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  },

  // No spec.replicas: the HorizontalPodAutoscaler owns the replica count, and a value here
  // would reset it on every Flux reconciliation.
  deployment(c, container, configMap):: $.object(c, 'apps/v1', 'Deployment') {
    spec: {
      revisionHistoryLimit: 5,
      selector: { matchLabels: c.selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: c.labels,
          // Restart the pods when their configuration changes.
          annotations: { 'checksum/config': std.md5(std.manifestJson(configMap.data)) },
        },
        spec: {
          serviceAccountName: c.name,
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            runAsGroup: 10001,
            fsGroup: 10001,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [container],
          volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }],
        },
      },
    },
  },

  service(c, port=80, targetPort='http'):: $.object(c, 'v1', 'Service') {
    spec: {
      type: 'ClusterIP',
      selector: c.selector,
      ports: [{ name: 'http', port: port, targetPort: targetPort, protocol: 'TCP' }],
    },
  },

  // `scaling`: {minReplicas, maxReplicas, cpuUtilization} from values.yaml.
  hpa(c, scaling):: $.object(c, 'autoscaling/v2', 'HorizontalPodAutoscaler') {
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: c.name },
      minReplicas: scaling.minReplicas,
      maxReplicas: scaling.maxReplicas,
      metrics: [{
        type: 'Resource',
        resource: {
          name: 'cpu',
          target: { type: 'Utilization', averageUtilization: scaling.cpuUtilization },
        },
      }],
    },
  },

  // TLS through cert-manager: `ingress` is {host, className, clusterIssuer} from values.yaml.
  ingress(c, ingress, service):: $.object(c, 'networking.k8s.io/v1', 'Ingress') {
    metadata+: { annotations: { 'cert-manager.io/cluster-issuer': ingress.clusterIssuer } },
    spec: {
      ingressClassName: ingress.className,
      tls: [{ hosts: [ingress.host], secretName: c.name + '-tls' }],
      rules: [{
        host: ingress.host,
        http: {
          paths: [{
            path: '/',
            pathType: 'Prefix',
            backend: { service: { name: service.metadata.name, port: { name: 'http' } } },
          }],
        },
      }],
    },
  },
}
