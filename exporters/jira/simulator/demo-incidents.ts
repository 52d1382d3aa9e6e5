/**
 * The demo's production incidents (project OPS), for the incident query of okrs.example.yaml:
 * about one a week on working days, mostly in the afternoon after a release, resolved after a
 * couple of hours (from minutes to a day); the ones resolved later than now are still open.
 * While the demo runs, one is opened every 30-60 minutes of wall time and resolved 5-30 minutes
 * later, so the change failure rate and the recovery time move.
 */
import { Random } from '../../../src/core/random.js';
import type { FakeIssue, FakeJiraData } from './fake-jira.js';

/** The incident queries of okrs.example.yaml (a test keeps the two equal). */
export const DEMO_INCIDENT_QUERIES = { production_incidents: 'project = OPS AND issuetype = Incident' } as const;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const LIVE_GAP_MS: [number, number] = [30 * MINUTE_MS, 60 * MINUTE_MS];
/** A demo paused for longer than this resumes without replaying every missed incident. */
const MAX_CATCH_UP_MS = 2 * HOUR_MS;

const jiraTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

interface Planned {
  key: string;
  createdMs: number;
  resolvedMs: number;
}

export interface DemoIncidents {
  tick(nowMs: number): void;
}

export function demoIncidents(data: FakeJiraData, fromMs: number, nowMs: number, seed: number): DemoIncidents {
  const jql = DEMO_INCIDENT_QUERIES.production_incidents;
  data.queries[jql] = [];
  let n = 900;
  const planned: Planned[] = [];
  for (let day = Math.floor(fromMs / DAY_MS); day <= Math.floor(nowMs / DAY_MS); day++) {
    const rnd = Random.keyed(seed, 'incident', day);
    if (![1, 2, 3, 4, 5].includes(new Date(day * DAY_MS).getUTCDay()) || !rnd.chance(0.2)) continue;
    const createdMs = Math.round(day * DAY_MS + rnd.between(11.5, 18) * HOUR_MS);
    if (createdMs > nowMs) continue;
    planned.push({
      key: `OPS-${n++}`,
      createdMs,
      resolvedMs: createdMs + Math.round(Math.min(DAY_MS, Math.max(5 * MINUTE_MS, rnd.logNormal(2 * HOUR_MS, 0.9)))),
    });
  }
  const issues = new Map<string, FakeIssue>();
  const open = (p: Planned) => {
    const issue: FakeIssue = {
      id: String(50_000 + Number(p.key.slice(4))),
      key: p.key,
      fields: {
        summary: `Production incident ${p.key}`,
        issuetype: { name: 'Incident' },
        status: { name: 'Open', statusCategory: { key: 'new' } },
        created: jiraTime(p.createdMs),
        resolutiondate: null,
      },
      sprints: [],
    };
    data.issues.push(issue);
    data.queries[jql]!.push(p.key);
    issues.set(p.key, issue);
  };
  const resolve = (p: Planned) => {
    const issue = issues.get(p.key);
    if (!issue) return;
    issue.fields.resolutiondate = jiraTime(p.resolvedMs);
    issue.fields.status = { name: 'Resolved', statusCategory: { key: 'done' } };
  };
  for (const p of planned) {
    open(p);
    if (p.resolvedMs <= nowMs) resolve(p);
  }
  const rnd = Random.keyed(seed, 'incident-tick', nowMs);
  let nextMs = nowMs + rnd.between(0.3, 1) * LIVE_GAP_MS[0];
  return {
    tick(tickMs) {
      for (const p of planned) if (p.resolvedMs <= tickMs && issues.get(p.key)?.fields.resolutiondate === null) resolve(p);
      let at = Math.max(nextMs, tickMs - MAX_CATCH_UP_MS);
      for (; at <= tickMs; at += rnd.between(...LIVE_GAP_MS)) {
        const p = { key: `OPS-${n++}`, createdMs: Math.round(at), resolvedMs: Math.round(at + rnd.between(5, 30) * MINUTE_MS) };
        planned.push(p);
        open(p);
      }
      nextMs = at;
    },
  };
}
