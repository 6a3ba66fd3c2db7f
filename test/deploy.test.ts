import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEPLOY,
  expectKnownSettings,
  gatewayConfigOf,
  importsReachableFrom,
  ROOT,
  readYaml,
  SECRET_SETTING,
  SHUTDOWN_AFTER_DRAIN_S,
  urlPathsIn,
  valid,
  yamlFilesUnder,
} from './deploy-files.ts';
import { type Deployment, type EnvVar, type Manifest, manifest } from './deploy-schema.ts';
import { type Stack, startStack } from './harness.ts';

describe('deploy/', () => {
  const k8sFiles = yamlFilesUnder(join(DEPLOY, 'k8s'));
  const manifests: { file: string; object: Manifest }[] = [];
  let stack: Stack;

  beforeAll(async () => {
    for (const file of k8sFiles) {
      for (const [i, document] of readYaml(file).entries()) {
        manifests.push({
          file,
          object: valid(manifest, document, `${relative(ROOT, file)} document ${i + 1}`),
        });
      }
    }
    stack = await startStack();
  });
  afterAll(() => stack.close());

  const ofKind = <K extends Manifest['kind']>(kind: K) =>
    manifests.map((m) => m.object).filter((m): m is Extract<Manifest, { kind: K }> => m.kind === kind);
  const theDeployment = (): Deployment => {
    const [deployment] = ofKind('Deployment');
    if (!deployment) throw new Error('deploy/k8s has no Deployment');
    return deployment;
  };

  it('parses every YAML file in deploy/', () => {
    const files = yamlFilesUnder(DEPLOY);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) expect(readYaml(file).length, file).toBeGreaterThan(0);
  });

  it('has the Kubernetes kinds a replicated gateway needs, each with its required fields', () => {
    const kinds = manifests.map((m) => m.object.kind);
    for (const kind of [
      'Deployment',
      'Service',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'ConfigMap',
    ]) {
      expect(kinds).toContain(kind);
    }
    const [kustomization] = ofKind('Kustomization');
    const listed = new Set(kustomization!.resources);
    for (const { file, object } of manifests) {
      const name = relative(join(DEPLOY, 'k8s'), file);
      if (object.kind === 'Kustomization') continue;
      // The Secret documents its keys; real values are created out of band, never applied from git.
      expect(listed.has(name), `${name} in kustomization.yaml`).toBe(object.kind !== 'Secret');
    }
    for (const resource of listed) expect(existsSync(join(DEPLOY, 'k8s', resource)), resource).toBe(true);
  });

  it('wires the deployment to a config file the gateway accepts, with secrets from the Secret only', () => {
    const deployment = theDeployment();
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0]!;
    expectKnownSettings(
      container.env.map((v) => v.name),
      'deployment env',
    );
    const secrets = new Map(ofKind('Secret').map((s) => [s.metadata.name, s.stringData]));
    const refersToSecret = (name: string, key: string) => secrets.get(name)?.[key] !== undefined;
    for (const variable of container.env) {
      if (SECRET_SETTING.test(variable.name)) {
        expect('valueFrom' in variable && 'secretKeyRef' in variable.valueFrom, variable.name).toBe(true);
      }
      if ('valueFrom' in variable && 'secretKeyRef' in variable.valueFrom) {
        const ref = variable.valueFrom.secretKeyRef;
        expect(refersToSecret(ref.name, ref.key), `${variable.name} → ${ref.name}/${ref.key}`).toBe(true);
      }
    }
    // The config file: TAOGATE_CONFIG names a file in a mounted ConfigMap.
    // Values from the Secret are its documented examples, so their form is checked too.
    const envValue = (v: EnvVar) => {
      if ('value' in v) return v.value;
      if ('secretKeyRef' in v.valueFrom) {
        return secrets.get(v.valueFrom.secretKeyRef.name)?.[v.valueFrom.secretKeyRef.key] ?? '';
      }
      if ('fieldRef' in v.valueFrom) return 'pod-name-0';
      throw new Error(`${v.name}: only values, Secret and field references are expected`);
    };
    const env = Object.fromEntries(container.env.map((v) => [v.name, envValue(v)]));
    const configPath = env.TAOGATE_CONFIG!;
    const mountOf = (path: string) => container.volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`));
    const configMount = mountOf(configPath);
    const configVolume = pod.volumes.find((v) => v.name === configMount?.name);
    const configMap = ofKind('ConfigMap').find((c) => c.metadata.name === configVolume?.configMap?.name);
    const fileText = configMap?.data[configPath.slice(configMount!.mountPath.length + 1)];
    expect(fileText, `${configPath} in a mounted ConfigMap`).toBeTypeOf('string');
    const config = gatewayConfigOf(fileText!, env);

    // The hotkey file the config names is an item of a mounted Secret volume.
    const hotkeyPath = /^hotkey_file: (\S+)$/m.exec(fileText!)?.[1];
    const hotkeyMount = mountOf(hotkeyPath ?? '');
    const hotkeyVolume = pod.volumes.find((v) => v.name === hotkeyMount?.name)?.secret;
    const item = hotkeyVolume?.items?.find((i) => `${hotkeyMount!.mountPath}/${i.path}` === hotkeyPath);
    expect(item && refersToSecret(hotkeyVolume!.secretName, item.key), `hotkey_file ${hotkeyPath}`).toBe(
      true,
    );
    for (const mount of container.volumeMounts) expect(pod.volumes.map((v) => v.name)).toContain(mount.name);
    expect(container.env.some((v) => v.name === 'TAOGATE_HOTKEY')).toBe(false);

    // Ports, probes' ports and the stop grace agree with the config.
    const http = container.ports.find((p) => p.containerPort === config.port);
    expect(http, `a container port ${config.port}`).toBeDefined();
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      if (probe) expect([http!.name, http!.containerPort]).toContain(probe.httpGet.port);
    }
    // A rollout lets every request run its course, and the stop grace covers the drain and what follows.
    expect(config.drainMs).toBeGreaterThanOrEqual(config.deadlineMs);
    const preStop = container.lifecycle.preStop.exec.command;
    const preStopSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      preStopSeconds + config.drainMs / 1000 + SHUTDOWN_AFTER_DRAIN_S,
    );

    // Service, autoscaler and disruption budget all select these pods.
    const podLabels = deployment.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => podLabels[key] === value);
    expect(selects(deployment.spec.selector.matchLabels)).toBe(true);
    const services = ofKind('Service').filter((s) => 'selector' in s.spec);
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      if (!('selector' in service.spec)) continue;
      expect(selects(service.spec.selector), service.metadata.name).toBe(true);
      for (const port of service.spec.ports)
        expect([http!.name, http!.containerPort]).toContain(port.targetPort);
    }
    for (const hpa of ofKind('HorizontalPodAutoscaler')) {
      expect(hpa.spec.scaleTargetRef.name).toBe(deployment.metadata.name);
      expect(hpa.spec.maxReplicas).toBeGreaterThanOrEqual(hpa.spec.minReplicas);
    }
    for (const pdb of ofKind('PodDisruptionBudget'))
      expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
  });

  it('probes, healthchecks and scrapes paths the gateway answers', async () => {
    const container = theDeployment().spec.template.spec.containers[0]!;
    const paths = new Set(
      [container.livenessProbe, container.readinessProbe, container.startupProbe].map((p) => p?.httpGet.path),
    );
    for (const path of urlPathsIn(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'))) paths.add(path);
    for (const path of urlPathsIn(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'))) paths.add(path);
    const [prometheus] = readYaml(join(DEPLOY, 'prometheus.yml')) as {
      scrape_configs: { metrics_path?: string }[];
    }[];
    for (const job of prometheus!.scrape_configs) paths.add(job.metrics_path ?? '/metrics');
    paths.delete(undefined);
    paths.delete('/-/healthy'); // Prometheus's own
    expect([...paths].sort()).toEqual(['/healthz', '/metrics', '/readyz']);
    for (const path of paths) {
      const response = await fetch(`${stack.gateway.url}${path}`);
      expect(response.status, path).toBe(200);
    }
  });

  it('builds a multi-stage, non-root image with a HEALTHCHECK that installs and starts as CI does', () => {
    const instructions = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((line) => line.trim() && !line.trimStart().startsWith('#'))
      .map((line) => {
        const [keyword = '', ...rest] = line.trim().split(/\s+/);
        return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
      });
    const stages = instructions.filter((i) => i.keyword === 'FROM');
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const finalStage = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));
    const last = (keyword: string) => finalStage.filter((i) => i.keyword === keyword).at(-1)?.args;
    expect(last('USER')).toMatch(/^(?!root$|0$)\S+$/);
    expect(last('HEALTHCHECK')).toMatch(/CMD/);
    expect(finalStage.some((i) => i.keyword === 'COPY' && i.args.startsWith('--from='))).toBe(true);

    const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect((JSON.parse(last('CMD')!) as string[]).join(' ')).toBe(packageJson.scripts.start);
    const ciInstall = /npm ci[^\n]*/.exec(readFileSync(join(ROOT, '.ci/run'), 'utf8'))![0];
    const install = instructions.find((i) => i.keyword === 'RUN' && i.args.includes('npm ci'))?.args ?? '';
    for (const flag of ciInstall.split(/\s+/)) expect(install.split(/\s+/)).toContain(flag);
    const port = /TAOGATE_PORT=(\d+)/.exec(finalStage.map((i) => i.args).join(' '))?.[1];
    expect(last('EXPOSE')).toBe(port);

    // The image holds every module `taogate start` can load (docker build cannot run here to find out), and
    // no tests, benchmarks or secrets.
    const ignore = readFileSync(join(DEPLOY, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    const { modules, packages } = importsReachableFrom(join(ROOT, 'bin/taogate.ts'));
    expect(modules.length).toBeGreaterThan(50);
    // The image installs production dependencies only (`npm ci --omit=dev`): all the CLI loads must be there.
    const dependencies = Object.keys(packageJson.dependencies);
    for (const name of packages) expect(dependencies, `${name} is loaded at run time`).toContain(name);
    for (const module of modules) {
      const path = relative(ROOT, module);
      const [folder = ''] = path.split('/');
      expect(ignore.includes(folder) || path.endsWith('.test.ts'), `${path} left out of the image`).toBe(
        false,
      );
    }
    expect(ignore).toEqual(
      expect.arrayContaining(['**/node_modules', '.git', 'test', 'load-tests', '**/.env', '**/*.test.ts']),
    );
  });
});
