/**
 * Fake collectors returning realistic snapshots under the conventions' metric names, enough
 * series that every dashboard panel and variable has data. Counters grow with the clock so
 * rate() and increase() see movement; sprint dates and the KR period derive from the same
 * clock (the system clock where a real Prometheus scrapes, as it scrapes in real time). Also
 * the KR engine's okr_key_result_* series.
 */
import { pino } from 'pino';
import type { Collector, CollectContext, MetricFamily, Sample, Snapshot } from '../../src/core/source.js';
import { histogramSamples } from '../../src/core/snapshot.js';
import type { OkrFile } from '../../src/config/okr-schema.js';
import { KR_METRICS as KR, KR_STATUSES } from '../../src/conventions.js';
import { BITBUCKET_METRICS as BB } from '../../exporters/bitbucket/metrics.js';
import { SONARQUBE_METRICS as SQ } from '../../exporters/sonarqube/metrics.js';
import { JIRA_METRICS as JIRA } from '../../exporters/jira/metrics.js';
import { APILOGS_METRICS as API, DEFAULT_LATENCY_BUCKETS } from '../../exporters/apilogs/metrics.js';
import type { Clock } from '../../src/core/clock.js';
import { calendarOf, periodContaining } from '../../src/core/periods.js';
import { Scheduler } from '../../src/serve/scheduler.js';
import { startServer, type RunningServer } from '../../src/serve/http-server.js';

/** Seconds since the fake was made, on its clock. */
function stopwatch(clock: Clock): () => number {
  const t0 = clock.now();
  return () => (clock.now() - t0) / 1000;
}

function gauge(name: string, samples: Sample[]): MetricFamily {
  return { name, help: `${name} (fake)`, type: 'gauge', samples };
}
function counter(name: string, samples: Sample[]): MetricFamily {
  return { name, help: `${name} (fake)`, type: 'counter', samples };
}
function histogram(name: string, parts: Array<{ labels: Record<string, string>; bounds: readonly number[]; counts: number[]; sum: number }>): MetricFamily {
  return { name, help: `${name} (fake)`, type: 'histogram', samples: parts.flatMap((p) => histogramSamples(p.labels, p.bounds, p.counts, p.sum)) };
}

export interface ApiTraffic {
  /** Requests per second per route. */
  rps: number;
  /** Share of requests answered 5xx. */
  errorShare: () => number;
}

/** API access-log counters for one service; `errorShare` may change while the test runs. */
export function fakeApilogs(service: string, traffic: ApiTraffic, clock: Clock): Collector {
  const elapsed = stopwatch(clock);
  const routes = ['/v1/topups/:id', '/v1/operators/:id'];
  let errors = 0;
  let ok = 0;
  let last = elapsed();
  return {
    source: 'apilogs',
    async collect() {
      const now = elapsed();
      const n = traffic.rps * (now - last) * routes.length;
      last = now;
      errors += n * traffic.errorShare();
      ok += n * (1 - traffic.errorShare());
      // Fractional counts keep the error ratio smooth from the first scrapes on.
      const per = (v: number) => v / routes.length;
      const requests: Sample[] = routes.flatMap((route) => [
        { labels: { service, route, method: 'GET', code: '200' }, value: per(ok) + 100 },
        { labels: { service, route, method: 'GET', code: '503' }, value: per(errors) + 1 },
      ]);
      const total = per(ok + errors) + 101;
      // About 10% under 50ms, most under 250ms, a tail to 1s.
      const counts = DEFAULT_LATENCY_BUCKETS.map((le) =>
        le === 0.05
          ? Math.round(total * 0.1)
          : le === 0.25
            ? Math.round(total * 0.8)
            : le === 1
              ? total - Math.round(total * 0.1) - Math.round(total * 0.8)
              : 0,
      );
      return [
        counter(API.requests, requests),
        histogram(
          API.duration,
          routes.map((route) => ({ labels: { service, route }, bounds: DEFAULT_LATENCY_BUCKETS, counts: [...counts, 0], sum: total * 0.18 })),
        ),
        counter(API.lines, [{ labels: { service, result: 'parsed' }, value: Math.round(2 * (ok + errors)) + 202 }]),
      ];
    },
  };
}

export function fakeJira(config: OkrFile, clock: Clock): Collector {
  const elapsed = stopwatch(clock);
  const boards = (config.sources.jira?.boards ?? []).map((b) => (typeof b === 'number' ? String(b) : (b.name ?? String(b.id))));
  const queries = Object.keys(config.sources.jira?.queries ?? {});
  return {
    source: 'jira',
    async collect(ctx: CollectContext) {
      ctx.countRequest(200);
      const now = Math.floor(clock.now() / 1000);
      const sprints = ['Sprint 41', 'Sprint 42', 'Sprint 43'];
      const points: Sample[] = [];
      const ends: Sample[] = [];
      for (const board of boards)
        sprints.forEach((sprint, i) => {
          points.push({ labels: { board, sprint, state: 'completed' }, value: 55 + 4 * i });
          points.push({ labels: { board, sprint, state: 'committed' }, value: 64 });
          ends.push({ labels: { board, sprint }, value: now - (3 - i) * 14 * 86400 });
        });
      const grow = Math.floor(elapsed());
      return [
        gauge(JIRA.sprintPoints, points),
        gauge(JIRA.sprintCompleteTime, ends),
        counter(
          JIRA.completedPointsTotal,
          boards.map((board) => ({ labels: { board }, value: 600 + grow })),
        ),
        counter(
          JIRA.committedPointsTotal,
          boards.map((board) => ({ labels: { board }, value: 700 + 2 * grow })),
        ),
        gauge(
          JIRA.queryIssues,
          queries.map((query) => ({ labels: { query }, value: query === 'security_incidents' ? 0 : 3 })),
        ),
      ];
    },
  };
}

export function fakeSonarqube(config: OkrFile): Collector {
  const configured = config.sources.sonarqube?.projects;
  const projects = Array.isArray(configured) ? configured.map((p) => (typeof p === 'string' ? p : p.key)) : ['topups-api'];
  return {
    source: 'sonarqube',
    async collect(ctx: CollectContext) {
      ctx.countRequest(200);
      const l = (project: string) => ({ project, branch: 'main' });
      return [
        gauge(
          SQ.coverage,
          projects.map((p, i) => ({ labels: l(p), value: 0.62 + 0.03 * i })),
        ),
        gauge(
          SQ.newCodeCoverage,
          projects.map((p) => ({ labels: l(p), value: 0.8 })),
        ),
        gauge(
          SQ.duplicatedLines,
          projects.map((p) => ({ labels: l(p), value: 0.031 })),
        ),
        gauge(
          SQ.issues,
          projects.flatMap((p) => ['bug', 'vulnerability', 'code_smell'].map((type, i) => ({ labels: { ...l(p), type }, value: 10 * (i + 1) }))),
        ),
        gauge(
          SQ.qualityGatePassed,
          projects.map((p) => ({ labels: l(p), value: 1 })),
        ),
      ];
    },
  };
}

/** Fails its first collection (so okr_source_errors_total has a series), then succeeds. */
export function fakeBitbucket(config: OkrFile, clock: Clock): Collector {
  const elapsed = stopwatch(clock);
  const repos = Array.isArray(config.sources.bitbucket?.repositories)
    ? config.sources.bitbucket.repositories.map((r) => (typeof r === 'string' ? r : r.slug))
    : ['topups-api'];
  let calls = 0;
  return {
    source: 'bitbucket',
    async collect(ctx: CollectContext) {
      calls++;
      if (calls === 1) {
        ctx.countRequest(503);
        throw new Error('fake Bitbucket: first call fails');
      }
      ctx.countRequest(200);
      const grow = Math.floor(elapsed());
      const hours = [3600, 4 * 3600, 86400, 3 * 86400];
      return [
        counter(
          BB.prsMerged,
          repos.map((repo) => ({ labels: { repo }, value: 40 + grow })),
        ),
        histogram(
          BB.prCycleTime,
          repos.map((repo) => ({ labels: { repo }, bounds: hours, counts: [5 + grow, 10 + grow, 20 + grow, 5, 0], sum: 40 * 86400 + grow * 20000 })),
        ),
        gauge(
          BB.prsOpen,
          repos.map((repo) => ({ labels: { repo }, value: 7 })),
        ),
        counter(
          BB.pipelines,
          repos.flatMap((repo) => [
            { labels: { repo, result: 'successful' }, value: 90 + grow },
            { labels: { repo, result: 'failed' }, value: 10 },
          ]),
        ),
        histogram(
          BB.pipelineDuration,
          repos.map((repo) => ({ labels: { repo }, bounds: [60, 300, 900], counts: [10, 60 + grow, 30, 0], sum: 300 * (100 + grow) })),
        ),
      ];
    },
  };
}

/** The KR engine's exported series for every KR of the file (status `on_track` for all). */
export function krEngineFamilies(config: OkrFile, clock: Clock): MetricFamily[] {
  // The engine's labels (src/okr/kr-metrics.ts): objective, key_result, period, team (empty when none).
  const period = periodContaining('quarter', clock.now(), calendarOf(config.calendar)).name;
  const krs = config.objectives.flatMap((o) => o.key_results.map((kr) => ({ objective: o.id, key_result: kr.id, period, team: kr.team ?? '' })));
  const each = (value: number) => krs.map((labels) => ({ labels, value }));
  return [
    gauge(KR.value, each(0.5)),
    gauge(KR.target, each(0.99)),
    gauge(KR.baseline, each(0.4)),
    gauge(KR.progress, each(0.6)),
    gauge(KR.expectedProgress, each(0.5)),
    gauge(
      KR.status,
      krs.flatMap((labels) => KR_STATUSES.map((status) => ({ labels: { ...labels, status }, value: status === 'on_track' ? 1 : 0 }))),
    ),
    gauge(
      KR.objectiveProgress,
      config.objectives.map((o) => ({ labels: { objective: o.id }, value: 0.55 })),
    ),
    gauge(KR.lastEvaluation, [{ labels: {}, value: Math.floor(clock.now() / 1000) }]),
  ];
}

/** Wrap a collector so its snapshot also carries extra families (the engine's, here). */
export function withExtra(c: Collector, extra: () => MetricFamily[]): Collector {
  return { source: c.source, collect: async (ctx) => [...(await c.collect(ctx)), ...extra()] as Snapshot };
}

export interface FakeExporter {
  server: RunningServer;
  scheduler: Scheduler;
  stop(): Promise<void>;
}

/** The real exporter server and scheduler, on 127.0.0.1 and a free port, fed by fake collectors every second. */
export async function startFakeExporter(collectors: Collector[], clock: Clock): Promise<FakeExporter> {
  const logger = pino({ level: 'silent' });
  const scheduler = new Scheduler(
    collectors.map((collector) => ({ collector, intervalSeconds: 1, timeoutSeconds: 1 })),
    logger,
    clock,
  );
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    logger,
    snapshot: () => scheduler.snapshot(),
    health: () => scheduler.health(),
    ready: () => scheduler.ready(),
  });
  scheduler.start();
  return {
    server,
    scheduler,
    stop: async () => {
      await scheduler.stop();
      await server.stop();
    },
  };
}
