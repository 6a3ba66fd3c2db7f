import { z } from 'zod';

/**
 * The fields taogate's deploy files must have, per Kubernetes kind and for the compose file: a small,
 * strict subset of the real schemas (no cluster or kubeconform here), enough to catch a missing probe,
 * a port that does not match, an unknown kind or a mistyped field name.
 */

const dnsName = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS-1123 name');
const labels = z.record(z.string(), z.string());
const metadata = z.object({ name: dnsName, namespace: dnsName.optional(), labels: labels.optional() });
const quantity = z.union([z.string().regex(/^\d+(\.\d+)?(m|Mi|Gi|Ki)?$/), z.number().positive()]);
const portRef = z.union([z.number().int().min(1).max(65535), dnsName]);

const probe = z
  .object({
    httpGet: z.object({ path: z.string().startsWith('/'), port: portRef }).strict(),
    initialDelaySeconds: z.number().int().min(0).optional(),
    periodSeconds: z.number().int().min(1).optional(),
    timeoutSeconds: z.number().int().min(1).optional(),
    failureThreshold: z.number().int().min(1).optional(),
  })
  .strict();

const envVar = z.union([
  z.object({ name: z.string(), value: z.string() }).strict(),
  z
    .object({
      name: z.string(),
      valueFrom: z.union([
        z.object({ secretKeyRef: z.object({ name: dnsName, key: z.string() }).strict() }).strict(),
        z.object({ configMapKeyRef: z.object({ name: dnsName, key: z.string() }).strict() }).strict(),
        z.object({ fieldRef: z.object({ fieldPath: z.string() }).strict() }).strict(),
      ]),
    })
    .strict(),
]);
export type EnvVar = z.infer<typeof envVar>;

const container = z.object({
  name: dnsName,
  image: z.string().min(1),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
  args: z.array(z.string()).optional(),
  ports: z
    .array(
      z
        .object({
          name: dnsName.optional(),
          containerPort: z.number().int(),
          protocol: z.enum(['TCP', 'UDP']),
        })
        .partial({ protocol: true }),
    )
    .min(1),
  env: z.array(envVar).default([]),
  volumeMounts: z
    .array(
      z.object({ name: dnsName, mountPath: z.string().startsWith('/'), readOnly: z.boolean().optional() }),
    )
    .default([]),
  startupProbe: probe.optional(),
  livenessProbe: probe,
  readinessProbe: probe,
  lifecycle: z.object({
    preStop: z.object({ exec: z.object({ command: z.array(z.string()).min(1) }) }),
  }),
  resources: z.object({
    requests: z.object({ cpu: quantity, memory: quantity }),
    limits: z.object({ cpu: quantity.optional(), memory: quantity }),
  }),
  securityContext: z.object({
    allowPrivilegeEscalation: z.literal(false),
    readOnlyRootFilesystem: z.boolean(),
    capabilities: z.object({ drop: z.array(z.string()) }),
  }),
});

const volume = z
  .object({
    name: dnsName,
    configMap: z.object({ name: dnsName }).optional(),
    secret: z
      .object({
        secretName: dnsName,
        defaultMode: z.number().int().min(0).max(0o777).optional(),
        items: z.array(z.object({ key: z.string(), path: z.string() })).optional(),
      })
      .optional(),
    emptyDir: z.object({ sizeLimit: quantity.optional() }).optional(),
  })
  .strict();

const selector = z.object({ matchLabels: labels });

const deployment = z.object({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata,
  spec: z.object({
    replicas: z.number().int().min(2),
    selector,
    strategy: z.object({ type: z.literal('RollingUpdate') }).optional(),
    template: z.object({
      metadata: z.object({ labels, annotations: z.record(z.string(), z.string()).optional() }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number().int().min(1),
        securityContext: z.object({ runAsNonRoot: z.literal(true) }),
        containers: z.array(container).length(1),
        volumes: z.array(volume).default([]),
      }),
    }),
  }),
});
export type Deployment = z.infer<typeof deployment>;

const service = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata,
  spec: z.union([
    z.object({
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).optional(),
      selector: labels,
      ports: z.array(z.object({ name: dnsName, port: z.number().int(), targetPort: portRef })).min(1),
    }),
    z.object({
      type: z.literal('ExternalName'),
      externalName: z.string().min(1),
      ports: z.array(z.object({ name: dnsName, port: z.number().int() })).optional(),
    }),
  ]),
});

const hpa = z.object({
  apiVersion: z.literal('autoscaling/v2'),
  kind: z.literal('HorizontalPodAutoscaler'),
  metadata,
  spec: z.object({
    scaleTargetRef: z.object({
      apiVersion: z.literal('apps/v1'),
      kind: z.literal('Deployment'),
      name: dnsName,
    }),
    minReplicas: z.number().int().min(2),
    maxReplicas: z.number().int().min(2),
    metrics: z
      .array(
        z.object({
          type: z.literal('Resource'),
          resource: z.object({
            name: z.enum(['cpu', 'memory']),
            target: z.object({ type: z.literal('Utilization'), averageUtilization: z.number().int().min(1) }),
          }),
        }),
      )
      .min(1),
    behavior: z.unknown().optional(),
  }),
});

const pdb = z.object({
  apiVersion: z.literal('policy/v1'),
  kind: z.literal('PodDisruptionBudget'),
  metadata,
  spec: z.union([
    z.object({ maxUnavailable: z.union([z.number().int().min(1), z.string()]), selector }).strict(),
    z.object({ minAvailable: z.union([z.number().int().min(1), z.string()]), selector }).strict(),
  ]),
});

const configMap = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('ConfigMap'),
  metadata,
  data: z.record(z.string(), z.string()),
});

const secret = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata,
  type: z.literal('Opaque'),
  stringData: z.record(z.string(), z.string()),
});

const namespace = z.object({ apiVersion: z.literal('v1'), kind: z.literal('Namespace'), metadata });

const kustomization = z.object({
  apiVersion: z.literal('kustomize.config.k8s.io/v1beta1'),
  kind: z.literal('Kustomization'),
  namespace: dnsName,
  resources: z.array(z.string()).min(1),
  labels: z.unknown().optional(),
  images: z.array(z.object({ name: z.string(), newName: z.string(), newTag: z.string() })).optional(),
});

/** Every kind deploy/k8s may hold; anything else is a mistake. */
export const manifest = z.discriminatedUnion('kind', [
  deployment,
  service,
  hpa,
  pdb,
  configMap,
  secret,
  namespace,
  kustomization,
]);
export type Manifest = z.infer<typeof manifest>;

const healthcheck = z.object({
  test: z.array(z.string()).min(2),
  interval: z.string().optional(),
  timeout: z.string().optional(),
  start_period: z.string().optional(),
  retries: z.number().int().optional(),
});

const composeService = z
  .object({
    image: z.string().min(1),
    build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
    command: z.array(z.string()).optional(),
    restart: z.string().optional(),
    stop_grace_period: z
      .string()
      .regex(/^\d+s$/)
      .optional(),
    environment: z.record(z.string(), z.string()).optional(),
    ports: z.array(z.string().regex(/^\d+:\d+$/)).optional(),
    volumes: z.array(z.string()).optional(),
    secrets: z.array(z.string()).optional(),
    healthcheck: healthcheck.optional(),
    depends_on: z
      .record(z.string(), z.object({ condition: z.enum(['service_started', 'service_healthy']) }))
      .optional(),
  })
  .strict();
export type ComposeService = z.infer<typeof composeService>;

export const composeFile = z.object({
  name: z.string(),
  services: z.record(z.string(), composeService),
  secrets: z.record(z.string(), z.object({ file: z.string() })).optional(),
  volumes: z.record(z.string(), z.null()).optional(),
});
