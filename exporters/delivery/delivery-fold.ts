/**
 * The join behind the four DORA keys, folded in one instant at a time: deployments (from every
 * origin) and incidents (from Jira's incident queries) in the delivery feeds become counters and
 * histograms that only ever grow. Each record is counted once across refreshes and restarts:
 * what was counted and settled lives in the state (delivery-state.ts), and a fold is a pure
 * function of (state, feeds, instant). The live collector folds at "now"; the backfill folds at
 * every instant something happens, with the same code.
 *
 * Per production stream (a service in one of its production environments):
 * - A deployment is counted when it finishes: successful, failed, or rollback (a successful
 *   deployment of an earlier release). A successful deployment that is not a rollback observes
 *   the lead time of each change it brought, counted once per service.
 * - A deployment (rollbacks aside) is settled once: `failed` when it failed; `rolled_back` when
 *   a rollback undid it within the change failure window; `incident` when an incident of one of
 *   its service's incident queries was opened within the window after it and it was the latest
 *   deployment of those services before the incident; `none` when the window closed without
 *   either. It is settled at the failure's instant, or at the window's end.
 * - A failure observes its recovery time once: a failed deployment until the next successful
 *   deployment of the stream, a rolled-back one until the rollback, an incident from its opening
 *   until its resolution; at the recovery's instant.
 * Nothing is settled on missing information: `none` waits until every feed the stream needs is
 * complete past the window's end, an incident is attributed only once the deployments before it
 * are all known.
 */
import type { DeliveryFeed, FeedDeployment, FeedIncident } from '../../src/core/delivery-feed.js';
import type { DeliveryOrigin } from './config.js';
import {
  DEPLOYMENT_OUTCOMES,
  DEPLOYMENT_STATUSES,
  FAILURE_CAUSES,
  LEAD_TIME_BUCKETS,
  LEAD_TIME_FROM,
  RECOVERY_TIME_BUCKETS,
  type DeploymentOutcome,
  type DeploymentStatus,
  type FailureCause,
  type LeadTimeFrom,
} from './metrics.js';

/** Per-bucket (not cumulative) counts; the last slot is +Inf. */
export interface HistogramState {
  buckets: number[];
  sum: number;
  count: number;
}

export interface StreamCounters {
  deployments: Record<DeploymentStatus, number>;
  outcomes: Record<DeploymentOutcome, number>;
  leadTime: Record<LeadTimeFrom, HistogramState>;
  recoveryTime: Record<FailureCause, HistogramState>;
}

export interface DeploymentRecord {
  /** `<origin>:<key>`. */
  id: string;
  stream: string;
  finishedMs: number;
  status: 'successful' | 'failed';
  rollback: boolean;
  /** Finished before counting started (a backfill's range): context for the join, never counted. */
  context?: boolean;
  settled?: { outcome: DeploymentOutcome; atMs: number };
  /** A failure waiting for its recovery: until the next success, or the incident's resolution. */
  awaiting?: 'success' | 'resolution';
  /** The incident that failed it (`<query>:<key>`). */
  incident?: string;
  /** A rollback whose undone deployment has been looked for. */
  undone?: boolean;
}

export interface DeliveryState {
  version: 1;
  /** Deployments finished before this instant are context only (a backfill counts from its range's start). */
  sinceMs?: number;
  deployments: DeploymentRecord[];
  /** Counted changes per service: key → when its deployment finished (ms), so a change redeployed is counted once. */
  changes: Record<string, Record<string, number>>;
  /** Incidents looked at (`<query>:<key>` → opened ms), attributed to a deployment or not. */
  incidents: Record<string, { createdMs: number; attributed: boolean }>;
  counters: Record<string, StreamCounters>;
}

export interface Stream {
  service: string;
  environment: string;
  team: string;
}

export interface FoldSettings {
  services: Array<{ name: string; team: string; repository: string; incidents: string[] }>;
  /** Production environments as configured (their spelling is the label). */
  environments: string[];
  origins: readonly DeliveryOrigin[];
  windowMs: number;
}

/** Records older than this (and done with) are dropped from the state; their counts stay. */
export const RETENTION_MS = 400 * 86_400_000;

export function streamKey(service: string, environment: string): string {
  return `${service}\u0000${environment}`;
}

export function parseStreamKey(key: string): { service: string; environment: string } {
  const [service, environment] = key.split('\u0000') as [string, string];
  return { service, environment };
}

export function emptyHistogram(bounds: readonly number[]): HistogramState {
  return { buckets: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
}

function observe(h: HistogramState, bounds: readonly number[], seconds: number): void {
  const v = Math.max(0, seconds);
  let i = bounds.findIndex((b) => v <= b);
  if (i === -1) i = bounds.length;
  h.buckets[i] = (h.buckets[i] ?? 0) + 1;
  h.sum += v;
  h.count += 1;
}

function emptyCounters(): StreamCounters {
  const zero = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  return {
    deployments: zero(DEPLOYMENT_STATUSES),
    outcomes: zero(DEPLOYMENT_OUTCOMES),
    leadTime: Object.fromEntries(LEAD_TIME_FROM.map((f) => [f, emptyHistogram(LEAD_TIME_BUCKETS)])) as Record<LeadTimeFrom, HistogramState>,
    recoveryTime: Object.fromEntries(FAILURE_CAUSES.map((c) => [c, emptyHistogram(RECOVERY_TIME_BUCKETS)])) as Record<FailureCause, HistogramState>,
  };
}

export function emptyDeliveryState(sinceMs?: number): DeliveryState {
  return { version: 1, ...(sinceMs !== undefined ? { sinceMs } : {}), deployments: [], changes: {}, incidents: {}, counters: {} };
}

/** The production streams of the settings, in a stable order (every one exported from the start, at zero). */
export function streamsOf(s: FoldSettings): Stream[] {
  return s.services.flatMap((svc) => s.environments.map((environment) => ({ service: svc.name, environment, team: svc.team })));
}

export interface FoldReport {
  /** Feed deployments that match no configured service and production environment, by origin. */
  unmatched: Record<string, number>;
  /** Up to when each feed the join needs is complete (ms), by `<origin>` or `<origin>:<query>`; -Infinity when missing. */
  complete: Record<string, number>;
}

const byTime = (a: DeploymentRecord, b: DeploymentRecord) => a.finishedMs - b.finishedMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Fold everything the feeds say happened at or before `asOf` into `state`. */
export function foldDelivery(state: DeliveryState, feeds: readonly DeliveryFeed[], asOf: number, s: FoldSettings): FoldReport {
  const report: FoldReport = { unmatched: Object.fromEntries(s.origins.map((o) => [o, 0])), complete: {} };
  for (const st of streamsOf(s)) state.counters[streamKey(st.service, st.environment)] ??= emptyCounters();
  const byRepo = new Map(s.services.map((x) => [x.repository, x.name]));
  const byName = new Map(s.services.map((x) => [x.name, x.name]));
  const envOf = new Map(s.environments.map((e) => [e.toLowerCase(), e]));

  // Completeness: the events posted to serve are as complete as the clock; a feed not there is not complete at all.
  let depComplete = asOf;
  for (const origin of s.origins) {
    const feed = feeds.find((f) => f.origin === origin);
    const c = origin === 'events' ? asOf : Math.min(asOf, feed?.deployments?.completeMs ?? -Infinity);
    report.complete[origin] = c;
    depComplete = Math.min(depComplete, c);
  }
  const jira = feeds.find((f) => f.origin === 'jira');
  const queries = [...new Set(s.services.flatMap((x) => x.incidents))].sort();
  const incComplete = new Map<string, number>();
  for (const q of queries) {
    const c = Math.min(asOf, jira?.incidents?.[q]?.completeMs ?? -Infinity);
    incComplete.set(q, c);
    report.complete[`jira:${q}`] = c;
  }

  // 1. Deployments that finished by now, counted once each.
  const known = new Set(state.deployments.map((d) => d.id));
  const arriving: Array<{ d: FeedDeployment; origin: string; stream: string; service: string }> = [];
  for (const origin of s.origins) {
    const feed = feeds.find((f) => f.origin === origin);
    for (const d of feed?.deployments?.items ?? []) {
      const service =
        origin === 'bitbucket' ? (d.repo !== undefined ? byRepo.get(d.repo) : undefined) : d.service !== undefined ? byName.get(d.service) : undefined;
      const env = envOf.get(d.environment.toLowerCase());
      if (service === undefined || env === undefined) {
        report.unmatched[origin] = (report.unmatched[origin] ?? 0) + 1;
        continue;
      }
      // Older than the state keeps: it may have been counted and pruned already.
      if (d.finishedMs > asOf || d.finishedMs < asOf - RETENTION_MS || known.has(`${origin}:${d.key}`)) continue;
      arriving.push({ d, origin, stream: streamKey(service, env), service });
    }
  }
  arriving.sort((a, b) => a.d.finishedMs - b.d.finishedMs || (a.d.key < b.d.key ? -1 : 1));
  for (const { d, origin, stream, service } of arriving) {
    const rec: DeploymentRecord = { id: `${origin}:${d.key}`, stream, finishedMs: d.finishedMs, status: d.status, rollback: d.rollback };
    known.add(rec.id);
    state.deployments.push(rec);
    const seen = (state.changes[service] ??= {});
    if (state.sinceMs !== undefined && d.finishedMs < state.sinceMs) {
      rec.context = true;
      for (const c of d.changes ?? []) seen[c.key] ??= d.finishedMs;
      continue;
    }
    const counters = (state.counters[stream] ??= emptyCounters());
    counters.deployments[d.status === 'failed' ? 'failed' : d.rollback ? 'rollback' : 'successful'] += 1;
    if (d.status === 'successful' && !d.rollback) {
      for (const c of d.changes ?? []) {
        if (seen[c.key] !== undefined) continue;
        seen[c.key] = d.finishedMs;
        observe(counters.leadTime.first_commit, LEAD_TIME_BUCKETS, (d.finishedMs - c.firstCommitMs) / 1000);
        observe(counters.leadTime.pull_request, LEAD_TIME_BUCKETS, (d.finishedMs - (c.pullRequestMs ?? c.firstCommitMs)) / 1000);
      }
    }
    if (d.status === 'failed' && !d.rollback) {
      settle(state, rec, 'failed', d.finishedMs);
      rec.awaiting = 'success';
    }
  }
  state.deployments.sort(byTime);
  const streams = new Map<string, DeploymentRecord[]>();
  for (const d of state.deployments) {
    let list = streams.get(d.stream);
    if (!list) streams.set(d.stream, (list = []));
    list.push(d);
  }

  // 2. Rollbacks: each undoes the deployment whose release was running (a stack: a second
  // rollback undoes the one before). Only once every deployment before it is known.
  for (const list of streams.values()) {
    const running: DeploymentRecord[] = [];
    for (const d of list) {
      if (d.status !== 'successful') continue;
      if (!d.rollback) {
        running.push(d);
        continue;
      }
      const undone = running.pop();
      if (d.undone || d.finishedMs > depComplete) continue;
      d.undone = true;
      if (!undone || undone.context || d.context || undone.settled) continue;
      if (d.finishedMs - undone.finishedMs > s.windowMs) continue;
      settle(state, undone, 'rolled_back', d.finishedMs);
      recover(state, undone, 'rolled_back', d.finishedMs - undone.finishedMs);
    }
  }

  // 3. Failed deployments recover at the next successful deployment of their stream.
  for (const list of streams.values()) {
    for (let i = 0; i < list.length; i++) {
      const f = list[i]!;
      if (f.awaiting !== 'success') continue;
      const next = list.slice(i + 1).find((x) => x.status === 'successful');
      if (!next || next.finishedMs > depComplete) continue;
      recover(state, f, 'failed', next.finishedMs - f.finishedMs);
      delete f.awaiting;
    }
  }

  // 4. Incidents: attributed to the latest deployment (not a rollback) of the services that list
  // the query, when it finished within the window before the incident was opened.
  for (const q of queries) {
    const section = jira?.incidents?.[q];
    const candidates = new Set(s.services.filter((x) => x.incidents.includes(q)).flatMap((x) => s.environments.map((e) => streamKey(x.name, e))));
    for (const inc of section?.items ?? []) {
      if (inc.createdMs > asOf || inc.createdMs < asOf - RETENTION_MS) continue;
      const id = `${q}:${inc.key}`;
      const seen = state.incidents[id];
      if (seen) {
        if (seen.attributed) resolveIncident(state, id, inc, asOf);
        continue;
      }
      if (depComplete < inc.createdMs) continue;
      let latest: DeploymentRecord | undefined;
      for (const d of state.deployments) {
        if (d.finishedMs >= inc.createdMs) break;
        if (candidates.has(d.stream) && d.status === 'successful' && !d.rollback) latest = d;
      }
      const attributed = latest !== undefined && !latest.context && !latest.settled && inc.createdMs - latest.finishedMs <= s.windowMs;
      state.incidents[id] = { createdMs: inc.createdMs, attributed };
      if (!attributed) continue;
      settle(state, latest!, 'incident', inc.createdMs);
      latest!.incident = id;
      latest!.awaiting = 'resolution';
      resolveIncident(state, id, inc, asOf);
    }
  }

  // 5. No failure: the window closed, and every feed the stream needs covers it.
  const needs = new Map(s.services.map((x) => [x.name, x.incidents]));
  for (const d of state.deployments) {
    if (d.settled || d.context || d.rollback || d.status !== 'successful') continue;
    const end = d.finishedMs + s.windowMs;
    if (end > asOf || end > depComplete) continue;
    const service = parseStreamKey(d.stream).service;
    if ((needs.get(service) ?? []).some((q) => (incComplete.get(q) ?? -Infinity) < end)) continue;
    settle(state, d, 'none', end);
  }

  prune(state, asOf);
  return report;
}

function settle(state: DeliveryState, d: DeploymentRecord, outcome: DeploymentOutcome, atMs: number): void {
  d.settled = { outcome, atMs };
  const c = (state.counters[d.stream] ??= emptyCounters());
  c.outcomes[outcome] += 1;
}

function recover(state: DeliveryState, d: DeploymentRecord, cause: FailureCause, ms: number): void {
  const c = (state.counters[d.stream] ??= emptyCounters());
  observe(c.recoveryTime[cause], RECOVERY_TIME_BUCKETS, ms / 1000);
}

function resolveIncident(state: DeliveryState, id: string, inc: FeedIncident, asOf: number): void {
  if (inc.resolvedMs === undefined || inc.resolvedMs > asOf) return;
  const d = state.deployments.find((x) => x.incident === id && x.awaiting === 'resolution');
  if (!d) return;
  recover(state, d, 'incident', inc.resolvedMs - inc.createdMs);
  delete d.awaiting;
}

function prune(state: DeliveryState, asOf: number): void {
  const cut = asOf - RETENTION_MS;
  state.deployments = state.deployments.filter((d) => d.finishedMs >= cut);
  for (const [service, keys] of Object.entries(state.changes)) {
    for (const [k, ms] of Object.entries(keys)) if (ms < cut) delete keys[k];
    if (Object.keys(keys).length === 0) delete state.changes[service];
  }
  for (const [id, inc] of Object.entries(state.incidents)) if (inc.createdMs < cut) delete state.incidents[id];
}

/**
 * Every instant at which a fold over these feeds can change the state: deployments finishing,
 * incidents opening and resolving, windows closing. The backfill folds at each.
 */
export function changeInstants(feeds: readonly DeliveryFeed[], s: FoldSettings): number[] {
  const out: number[] = [];
  for (const f of feeds) {
    if (s.origins.includes(f.origin as DeliveryOrigin))
      for (const d of f.deployments?.items ?? []) {
        out.push(d.finishedMs);
        if (d.status === 'successful') out.push(d.finishedMs + s.windowMs);
      }
    for (const section of Object.values(f.incidents ?? {}))
      for (const i of section.items) {
        out.push(i.createdMs);
        if (i.resolvedMs !== undefined) out.push(i.resolvedMs);
      }
  }
  return out;
}
