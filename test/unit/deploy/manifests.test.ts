/**
 * The deployment artefacts checked against the code they configure: every file parses; every
 * `RNNSTREAM_*` name is a real option (pipeline/config.ts), a Kafka security variable
 * (pipeline/kafka/uri.ts) or a documented extra the code reads; the compose and Kubernetes values pass
 * the config schema; ports, selectors, topics and groups agree across files; every metric a dashboard,
 * an alert or the docs query exists in pipeline/metrics.ts. Static only: no Docker engine is needed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { envName, RUN_CONFIG_KEYS, resolveRunConfig } from '../../../pipeline/config.js';
import { KAFKA_ENV, kafkaSecurityFromEnv, parseKafkaUri } from '../../../pipeline/kafka/uri.js';
import { PipelineMetrics } from '../../../pipeline/metrics.js';
import { encodeRecord, HEADER_BYTES, type StateSchema } from '../../../pipeline/state/record.js';
import { parseStateUri } from '../../../pipeline/state/stateUri.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const K8S = join(DEPLOY, 'k8s');
const OPERATIONS = join(ROOT, 'docs', 'OPERATIONS.md');

/** Env names read outside the config schema, each with the source file that reads it. */
const EXTRA_ENV: Record<string, string> = {
  RNNSTREAM_CONFIG: 'pipeline/config.ts',
};

/** A loosely typed YAML/JSON node: manifests are checked field by field. */
// biome-ignore lint/suspicious/noExplicitAny: parsed documents are walked dynamically.
type Node = any;

const read = (path: string): string => readFileSync(path, 'utf8');
const yamlFile = (path: string): Node => parse(read(path));

/** Every document of every YAML file under deploy/k8s, as `{ file, doc }`. */
function k8sDocuments(): { file: string; doc: Node }[] {
  return readdirSync(K8S)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .flatMap((name) =>
      parseAllDocuments(read(join(K8S, name))).map((d) => {
        assert.equal(d.errors.length, 0, `${name}: ${d.errors.map((e) => e.message).join('; ')}`);
        return { file: name, doc: d.toJS() };
      }),
    );
}

function k8sKind(kind: string): Node {
  const found = k8sDocuments().filter(({ doc }) => doc?.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind} in deploy/k8s, found ${found.length}`);
  return found[0].doc;
}

/** `RNNSTREAM_…` names mentioned anywhere in a text. */
function envNamesIn(text: string): string[] {
  return [...new Set(text.match(/\bRNNSTREAM_[A-Z0-9_]*[A-Z0-9]\b/g) ?? [])];
}

/** The env names the code understands. */
function knownEnvNames(): Set<string> {
  return new Set([
    ...RUN_CONFIG_KEYS.map((key) => envName(key)),
    ...Object.values(KAFKA_ENV),
    ...Object.keys(EXTRA_ENV),
  ]);
}

/** Compose `environment:` as a map, whether written as a map or as `NAME=value` items. */
function composeEnv(service: Node): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item: string) => [item.split('=')[0], item.slice(item.indexOf('=') + 1)]),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}

/** Every series name a metric exposes (histograms: `_bucket`, `_sum`, `_count`). */
async function exposedSeries(): Promise<Set<string>> {
  const metrics = new PipelineMetrics();
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    const type = String(metric.type);
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

/** `rnnstream_…` metric names in PromQL (label values such as `job="rnnstream"` have no underscore). */
function metricsIn(expr: string): string[] {
  return expr.match(/\brnnstream_[a-z0-9_]+/g) ?? [];
}

function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  assert.ok(match, `unreadable duration "${text}"`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

const compose = (): Node => yamlFile(join(DEPLOY, 'docker-compose.yml'));

describe('env names match the config', () => {
  it('the extras are really read by the code', () => {
    for (const [name, file] of Object.entries(EXTRA_ENV)) {
      assert.ok(
        read(join(ROOT, file)).includes(name),
        `${file} no longer reads ${name}: drop it from the docs and manifests`,
      );
    }
  });

  const sources: [string, () => string][] = [
    ['deploy/docker-compose.yml', () => read(join(DEPLOY, 'docker-compose.yml'))],
    ['deploy/Dockerfile', () => read(join(DEPLOY, 'Dockerfile'))],
    [
      'deploy/k8s/*.yaml',
      () =>
        readdirSync(K8S)
          .map((f) => read(join(K8S, f)))
          .join('\n'),
    ],
    [
      'deploy/prometheus/*',
      () =>
        readdirSync(join(DEPLOY, 'prometheus'))
          .map((f) => read(join(DEPLOY, 'prometheus', f)))
          .join('\n'),
    ],
    [
      'deploy/grafana/dashboards/rnnstream.json',
      () => read(join(DEPLOY, 'grafana', 'dashboards', 'rnnstream.json')),
    ],
    ['docs/OPERATIONS.md', () => read(OPERATIONS)],
  ];
  for (const [label, text] of sources) {
    it(`every RNNSTREAM_* name in ${label} is an option, a Kafka security variable or a documented extra`, () => {
      const known = knownEnvNames();
      const unknown = envNamesIn(text()).filter((name) => !known.has(name));
      assert.deepEqual(unknown, [], `${label} uses names the code never reads`);
    });
  }

  it('the checker itself refuses a misspelt name', () => {
    const known = knownEnvNames();
    assert.ok(known.has('RNNSTREAM_MAX_BATCH_ROWS'));
    assert.ok(!known.has('RNNSTREAM_MAX_BATCH_ROW'));
    assert.deepEqual(envNamesIn('x RNNSTREAM_FOO=1 and `RNNSTREAM_…`'), ['RNNSTREAM_FOO']);
  });
});

describe('docker-compose.yml', () => {
  it('keeps Kafka and Redis outside any profile, and the app stack behind one', () => {
    const services = compose().services;
    for (const name of ['kafka', 'redis']) {
      assert.ok(services[name], `service ${name} is missing`);
      assert.equal(services[name].profiles, undefined, `${name} must start with a plain \`up\``);
    }
    for (const name of ['rnnstream', 'prometheus', 'grafana']) {
      assert.ok(services[name], `service ${name} is missing`);
      assert.ok(services[name].profiles?.includes('app'), `${name} belongs to the app profile`);
    }
    for (const [name, service] of Object.entries<Node>(services)) {
      const deps = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {});
      for (const dep of deps) assert.ok(services[dep], `${name} depends on unknown service ${dep}`);
    }
  });

  it('builds rnnstream from deploy/Dockerfile with the repository root as context', () => {
    const build = compose().services.rnnstream.build;
    assert.equal(build.context, '..');
    assert.equal(build.dockerfile, 'deploy/Dockerfile');
    assert.ok(existsSync(join(DEPLOY, build.context, build.dockerfile)));
  });

  it("rnnstream's environment passes the config schema and points at the compose services", () => {
    const env = composeEnv(compose().services.rnnstream);
    const config = resolveRunConfig({}, env);
    const input = parseKafkaUri(config.in, env);
    assert.ok(input.group, 'the input needs a consumer group');
    const kafka = compose().services.kafka.environment.KAFKA_ADVERTISED_LISTENERS as string;
    for (const broker of input.connection.brokers) {
      assert.ok(kafka.includes(broker), `${broker} is not an advertised Kafka listener (${kafka})`);
    }
    const state = parseStateUri(config.state);
    assert.ok(state.kind === 'redis' && state.nodes[0].host === 'redis', 'state goes to the redis service');
    assert.equal(state.kind === 'redis' && state.prefix, 'rnnstream:');
    assert.ok(config.metricsPort, 'RNNSTREAM_METRICS_PORT must be set');
    assert.ok(
      parseDuration(compose().services.rnnstream.stop_grace_period) > config.shutdownTimeoutMs,
      'stop_grace_period must exceed the drain timeout',
    );
  });

  it('creates every topic rnnstream uses', () => {
    const services = compose().services;
    const env = composeEnv(services.rnnstream);
    const script = (services['kafka-init'].command as string[]).join('\n');
    for (const uri of [env.RNNSTREAM_IN, env.RNNSTREAM_OUT, env.RNNSTREAM_DLQ]) {
      const { topic } = parseKafkaUri(uri, env);
      assert.ok(script.includes(topic), `kafka-init does not create ${topic}`);
    }
  });
});

describe('Dockerfile', () => {
  const lines = () =>
    read(join(DEPLOY, 'Dockerfile'))
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));

  it('is multi-stage, and the runtime stage has production deps only and a non-root user', () => {
    const all = lines();
    const froms = all.map((l, i) => [l, i] as const).filter(([l]) => /^FROM\s/i.test(l));
    assert.ok(froms.length >= 2, 'expected a build stage and a runtime stage');
    assert.match(froms[0][0], /\sAS\s+build$/i);
    const runtime = all.slice(froms[froms.length - 1][1]);
    assert.ok(
      runtime.some((l) => /npm ci\b.*--omit=dev/.test(l)),
      'runtime installs with --omit=dev',
    );
    assert.ok(
      runtime.some((l) => /^COPY --from=build\s.*dist/.test(l)),
      'runtime copies dist/ from the build stage',
    );
    for (const dir of ['bin/', 'models/'])
      assert.ok(
        runtime.some((l) => l.startsWith(`COPY ${dir}`)),
        `runtime copies ${dir}`,
      );
    const users = runtime.filter((l) => /^USER\s/i.test(l));
    assert.equal(users.length, 1, 'one USER in the runtime stage');
    const user = users[0].split(/\s+/)[1].split(':')[0];
    assert.ok(user !== 'root' && user !== '0', `runs as ${user}`);
    assert.ok(runtime.some((l) => l === 'ENTRYPOINT ["node", "bin/rnnstream.js"]'));
    assert.ok(runtime.some((l) => l === 'CMD ["run"]'));
    assert.ok(
      runtime.some((l) => /^HEALTHCHECK\s.*\/healthz/.test(l) && l.includes('RNNSTREAM_METRICS_PORT')),
    );
  });

  it('copies every source folder the build compiles', () => {
    const build = JSON.parse(read(join(ROOT, 'tsconfig.build.json'))) as { include: string[] };
    const all = lines();
    for (const pattern of build.include) {
      const dir = pattern.split('/')[0];
      assert.ok(all.includes(`COPY ${dir}/ ${dir}/`), `the build stage does not copy ${dir}/`);
    }
  });

  it('exposes the metrics port compose sets', () => {
    const port = composeEnv(compose().services.rnnstream).RNNSTREAM_METRICS_PORT;
    assert.ok(lines().includes(`EXPOSE ${port}`));
  });
});

describe('Prometheus', () => {
  it('scrapes rnnstream on the metrics port compose sets', () => {
    const config = yamlFile(join(DEPLOY, 'prometheus', 'prometheus.yml'));
    const job = config.scrape_configs.find((j: Node) => j.job_name === 'rnnstream');
    assert.ok(job, 'no rnnstream scrape job');
    assert.equal(job.metrics_path ?? '/metrics', '/metrics');
    const services = compose().services;
    const port = composeEnv(services.rnnstream).RNNSTREAM_METRICS_PORT;
    assert.deepEqual(
      job.static_configs.flatMap((s: Node) => s.targets),
      [`rnnstream:${port}`],
    );
  });

  it('mounts the files it reads', () => {
    const config = yamlFile(join(DEPLOY, 'prometheus', 'prometheus.yml'));
    const volumes = compose().services.prometheus.volumes as string[];
    for (const file of ['/etc/prometheus/prometheus.yml', ...config.rule_files]) {
      const volume = volumes.find((v) => v.split(':')[1] === file);
      assert.ok(volume, `${file} is not mounted`);
      assert.ok(existsSync(join(DEPLOY, volume.split(':')[0])), `${volume} names a missing file`);
    }
  });

  it('alerts only on metrics that exist', async () => {
    const series = await exposedSeries();
    const rules = yamlFile(join(DEPLOY, 'prometheus', 'alerts.yml')).groups.flatMap((g: Node) => g.rules);
    assert.ok(rules.length > 0);
    for (const rule of rules) {
      assert.ok(rule.alert && rule.expr, 'each rule has alert and expr');
      for (const name of metricsIn(rule.expr))
        assert.ok(series.has(name), `${rule.alert} uses unknown metric ${name}`);
    }
  });
});

describe('Grafana', () => {
  const dashboard = (): Node => JSON.parse(read(join(DEPLOY, 'grafana', 'dashboards', 'rnnstream.json')));
  const exprs = (): string[] => [
    ...dashboard().panels.flatMap((p: Node) => (p.targets ?? []).map((t: Node) => t.expr)),
    ...dashboard().templating.list.map((v: Node) => v.definition ?? ''),
  ];

  it('every query uses metrics that exist', async () => {
    const series = await exposedSeries();
    const used = exprs().flatMap(metricsIn);
    assert.ok(used.length > 0);
    for (const name of used) assert.ok(series.has(name), `the dashboard queries unknown metric ${name}`);
  });

  it('has a panel for each pipeline metric', () => {
    const used = new Set(exprs().flatMap(metricsIn));
    const wanted = [
      'rnnstream_messages_in_total',
      'rnnstream_messages_out_total',
      'rnnstream_dead_letters_total',
      'rnnstream_batch_rows_bucket',
      'rnnstream_batch_tokens_bucket',
      'rnnstream_step_seconds_bucket',
      'rnnstream_state_seconds_bucket',
      'rnnstream_sink_seconds_bucket',
      'rnnstream_state_cache_hits_total',
      'rnnstream_state_cache_misses_total',
      'rnnstream_in_flight_messages',
      'rnnstream_consumer_lag',
      'rnnstream_retries_total',
      'rnnstream_backend_info',
      'rnnstream_message_latency_seconds_bucket',
      'rnnstream_worker_latency_seconds_bucket',
      'rnnstream_message_stage_seconds_bucket',
      'rnnstream_latency_target_seconds',
      'rnnstream_latency_overload_batches_total',
    ];
    assert.deepEqual(
      wanted.filter((m) => !used.has(m)),
      [],
    );
  });

  it('panels use the provisioned datasource and unique ids', () => {
    const provisioned = yamlFile(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'));
    const uid = provisioned.datasources[0].uid;
    const panels = dashboard().panels.filter((p: Node) => p.type !== 'row');
    for (const panel of panels)
      assert.equal(panel.datasource?.uid, uid, `panel "${panel.title}" uses another datasource`);
    const ids = dashboard().panels.map((p: Node) => p.id);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('the dashboard provider reads the folder compose mounts', () => {
    const provider = yamlFile(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'rnnstream.yml'))
      .providers[0];
    const volumes = compose().services.grafana.volumes as string[];
    const mount = volumes.find((v) => v.split(':')[1] === provider.options.path);
    assert.ok(mount, `${provider.options.path} is not mounted`);
    assert.ok(existsSync(join(DEPLOY, mount.split(':')[0], 'rnnstream.json')));
    assert.ok(volumes.some((v) => v.split(':')[1] === '/etc/grafana/provisioning'));
  });
});

describe('Kubernetes manifests', () => {
  /** The worker's env: ConfigMap data plus the Deployment's own entries, secrets given stand-in values. */
  function podEnv(): Record<string, string> {
    const configMap = k8sKind('ConfigMap');
    const container = k8sKind('Deployment').spec.template.spec.containers[0];
    const env: Record<string, string> = { ...configMap.data };
    for (const entry of container.env ?? []) {
      if (entry.value !== undefined) env[entry.name] = entry.value;
      else if (entry.valueFrom?.secretKeyRef) {
        env[entry.name] =
          entry.name === 'RNNSTREAM_STATE'
            ? 'rediss://rnnstream:secret@redis.example:6380/0?prefix=prod:'
            : 'secret';
      } else env[entry.name] = 'from-a-field';
    }
    return env;
  }

  it('every file parses and kustomization lists each of them', () => {
    const docs = k8sDocuments();
    assert.ok(
      docs.every(({ doc }) => doc?.apiVersion && doc.kind),
      'each document has apiVersion and kind',
    );
    const kustomization = yamlFile(join(K8S, 'kustomization.yaml'));
    const files = readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
  });

  it('the environment passes the config schema and the Kafka security checks', () => {
    const env = podEnv();
    const config = resolveRunConfig({}, env);
    const security = kafkaSecurityFromEnv(env);
    assert.ok(security.sasl, 'SASL is configured');
    assert.ok(parseKafkaUri(config.in, env).group, 'the input needs a consumer group');
    assert.equal(parseStateUri(config.state).kind, 'redis');
  });

  it('secrets come from Secrets, never from the ConfigMap', () => {
    const configMap = k8sKind('ConfigMap');
    for (const [name, value] of Object.entries<string>(configMap.data)) {
      assert.ok(!/PASSWORD/.test(name), `${name} belongs in a Secret`);
      assert.ok(!/:\/\/[^/@]*:[^/@]*@/.test(value), `${name} carries credentials`);
      assert.notEqual(name, 'RNNSTREAM_STATE', 'the Redis URL carries a password: use a Secret');
    }
    const env = k8sKind('Deployment').spec.template.spec.containers[0].env as Node[];
    for (const name of [KAFKA_ENV.saslPassword, envName('state')]) {
      const entry = env.find((e) => e.name === name);
      assert.ok(
        entry?.valueFrom?.secretKeyRef?.name && entry.valueFrom.secretKeyRef.key,
        `${name} must reference a Secret`,
      );
    }
  });

  it('the Deployment probes, ports, security and grace period fit the config', () => {
    const deployment = k8sKind('Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const config = resolveRunConfig({}, podEnv());
    const port = container.ports.find((p: Node) => p.name === 'metrics');
    assert.equal(port.containerPort, config.metricsPort);
    assert.equal(container.livenessProbe.httpGet.path, '/healthz');
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      assert.equal(probe.httpGet.port, 'metrics');
    }
    assert.ok(
      pod.terminationGracePeriodSeconds * 1000 > config.shutdownTimeoutMs,
      'grace period must exceed the drain',
    );
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.ok(pod.securityContext.runAsUser > 0);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.ok(
      container.resources.requests.cpu &&
        container.resources.requests.memory &&
        container.resources.limits.memory,
    );
    assert.equal(
      deployment.spec.template.metadata.annotations['prometheus.io/port'],
      String(config.metricsPort),
    );
    assert.deepEqual(container.envFrom, [{ configMapRef: { name: k8sKind('ConfigMap').metadata.name } }]);
  });

  it('the Service and the PodDisruptionBudget select the worker pods', () => {
    const podLabels = k8sKind('Deployment').spec.template.metadata.labels;
    const matches = (selector: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => podLabels[k] === v) && Object.keys(selector).length > 0;
    const service = k8sKind('Service');
    assert.ok(matches(service.spec.selector));
    assert.ok(matches(k8sKind('PodDisruptionBudget').spec.selector.matchLabels));
    const config = resolveRunConfig({}, podEnv());
    assert.equal(service.spec.ports[0].port, config.metricsPort);
    assert.equal(service.spec.ports[0].targetPort, 'metrics');
    assert.equal(service.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(service.metadata.annotations['prometheus.io/port'], String(config.metricsPort));
  });

  it('KEDA scales the Deployment on the lag of the group and topic the workers consume', () => {
    const scaled = k8sKind('ScaledObject');
    assert.equal(scaled.spec.scaleTargetRef.name, k8sKind('Deployment').metadata.name);
    const trigger = scaled.spec.triggers.find((t: Node) => t.type === 'kafka');
    assert.ok(trigger, 'no kafka trigger');
    const env = podEnv();
    const input = parseKafkaUri(resolveRunConfig({}, env).in, env);
    assert.equal(trigger.metadata.bootstrapServers, input.connection.brokers.join(','));
    assert.equal(trigger.metadata.consumerGroup, input.group);
    assert.equal(trigger.metadata.topic, input.topic);
    assert.ok(Number(trigger.metadata.lagThreshold) > 0);
    assert.equal(trigger.authenticationRef.name, k8sKind('TriggerAuthentication').metadata.name);
    assert.ok(
      scaled.spec.minReplicaCount >= 1,
      'a consumer group with no member never scales up again on its own lag',
    );
  });
});

describe('docs/OPERATIONS.md', () => {
  it('covers what operators need', () => {
    const text = read(OPERATIONS);
    for (const heading of [
      'Scaling',
      'Redis sizing',
      'Exactly-once',
      'Replay',
      'Upgrading a model',
      'Graceful shutdown',
      'Metrics',
      'Security',
    ]) {
      assert.match(text, new RegExp(`^##+ .*${heading}`, 'mi'), `no section on ${heading}`);
    }
  });

  it('states record sizes the record encoder really produces', () => {
    const text = read(OPERATIONS);
    assert.ok(
      text.includes(`${HEADER_BYTES}-byte header`),
      'the header size changed: update the sizing section',
    );
    const size = (
      cell: StateSchema['cell'],
      layers: number,
      hidden: number,
      dtype: StateSchema['dtype'] = 'float32',
    ) => {
      const per = layers * hidden;
      const state = { h: new Float32Array(per), c: cell === 'lstm' ? new Float32Array(per) : undefined };
      const schema = { fingerprint: '0123456789abcdef', cell, layers, hidden, dtype };
      return encodeRecord(schema, {
        key: 'k',
        fence: { partition: 0, offset: '1' },
        stored: { state, fence: { partition: 0, offset: '1' }, totalTokens: 1, updatedAt: 0 },
      }).length;
    };
    for (const bytes of [
      size('gru', 1, 128),
      size('lstm', 1, 128),
      size('gru', 2, 256),
      size('gru', 1, 128, 'float16'),
    ]) {
      assert.match(text, new RegExp(`\\b${bytes}\\b`), `the sizing table lacks a ${bytes}-byte record`);
    }
  });

  it('names only metrics that exist', async () => {
    const series = await exposedSeries();
    for (const name of metricsIn(read(OPERATIONS)))
      assert.ok(series.has(name), `OPERATIONS.md names unknown metric ${name}`);
  });

  it('every deploy file it links to exists', () => {
    const text = read(OPERATIONS);
    const links = [...text.matchAll(/\]\((\.\.\/[^)#\s]+)\)/g)].map((m) => m[1]);
    assert.ok(links.length > 0);
    for (const link of links) {
      const path = join(ROOT, 'docs', link);
      assert.ok(existsSync(path), `broken link ${relative(ROOT, path)}`);
    }
  });
});
