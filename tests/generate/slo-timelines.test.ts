/**
 * Golden timelines of the SLO alerts in real `promtool test rules`, on the rules generated from
 * okrs.example.yaml (topups-api, "> 99%": a 1% error budget), one request count per minute:
 *   A  1,000 req/min, 100% errors for 10 minutes after a clean day: pages, clears soon after;
 *   B  1,000 req/min, 2% errors for 2 hours after a clean day: nothing fires;
 *   C  0.5 req/min (one request every 2 minutes), 1 hour at 100% errors: pages;
 *   D  1,000 req/min, a slow 2% burn for 2 days after 3 clean days: tickets, never pages.
 * The quarter starts with the first minute (the least history there can be to absorb a burn).
 *
 * Expected times come from a plain-arithmetic model of each rule over exact windows (`model`
 * below), computed from the same per-minute counts the input series are built from, never from
 * PromQL; the headline times are also worked out by hand in the comments and asserted equal to
 * the model. promtool must agree within one evaluation interval: the state before a modelled
 * transition is checked two evaluations before it and the new state one evaluation after it,
 * and at every checked instant each alert of the service is checked unless that instant lies
 * within one evaluation of one of its own transitions.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { durationSeconds } from '../../src/core/duration.js';
import { ALERT_NAMES as A, NO_SUCCESS, SLO_BURN_RATE_WINDOWS, SLO_MIN_REQUESTS_LONG_WINDOW } from '../../src/conventions.js';
import type { AlertingRule } from '../../src/generate/rule-types.js';
import { isDerivedWindow } from '../../src/generate/recording-rules.js';
import { generateExample, promtool, writeRulesUnderTest } from './support.js';

let dir: string;
let alerts: AlertingRule[];
let ruleFiles: string[];

beforeAll(() => {
  const g = generateExample();
  dir = g.dir;
  alerts = g.generated.alerts.groups.flatMap((x) => x.rules);
  ruleFiles = writeRulesUnderTest(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SERVICE = 'topups-api';
const OBJECTIVE = 0.99;
const BUDGET = 1 - OBJECTIVE;
/** The quarter the engine series describe: 92 days from minute 0. */
const PERIOD_MINUTES = 92 * 1440;
const KR = { objective: 'move-fast', key_result: 'api-availability', period: '2026-Q3', team: 'platform' };
const BURN: Record<string, string> = {
  'page-fast': A.errorBudgetBurnPageFast,
  'page-slow': A.errorBudgetBurnPageSlow,
  'ticket-fast': A.errorBudgetBurnTicketFast,
  'ticket-slow': A.errorBudgetBurnTicketSlow,
};
/** Every alert generated for the service: what each check covers. */
const SERVICE_ALERTS = [...Object.values(BURN), A.noSuccessfulRequests, A.availabilityBelowTarget];

/** Requests and failed requests arriving in minute m, that is in (m−1, m]; index 0 is the first sample. */
interface Traffic {
  minutes: number;
  requests: number[];
  failed: number[];
}

function traffic(minutes: number, perMinute: (m: number) => [requests: number, failed: number]): Traffic {
  const requests = [0];
  const failed = [0];
  for (let m = 1; m <= minutes; m++) {
    const [r, f] = perMinute(m);
    requests.push(r);
    failed.push(f);
  }
  return { minutes, requests, failed };
}

const minutesOf = (w: string) => durationSeconds(w) / 60;

/** The input series: the two counters and the KR engine's period-to-date figures, one sample a minute. */
function inputSeries(t: Traffic): Array<{ series: string; values: string }> {
  const ok: number[] = [];
  const err: number[] = [];
  const ptd: number[] = [];
  const elapsed: number[] = [];
  let cOk = 0;
  let cErr = 0;
  for (let m = 0; m <= t.minutes; m++) {
    cOk += t.requests[m]! - t.failed[m]!;
    cErr += t.failed[m]!;
    ok.push(cOk);
    err.push(cErr);
    ptd.push(cOk + cErr === 0 ? 1 : cOk / (cOk + cErr));
    elapsed.push(m / PERIOD_MINUTES);
  }
  const sel = (code: string) => `api_requests_total{service="${SERVICE}",route="/v1/topups/:id",code="${code}"}`;
  const kr = Object.entries(KR)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return [
    { series: sel('200'), values: ok.join(' ') },
    { series: sel('500'), values: err.join(' ') },
    { series: `okr_key_result_value{${kr}}`, values: ptd.join(' ') },
    { series: `okr_key_result_expected_progress_ratio{${kr}}`, values: elapsed.join(' ') },
  ];
}

/**
 * The generated rules in plain arithmetic, at evaluation step `step` minutes. Windows shorter than
 * a day are raw counters over (t − w, t]; longer ones are sums of the recorded 5m rates sampled
 * at each evaluation in [t − w, t] (recording-rules.ts), so the model sums exactly those.
 */
function model(t: Traffic, step: number) {
  const cum = (xs: number[]) => xs.reduce<number[]>((acc, x, i) => (acc.push((acc[i - 1] ?? 0) + x), acc), []);
  const cR = cum(t.requests);
  const cF = cum(t.failed);
  const at = (c: number[], m: number) => c[Math.max(0, Math.min(m, t.minutes))]!;
  const raw = (w: number, m: number) => ({ req: at(cR, m) - at(cR, m - w), fail: at(cF, m) - at(cF, m - w) });
  const derived = (w: number, m: number) => {
    let req = 0;
    let fail = 0;
    let n = 0;
    for (let s = m; s >= m - w && s >= 1; s -= step) {
      const r = raw(5, s);
      req += r.req;
      fail += r.fail;
      n++;
    }
    return { req, fail, n };
  };
  const ratio = (w: string, m: number) => {
    const x = isDerivedWindow(w) ? derived(minutesOf(w), m) : raw(minutesOf(w), m);
    return x.fail / x.req; // NaN without requests: no comparison holds, as in PromQL
  };
  /** okr:api_requests:rate<w> × w in seconds: the count itself, or the mean 5m rate times the window. */
  const requestsOver = (w: string, m: number) => {
    if (!isDerivedWindow(w)) return raw(minutesOf(w), m).req;
    const d = derived(minutesOf(w), m);
    return (d.req / d.n) * (minutesOf(w) / 5);
  };
  const conditions: Record<string, (m: number) => boolean> = {};
  for (const w of SLO_BURN_RATE_WINDOWS) {
    const threshold = w.factor * BUDGET;
    conditions[BURN[w.id]!] = (m) => ratio(w.long, m) > threshold && ratio(w.short, m) > threshold && requestsOver(w.long, m) >= SLO_MIN_REQUESTS_LONG_WINDOW;
  }
  conditions[A.noSuccessfulRequests] = (m) => {
    const x = raw(minutesOf(NO_SUCCESS.window), m);
    return x.req >= NO_SUCCESS.minRequests && x.req - x.fail === 0;
  };
  // forecast = elapsed × period-to-date + (1 − elapsed) × availability of the last day
  conditions[A.availabilityBelowTarget] = (m) => {
    const ptd = at(cR, m) === 0 ? 1 : 1 - at(cF, m) / at(cR, m);
    const elapsed = m / PERIOD_MINUTES;
    const recent = 1 - ratio('1d', m);
    const forecast = Number.isNaN(recent) ? ptd : elapsed * ptd + (1 - elapsed) * recent;
    return forecast <= OBJECTIVE;
  };
  const forMinutes = (name: string) => {
    const f = alerts.find((a) => a.alert === name)?.for;
    return f ? minutesOf(f) : 0;
  };
  /** Firing state of each alert at every evaluation, with `for:` as Prometheus applies it. */
  const firing: Record<string, Map<number, boolean>> = {};
  for (const name of SERVICE_ALERTS) {
    const states = new Map<number, boolean>();
    let activeSince: number | undefined;
    for (let m = 0; m <= t.minutes; m += step) {
      if (conditions[name]!(m)) activeSince ??= m;
      else activeSince = undefined;
      states.set(m, activeSince !== undefined && m - activeSince >= forMinutes(name));
    }
    firing[name] = states;
  }
  return firing;
}

interface Transition {
  at: number;
  firing: boolean;
}

function transitions(states: Map<number, boolean>): Transition[] {
  const out: Transition[] = [];
  let prev = false;
  for (const [m, s] of states) {
    if (s !== prev) out.push({ at: m, firing: s });
    prev = s;
  }
  return out;
}

type Firing = Record<string, Map<number, boolean>>;

/** First firing and first clear of one alert in the model: the figures the comments work out by hand. */
function span(firing: Firing, name: string): { fires?: number; clears?: number } {
  const tr = transitions(firing[name]!);
  return { fires: tr.find((x) => x.firing)?.at, clears: tr.find((x) => !x.firing)?.at };
}

function labelsOf(name: string): Record<string, string> {
  const r = alerts.find((a) => a.alert === name)!;
  return name === A.availabilityBelowTarget ? { ...r.labels, period: KR.period } : r.labels;
}

/** Checks around every modelled transition, plus every `every` minutes, each alert where its state is certain. */
function checks(firing: Firing, step: number, horizon: number, every: number) {
  const instants = new Set<number>();
  for (const name of SERVICE_ALERTS)
    for (const tr of transitions(firing[name]!)) {
      instants.add(tr.at - 2 * step);
      instants.add(tr.at + step);
    }
  for (let m = every; m <= horizon; m += every) instants.add(m);
  const out: Array<{ eval_time: string; alertname: string; exp_alerts: Array<{ exp_labels: Record<string, string> }> }> = [];
  for (const m of [...instants].filter((x) => x >= 0 && x <= horizon).sort((a, b) => a - b)) {
    for (const name of SERVICE_ALERTS) {
      const tr = transitions(firing[name]!);
      if (tr.some((x) => m >= x.at - step && m < x.at + step)) continue;
      out.push({ eval_time: `${m}m`, alertname: name, exp_alerts: firing[name]!.get(m) ? [{ exp_labels: labelsOf(name) }] : [] });
    }
  }
  return out;
}

function runPromtool(name: string, step: number, groups: Array<{ name: string; traffic: Traffic; every: number; firing: Firing }>): void {
  const file = join(dir, `${name}.yml`);
  writeFileSync(
    file,
    stringify({
      rule_files: ruleFiles,
      evaluation_interval: `${step}m`,
      tests: groups.map((g) => ({
        name: g.name,
        interval: '1m',
        input_series: inputSeries(g.traffic),
        alert_rule_test: checks(g.firing, step, g.traffic.minutes, g.every),
      })),
    }),
  );
  const r = promtool(['test', 'rules', file]);
  expect(r.output).toContain('SUCCESS');
  expect(r.status, r.output.slice(0, 4000)).toBe(0);
}

const T0 = 1440; // one clean day at the start of the quarter
const OUTAGE = traffic(T0 + 130, (m) => [1000, m > T0 && m <= T0 + 10 ? 1000 : 0]);
const SMALL_BURN = traffic(T0 + 300, (m) => [1000, m > T0 && m <= T0 + 120 ? 20 : 0]);
const QUIET_OUTAGE = traffic(T0 + 480, (m) => {
  const r = m % 2 === 0 ? 1 : 0;
  return [r, m > T0 && m <= T0 + 60 ? r : 0];
});
const D0 = 3 * 1440; // three clean days
const SLOW_BURN = traffic(D0 + 2880 + 1300, (m) => [1000, m > D0 && m <= D0 + 2880 ? 20 : 0]);

describe('SLO alert timelines in promtool (1-minute evaluation)', () => {
  it('A: 100% errors for 10 min at 1,000 req/min page within the workbook detection time and clear 5 min after recovery', () => {
    const f = model(OUTAGE, 1);
    // 14.4 × 1% = 14.4%: the 1h ratio after k failing minutes is k/60, above 0.144 from k = 9
    // (0.144 × 60 = 8.64); the 5m ratio is above it from k = 1. 60,000 requests an hour pass the guard.
    // After recovery at T0+10 the 5m ratio is (5 − j)/5: 20% at j = 4, 0 at j = 5.
    expect(span(f, A.errorBudgetBurnPageFast)).toEqual({ fires: T0 + 9, clears: T0 + 15 });
    // Nothing else: 6h 10/360 = 2.8% < 6%; 1d 10/1440 = 0.7% < 3%; 3d 0.7% < 1%; the no-success
    // window (30m) never passes without a success; the day's availability stays 99.3% > 99%.
    for (const name of SERVICE_ALERTS.filter((n) => n !== A.errorBudgetBurnPageFast)) expect(span(f, name), name).toEqual({});
    runPromtool('timeline-a', 1, [{ name: 'A', traffic: OUTAGE, every: 10, firing: f }]);
  }, 120_000);

  it('B: 2% errors for 2 h after a clean day fire nothing', () => {
    const f = model(SMALL_BURN, 1);
    // 2% is under every threshold's short window: 14.4%, 6%, 3%; the 6h window peaks at
    // 2% × 2/6 = 0.67% < 1%. The KR forecast uses the day's availability: 1 − 2% × 2/24 = 99.83%.
    for (const name of SERVICE_ALERTS) expect(span(f, name), name).toEqual({});
    runPromtool('timeline-b', 1, [{ name: 'B', traffic: SMALL_BURN, every: 15, firing: f }]);
  }, 120_000);

  it('C: a total outage at 0.5 req/min pages (burn rate and no-success), then tickets', () => {
    const f = model(QUIET_OUTAGE, 1);
    // 30 requests an hour (≥ 20, the guard passes). The 1h ratio is failures/30, above 14.4%
    // from the 5th failure (16.7%; 4 = 13.3%), the request of minute T0+10. The 5m window keeps
    // a failure until T0+60 leaves it at T0+65.
    expect(span(f, A.errorBudgetBurnPageFast)).toEqual({ fires: T0 + 10, clears: T0 + 65 });
    // 6h: 180 requests; 11 failures = 6.1% > 6% at T0+22. The 30m window holds 15 requests, one
    // failure is 6.7% > 6%: clear once T0+60 leaves it at T0+90.
    expect(span(f, A.errorBudgetBurnPageSlow)).toEqual({ fires: T0 + 22, clears: T0 + 90 });
    // No success in (t − 30m, t] from T0+30 (the last success is T0's request) to the first success at T0+62.
    expect(span(f, A.noSuccessfulRequests)).toEqual({ fires: T0 + 30, clears: T0 + 62 });
    // The ticket alerts and the KR forecast (a day's availability of 1 − 30/720 = 95.8%) fire too:
    // their times are the model's; the KR ticket stays until the outage leaves the 1d window.
    expect(span(f, A.errorBudgetBurnTicketFast).fires).toBeGreaterThan(T0 + 22);
    expect(span(f, A.availabilityBelowTarget)).toMatchObject({ clears: undefined });
    runPromtool('timeline-c', 1, [{ name: 'C', traffic: QUIET_OUTAGE, every: 10, firing: f }]);
  }, 120_000);
});

describe('SLO alert timelines in promtool (5-minute evaluation, days)', () => {
  it('D: a slow 2% burn for 2 days tickets and never pages', () => {
    // Days of data at a 1-minute evaluation take minutes of promtool; at 5 minutes the recorded
    // 5m rates tile the long windows exactly and the check tolerance is 5 minutes.
    const step = 5;
    const f = model(SLOW_BURN, step);
    // 1× over 3d and 6h: the 3d ratio after k burning minutes is 2% × k/4320, above 1% after
    // k = 2160 (36 h); the derived 3d window holds one more 5m sample (4325 minutes), so
    // 2% × 2160/4325 < 1% and the first evaluation above is k = 2165. After the burn ends at
    // D0+2880 the 6h ratio is 2% × (360 − j)/360, 1% (not above) at j = 180: clear at D0+3060.
    expect(span(f, A.errorBudgetBurnTicketSlow)).toEqual({ fires: D0 + 2165, clears: D0 + 3060 });
    // 2% is under 14.4%, 6% and 3%: no page, no fast ticket.
    for (const name of [A.errorBudgetBurnPageFast, A.errorBudgetBurnPageSlow, A.errorBudgetBurnTicketFast, A.noSuccessfulRequests])
      expect(span(f, name), name).toEqual({});
    // The KR forecast: the day's availability falls to 98% while 3.3% of the quarter has passed,
    // so the forecast crosses 99% about half a day in, and recovers about half a day after.
    const kr = span(f, A.availabilityBelowTarget);
    expect(kr.fires).toBeGreaterThan(D0 + 600);
    expect(kr.fires).toBeLessThan(D0 + 900);
    expect(kr.clears).toBeGreaterThan(D0 + 2880 + 600);
    runPromtool('timeline-d', step, [{ name: 'D', traffic: SLOW_BURN, every: 240, firing: f }]);
  }, 600_000);
});
