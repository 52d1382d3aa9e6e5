/**
 * The delivery join, instant by instant, on a history whose answers are worked out by hand in
 * the comments: counts by status, lead times (a change deployed twice counted once), a failed
 * deployment and its retry, a rollback, an incident opened after the quarter boundary against a
 * deployment before it, an incident no deployment explains, and settlement that waits for late
 * feeds instead of guessing. Also: the counters never go down, and a restart counts nothing twice.
 */
import { describe, expect, it } from 'vitest';
import type { DeliveryFeed, FeedDeployment, FeedIncident } from '../../src/core/delivery-feed.js';
import { emptyDeliveryState, foldDelivery, streamKey, type DeliveryState, type FoldSettings, type HistogramState } from './delivery-fold.js';
import { LEAD_TIME_BUCKETS, RECOVERY_TIME_BUCKETS } from './metrics.js';

const M = 60_000;
const H = 60 * M;
const D = 24 * H;
/** 4 hours before 2026-Q3 begins. */
const B = Date.parse('2026-06-30T20:00:00Z');
const Q3 = Date.parse('2026-07-01T00:00:00Z');

const SETTINGS: FoldSettings = {
  services: [
    { name: 'api', team: 'platform', repository: 'api', incidents: ['prod'] },
    { name: 'web', team: 'web', repository: 'web-repo', incidents: [] },
  ],
  environments: ['production'],
  origins: ['events'],
  windowMs: D,
};

const dep = (key: string, finishedMs: number, o: Partial<FeedDeployment> = {}): FeedDeployment => ({
  key,
  service: 'api',
  environment: 'production',
  status: 'successful',
  rollback: false,
  finishedMs,
  ...o,
});

const t1 = B - 10 * D;
const t2 = B - 5 * D;
const t4 = B - 2 * D;
const DEPLOYMENTS: FeedDeployment[] = [
  dep('e1', t1, { changes: [{ key: 'c1', firstCommitMs: t1 - 5 * H, pullRequestMs: t1 - 3 * H }] }),
  dep('e2', t2, { status: 'failed', changes: [{ key: 'c2', firstCommitMs: t2 - 2 * H }] }),
  dep('e3', t2 + 30 * M, { changes: [{ key: 'c2', firstCommitMs: t2 - 2 * H }] }), // the retry
  dep('e4', t4, { changes: [{ key: 'c3', firstCommitMs: t4 - 20 * H, pullRequestMs: t4 - 19 * H }] }),
  dep('r1', t4 + 2 * H, { rollback: true }),
  dep('e5', B, {
    changes: [
      { key: 'c4', firstCommitMs: B - D, pullRequestMs: B - 12 * H },
      { key: 'c2', firstCommitMs: t2 - 2 * H },
    ],
  }),
  dep('w1', B - 3 * D, { service: 'web', changes: [{ key: 'c1', firstCommitMs: B - 4 * D }] }),
  dep('s1', B - 3 * D, { environment: 'staging' }),
];
const INCIDENTS: FeedIncident[] = [
  { key: 'OPS-1', createdMs: t1 + 2 * D, resolvedMs: t1 + 2 * D + H }, // nothing deployed in the day before
  { key: 'OPS-2', createdMs: B + 6 * H, resolvedMs: B + 30 * H }, // after the quarter boundary, 6 h after e5
];

function feeds(asOf: number, o: { incidentsComplete?: number; deployments?: FeedDeployment[] } = {}): DeliveryFeed[] {
  return [
    { version: 1, origin: 'events', deployments: { completeMs: asOf, items: (o.deployments ?? DEPLOYMENTS).filter((d) => d.finishedMs <= asOf) } },
    { version: 1, origin: 'jira', incidents: { prod: { completeMs: o.incidentsComplete ?? asOf, items: INCIDENTS.filter((i) => i.createdMs <= asOf) } } },
  ];
}

/** Per-bucket counts of a histogram from raw seconds, computed here rather than by the fold. */
function bucketsOf(bounds: readonly number[], seconds: number[]): number[] {
  const out = new Array<number>(bounds.length + 1).fill(0);
  for (const s of seconds) {
    const i = bounds.findIndex((b) => s <= b);
    out[i === -1 ? bounds.length : i]! += 1;
  }
  return out;
}

function expectHistogram(h: HistogramState, bounds: readonly number[], seconds: number[]): void {
  expect(h.buckets).toEqual(bucketsOf(bounds, seconds));
  expect(h.count).toBe(seconds.length);
  expect(h.sum).toBeCloseTo(
    seconds.reduce((a, b) => a + b, 0),
    6,
  );
}

const api = streamKey('api', 'production');
const web = streamKey('web', 'production');

function foldAt(state: DeliveryState, asOf: number, o?: Parameters<typeof feeds>[1]) {
  return foldDelivery(state, feeds(asOf, o), asOf, SETTINGS);
}

describe('delivery fold', () => {
  it('counts, settles and recovers the history as worked out by hand', () => {
    const state = emptyDeliveryState();
    const report = foldAt(state, B + 2 * D);
    const c = state.counters[api]!;
    // Successful: e1, e3, e4, e5; failed: e2; rollback: r1.
    expect(c.deployments).toEqual({ successful: 4, failed: 1, rollback: 1 });
    // e1 and e3 closed their day without a failure; e2 failed; r1 undid e4 within the day; OPS-2 followed e5.
    expect(c.outcomes).toEqual({ none: 2, failed: 1, rolled_back: 1, incident: 1 });
    // c1 at e1 (5 h / 3 h), c2 at its first successful deployment e3 (2.5 h; no pull request: both the same), c3 at e4, c4 at e5; c2 again at e5 is not counted.
    expectHistogram(
      c.leadTime.first_commit,
      LEAD_TIME_BUCKETS,
      [5, 2.5, 20, 24].map((h) => h * 3600),
    );
    expectHistogram(
      c.leadTime.pull_request,
      LEAD_TIME_BUCKETS,
      [3, 2.5, 19, 12].map((h) => h * 3600),
    );
    // e2 → e3: 30 min; e4 → r1: 2 h; OPS-2 opened → resolved: 24 h.
    expectHistogram(c.recoveryTime.failed, RECOVERY_TIME_BUCKETS, [30 * 60]);
    expectHistogram(c.recoveryTime.rolled_back, RECOVERY_TIME_BUCKETS, [2 * 3600]);
    expectHistogram(c.recoveryTime.incident, RECOVERY_TIME_BUCKETS, [24 * 3600]);
    // web: one deployment, its own change c1 (a key of another service), no incident queries.
    expect(state.counters[web]!.deployments).toEqual({ successful: 1, failed: 0, rollback: 0 });
    expect(state.counters[web]!.outcomes.none).toBe(1);
    expectHistogram(state.counters[web]!.leadTime.first_commit, LEAD_TIME_BUCKETS, [D / 1000]);
    // The staging deployment matches no production environment.
    expect(report.unmatched).toEqual({ events: 1 });
    expect(state.incidents['prod:OPS-1']).toEqual({ createdMs: t1 + 2 * D, attributed: false });
  });

  it('settles a deployment before the quarter boundary by an incident after it, in the next quarter', () => {
    const state = emptyDeliveryState();
    foldAt(state, Q3 - 1);
    // At the end of Q2, e5 (4 h old) is not settled: its day is open.
    expect(state.counters[api]!.outcomes).toEqual({ none: 2, failed: 1, rolled_back: 1, incident: 0 });
    expect(state.deployments.find((d) => d.id === 'events:e5')!.settled).toBeUndefined();
    foldAt(state, Q3 + 6 * H);
    expect(state.counters[api]!.outcomes.incident).toBe(1);
    expect(state.deployments.find((d) => d.id === 'events:e5')!.settled).toEqual({ outcome: 'incident', atMs: B + 6 * H });
    // Recovery only once OPS-2 is resolved (B + 30 h).
    expect(state.counters[api]!.recoveryTime.incident.count).toBe(0);
    foldAt(state, B + 30 * H);
    expect(state.counters[api]!.recoveryTime.incident.count).toBe(1);
  });

  it('waits for a late incidents feed instead of settling without it', () => {
    const state = emptyDeliveryState();
    // Jira's feed is complete only up to just before e5's window closes: e5 stays open although its day is over.
    foldAt(state, B + 2 * D, { incidentsComplete: B + D - M });
    expect(state.deployments.find((d) => d.id === 'events:e5')!.settled).toEqual({ outcome: 'incident', atMs: B + 6 * H });
    const s2 = emptyDeliveryState();
    foldDelivery(s2, [feeds(B + 2 * D)[0]!, { version: 1, origin: 'jira', incidents: { prod: { completeMs: B + D - M, items: [] } } }], B + 2 * D, SETTINGS);
    expect(s2.deployments.find((d) => d.id === 'events:e5')!.settled).toBeUndefined();
    // Without any Jira feed, nothing of api settles as `none`; web, which needs none, does.
    const s3 = emptyDeliveryState();
    const report = foldDelivery(s3, [feeds(B + 2 * D)[0]!], B + 2 * D, SETTINGS);
    expect(s3.counters[api]!.outcomes.none).toBe(0);
    expect(s3.counters[web]!.outcomes.none).toBe(1);
    expect(report.complete['jira:prod']).toBe(-Infinity);
  });

  it('attributes incidents only once the deployments before them are all known', () => {
    const bitbucket: FoldSettings = {
      ...SETTINGS,
      services: [{ name: 'api', team: 'platform', repository: 'api', incidents: ['prod'] }],
      origins: ['bitbucket'],
    };
    const bb = (completeMs: number): DeliveryFeed => ({
      version: 1,
      origin: 'bitbucket',
      deployments: { completeMs, items: [dep('e5', B, { service: undefined, repo: 'api' })].filter((d) => d.finishedMs <= completeMs) },
    });
    const jira: DeliveryFeed = { version: 1, origin: 'jira', incidents: { prod: { completeMs: B + 2 * D, items: INCIDENTS } } };
    const state = emptyDeliveryState();
    // Bitbucket has published up to before e5: OPS-2 (B + 6 h) waits.
    foldDelivery(state, [bb(B - H), jira], B + 2 * D, bitbucket);
    expect(state.incidents['prod:OPS-2']).toBeUndefined();
    foldDelivery(state, [bb(B + 7 * H), jira], B + 2 * D, bitbucket);
    expect(state.incidents['prod:OPS-2']).toEqual({ createdMs: B + 6 * H, attributed: true });
    expect(state.counters[api]!.outcomes.incident).toBe(1);
  });

  it('never lowers a counter and counts nothing twice across refreshes and a restart', () => {
    let state = emptyDeliveryState();
    let previous = JSON.stringify(state.counters);
    const totals = (s: DeliveryState) =>
      Object.values(s.counters).flatMap((c) => [
        ...Object.values(c.deployments),
        ...Object.values(c.outcomes),
        ...Object.values(c.leadTime).map((h) => h.count),
        ...Object.values(c.recoveryTime).map((h) => h.count),
      ]);
    let last = totals(state);
    for (let t = B - 12 * D; t <= B + 3 * D; t += 3 * H) {
      foldAt(state, t);
      const now = totals(state);
      now.forEach((v, i) => expect(v).toBeGreaterThanOrEqual(last[i] ?? 0));
      last = now;
      if (t === B - 4 * D) state = JSON.parse(JSON.stringify(state)) as DeliveryState; // a restart: the checkpoint read back
      previous = JSON.stringify(state.counters);
    }
    const once = emptyDeliveryState();
    foldAt(once, B + 3 * D);
    expect(JSON.parse(previous)).toEqual(once.counters);
  });

  it('counts a backfill from its start, with what came before as context', () => {
    const state = emptyDeliveryState(t4 - H);
    foldAt(state, B + 2 * D);
    const c = state.counters[api]!;
    // Before t4 − 1h: e1, e2, e3 are context. Counted: e4, r1, e5.
    expect(c.deployments).toEqual({ successful: 2, failed: 0, rollback: 1 });
    expect(c.outcomes).toEqual({ none: 0, failed: 0, rolled_back: 1, incident: 1 });
    // c2 was deployed (by e3) before the start: not counted again at e5.
    expect(c.leadTime.first_commit.count).toBe(2);
  });
});
