import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEPLOY,
  expectKnownSettings,
  gatewayConfigOf,
  interpolate,
  mountedFile,
  readYaml,
  SECRET_SETTING,
  SHUTDOWN_AFTER_DRAIN_S,
  valid,
} from './deploy-files.ts';
import { composeFile } from './deploy-schema.ts';

describe('deploy/docker-compose.yml', () => {
  it('composes two gateways sharing Redis and PostgreSQL, a collector and Prometheus, all checked', () => {
    const [document] = readYaml(join(DEPLOY, 'docker-compose.yml'));
    const compose = valid(composeFile, document, 'deploy/docker-compose.yml');
    const services = Object.entries(compose.services);
    const gateways = services.filter(([, s]) => s.build?.dockerfile === 'deploy/Dockerfile');
    expect(gateways.length).toBe(2);
    const named = (pattern: RegExp) => services.find(([, s]) => pattern.test(s.image))?.[0];
    const redis = named(/^redis:/);
    const postgres = named(/^postgres:/);
    const collector = named(/opentelemetry-collector/);
    const prometheusService = named(/prometheus\/prometheus|^prom\/prometheus/);
    expect([redis, postgres, collector, prometheusService]).not.toContain(undefined);

    for (const [name, service] of services) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(compose.services[dependency], `${name} depends on ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(compose.services[dependency]!.healthcheck).toBeDefined();
      }
      // The collector's image has nothing to probe itself with; nothing waits on its health.
      if (name !== collector) expect(service.healthcheck, `${name} healthcheck`).toBeDefined();
      for (const volume of service.volumes ?? []) {
        if (volume.startsWith('.'))
          expect(existsSync(join(DEPLOY, volume.split(':')[0]!)), volume).toBe(true);
      }
    }

    const collectorConfig = readYaml(join(DEPLOY, mountedFile(compose.services[collector!]!)))[0] as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: Record<string, unknown>;
      processors: Record<string, unknown>;
      service: { pipelines: { traces: { receivers: string[]; processors: string[]; exporters: string[] } } };
    };
    const traces = collectorConfig.service.pipelines.traces;
    for (const receiver of traces.receivers) expect(collectorConfig.receivers).toHaveProperty(receiver);
    for (const processor of traces.processors) expect(collectorConfig.processors).toHaveProperty(processor);
    for (const exporter of traces.exporters) expect(collectorConfig.exporters).toHaveProperty(exporter);
    const otlpPort = collectorConfig.receivers.otlp.protocols.http.endpoint.split(':')[1];
    const prometheus = readYaml(join(DEPLOY, mountedFile(compose.services[prometheusService!]!)))[0] as {
      scrape_configs: { metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets));

    for (const [name, gateway] of gateways) {
      const env = Object.fromEntries(
        Object.entries(gateway.environment ?? {}).map(([k, v]) => [k, interpolate(v)]),
      );
      expectKnownSettings(Object.keys(env), `${name} environment`);
      for (const [key, value] of Object.entries(gateway.environment ?? {})) {
        // Credentials come from deploy/.env through interpolation, never written in the file.
        if (SECRET_SETTING.test(key) && /:\/\/[^@]*@/.test(value)) {
          expect(/:\/\/[^:]*:\$\{[^}]+\}@/.test(value), `${name} ${key}: password from \${…}`).toBe(true);
        }
      }
      expect(new URL(env.TAOGATE_REDIS_URL!).hostname).toBe(redis);
      expect(new URL(env.TAOGATE_DATABASE_URL!).hostname).toBe(postgres);
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe(`http://${collector}:${otlpPort}`);
      const configFile = (gateway.volumes ?? []).find((v) => v.split(':')[1] === env.TAOGATE_CONFIG);
      expect(configFile, `${name} mounts TAOGATE_CONFIG`).toBeDefined();
      const config = gatewayConfigOf(readFileSync(join(DEPLOY, configFile!.split(':')[0]!), 'utf8'), env);
      expect((gateway.ports ?? []).map((p) => Number(p.split(':')[1]))).toContain(config.port);
      expect(config.drainMs).toBeGreaterThanOrEqual(config.deadlineMs);
      expect(Number.parseInt(gateway.stop_grace_period ?? '10s', 10)).toBeGreaterThanOrEqual(
        config.drainMs / 1000 + SHUTDOWN_AFTER_DRAIN_S,
      );
      expect(gateway.depends_on?.[redis!]?.condition).toBe('service_healthy');
      expect(gateway.depends_on?.[postgres!]?.condition).toBe('service_healthy');
      expect(targets).toContain(`${name}:${config.port}`);
      for (const secret of gateway.secrets ?? []) expect(compose.secrets?.[secret], secret).toBeDefined();
    }
    // Secret files and the .env with passwords stay out of git.
    const ignored = readFileSync(join(DEPLOY, '.gitignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.env', 'secrets/']));
    for (const secret of Object.values(compose.secrets ?? {})) expect(secret.file).toMatch(/^\.\/secrets\//);
  });
});
