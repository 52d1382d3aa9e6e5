/**
 * Grafana itself, where a Docker engine exists: testcontainers starts Prometheus and Grafana with
 * the generated provisioning, the exporter runs in-process with fake sources, and every dashboard
 * must load and every panel query return data through Grafana's API.
 *
 * No Docker engine (these CI machines): skipped with a printed reason; the Prometheus and
 * Alertmanager integration tests cover the queries and alerts everywhere. The `testcontainers`
 * devDependency (11.9.0: 12.x crashes on import on Node 20) is loaded only when Docker exists.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { dashboardExpressions } from '../../src/generate/dashboards/common.js';
import { PATHS } from '../../src/generate/generate.js';
import { prometheusConfig } from '../../src/generate/provisioning.js';
import { EXAMPLE, generateExample } from '../generate/support.js';
import { fakeApilogs, fakeBitbucket, fakeJira, fakeSonarqube, krEngineFamilies, startFakeExporter, withExtra, type FakeExporter } from './fake-sources.js';
// A real Prometheus scrapes in real time: the fakes' counters and dates move with the system clock.
import { systemClock } from '../../src/core/clock.js';

const GRAFANA_IMAGE = 'grafana/grafana-oss:11.5.2';
const PROMETHEUS_IMAGE = 'prom/prometheus:v2.53.4';

/** Why Docker cannot be used here, or undefined when it can. */
function dockerUnavailable(): string | undefined {
  const socket = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  if (!process.env.DOCKER_HOST && !existsSync(socket)) return `no Docker engine: ${socket} does not exist and DOCKER_HOST is not set`;
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return `no Docker engine: \`docker info\` failed (${r.error.message})`;
  if (r.status !== 0) return `no Docker engine: \`docker info\` exited ${r.status}: ${r.stderr.trim().split('\n')[0]}`;
  return undefined;
}

const skipReason = dockerUnavailable();
if (skipReason) console.log(`[grafana-container.test] skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('Grafana with the generated provisioning (testcontainers)', () => {
  const cleanups: Array<() => unknown> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  });

  it('loads every dashboard, and every panel query returns data through Grafana', async () => {
    // A variable specifier: not resolved at type-check time, not needed where Docker is absent.
    const moduleName = 'testcontainers';

    const tc: any = await import(moduleName).catch(() => {
      throw new Error('Docker is available but the testcontainers package is not installed: npm install --save-dev testcontainers@11.9.0');
    });
    const config = loadConfig(EXAMPLE, { env: {} }).config;
    const { dir, generated } = generateExample();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const exporter: FakeExporter = await startFakeExporter(
      [
        withExtra(fakeApilogs('topups-api', { rps: 20, errorShare: () => 0.002 }, systemClock), () => krEngineFamilies(config, systemClock)),
        fakeJira(config, systemClock),
        fakeSonarqube(config),
        fakeBitbucket(config, systemClock),
      ],
      systemClock,
    );
    cleanups.push(() => exporter.stop());
    await tc.TestContainers.exposeHostPorts(exporter.server.port);

    const network = await new tc.Network().start();
    cleanups.push(() => network.stop());
    const promDir = mkdtempSync(join(tmpdir(), 'okr-grafana-'));
    cleanups.push(() => rmSync(promDir, { recursive: true, force: true }));
    writeFileSync(
      join(promDir, 'prometheus.yml'),
      stringify(
        prometheusConfig({
          exporterTargets: [`host.testcontainers.internal:${exporter.server.port}`],
          alertmanagerTargets: [],
          scrapeInterval: '1s',
          evaluationInterval: '1s',
          ruleFiles: ['/etc/prometheus/rules/okr-recording.rules.yml', '/etc/prometheus/rules/okr-alerts.rules.yml'],
        }),
      ),
    );
    const prometheus = await new tc.GenericContainer(PROMETHEUS_IMAGE)
      .withNetwork(network)
      .withNetworkAliases('prometheus')
      .withCopyFilesToContainer([{ source: join(promDir, 'prometheus.yml'), target: '/etc/prometheus/prometheus.yml' }])
      .withCopyDirectoriesToContainer([{ source: join(dir, 'provisioning/prometheus/rules'), target: '/etc/prometheus/rules' }])
      .withWaitStrategy(tc.Wait.forHttp('/-/ready', 9090))
      .start();
    cleanups.push(() => prometheus.stop());

    const grafana = await new tc.GenericContainer(GRAFANA_IMAGE)
      .withNetwork(network)
      .withExposedPorts(3000)
      .withEnvironment({ GF_SECURITY_ADMIN_PASSWORD: 'admin', GF_AUTH_ANONYMOUS_ENABLED: 'false' })
      .withCopyFilesToContainer([
        { source: join(dir, PATHS.grafanaDatasource), target: '/etc/grafana/provisioning/datasources/okr-metrics.yml' },
        { source: join(dir, PATHS.grafanaDashboards), target: '/etc/grafana/provisioning/dashboards/okr-metrics.yml' },
      ])
      .withCopyDirectoriesToContainer([{ source: join(dir, 'dashboards'), target: '/var/lib/grafana/dashboards/okr-metrics' }])
      .withWaitStrategy(tc.Wait.forHttp('/api/health', 3000))
      .start();
    cleanups.push(() => grafana.stop());

    const base = `http://${grafana.getHost()}:${grafana.getMappedPort(3000)}`;
    const auth = { Authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}`, 'Content-Type': 'application/json' };
    await new Promise((r) => setTimeout(r, 8000)); // two scrapes and rule evaluations

    const failures: string[] = [];
    for (const d of generated.dashboards) {
      const r = await fetch(`${base}/api/dashboards/uid/${d.uid}`, { headers: auth });
      if (!r.ok) {
        failures.push(`${d.uid}: dashboard did not load (${r.status})`);
        continue;
      }
      for (const e of dashboardExpressions(d.json).filter((x) => !x.variable)) {
        const q = await fetch(`${base}/api/ds/query`, {
          method: 'POST',
          headers: auth,
          body: JSON.stringify({
            from: 'now-5m',
            to: 'now',
            queries: [{ refId: 'A', datasource: { uid: 'okr-prometheus', type: 'prometheus' }, expr: e.expr.replace(/\$(\w+)/g, '.*'), instant: true }],
          }),
        });
        const body = (await q.json()) as { results?: Record<string, { frames?: unknown[]; error?: string }> };
        const res = body.results?.A;
        if (!q.ok || res?.error || !res?.frames?.length) failures.push(`${d.uid} ${e.where}: ${res?.error ?? 'no data'}`);
      }
    }
    expect(failures).toEqual([]);
  }, 300_000);
});
