/**
 * The demo's SonarQube Server: projects topups-api and admin-portal of okrs.example.yaml, main
 * branch, one analysis a day back to the start of the previous quarter (what the backfill
 * reads from search_history), and every few minutes of wall time a new analysis with a small
 * coverage move while the demo runs.
 *
 * Coverage follows the world's trend (src/demo/demo-world.ts), which Bitbucket's Code Insights
 * coverage follows too.
 */
import type { FakeAnalysis, FakeBranch, FakeProject, FakeSonarState } from './fake-sonarqube.js';
import { formatSonarDate } from '../sonarqube-client.js';
import type { SimulationWorld } from '../../../src/core/simulation.js';
import { Random } from '../../../src/core/random.js';

export const DEMO_SONAR_TOKEN = 'demo-sonar-token';

/**
 * `state` is what startFakeSonarqube takes. The fake copies the top-level object, so tick()
 * changes the project and branch objects in place, never replaces `state.projects`.
 */
export interface DemoSonarqube {
  state: FakeSonarState;
  tick(nowMs: number): void;
}

export type DemoProjectKey = 'topups-api' | 'admin-portal';

interface Profile {
  key: DemoProjectKey;
  name: string;
  /** Lines of code at the anchor quarter start, and growth per day. */
  ncloc: number;
  nclocPerDay: number;
  codeSmells: number;
  codeSmellsPerDay: number;
  bugs: [number, number];
  vulnerabilities: [number, number];
  hotspots: [number, number];
  duplicated: [number, number];
  /** New-code coverage range; the gate fails under 80 %, as the fake's condition says. */
  newCoverage: [number, number];
}

const PROFILES: readonly Profile[] = [
  {
    key: 'topups-api',
    name: 'Topups API',
    ncloc: 41_800,
    nclocPerDay: 38,
    codeSmells: 342,
    codeSmellsPerDay: -0.4,
    bugs: [2, 7],
    vulnerabilities: [0, 1],
    hotspots: [1, 4],
    duplicated: [2.6, 3.3],
    newCoverage: [77, 95],
  },
  {
    key: 'admin-portal',
    name: 'Admin Portal',
    ncloc: 18_400,
    nclocPerDay: 22,
    codeSmells: 561,
    codeSmellsPerDay: -0.15,
    bugs: [5, 13],
    vulnerabilities: [0, 2],
    hotspots: [3, 8],
    duplicated: [4.4, 5.6],
    newCoverage: [73, 91],
  },
];

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Wall time between analyses while the demo runs. */
const TICK_ANALYSIS_MS: [number, number] = [3 * MINUTE_MS, 6 * MINUTE_MS];
/** Analyses of the last day are all kept; older days keep their last one (bounds the history). */
const KEEP_ALL_MS = DAY_MS;
/** A demo paused for longer than this resumes without replaying every missed analysis. */
const MAX_CATCH_UP_MS = 30 * MINUTE_MS;
/** Compacting reads every date of the history: hourly is often enough. */
const COMPACT_EVERY_MS = 60 * MINUTE_MS;

const fixed1 = (v: number) => v.toFixed(1);

/** One analysis of `p` at `atMs`, its measures drawn from `rnd` around the trends. */
function analysis(p: Profile, world: SimulationWorld, anchorStart: number, atMs: number, rnd: Random): FakeAnalysis {
  const days = (atMs - anchorStart) / DAY_MS;
  const coverage = world.coverage(p.key, atMs) + rnd.between(-0.25, 0.25);
  const newCoverage = rnd.between(...p.newCoverage);
  const codeSmells = Math.max(0, Math.round(p.codeSmells + p.codeSmellsPerDay * days + rnd.int(-6, 6)));
  const values: Record<string, string> = {
    coverage: fixed1(coverage),
    new_coverage: fixed1(newCoverage),
    duplicated_lines_density: fixed1(rnd.between(...p.duplicated)),
    bugs: String(rnd.int(...p.bugs)),
    vulnerabilities: String(rnd.int(...p.vulnerabilities)),
    code_smells: String(codeSmells),
    security_hotspots: String(rnd.int(...p.hotspots)),
    ncloc: String(Math.round(p.ncloc + p.nclocPerDay * days + rnd.int(-40, 40))),
    // Minutes of remediation effort, about 9 per code smell.
    sqale_index: String(Math.round(codeSmells * rnd.between(8.5, 9.5))),
    alert_status: newCoverage >= 80 ? 'OK' : 'ERROR',
  };
  return { date: formatSonarDate(new Date(atMs)), values };
}

/** Set the branch's current measures, gate and analysis date from its latest analysis. */
function showLatest(branch: FakeBranch): void {
  const last = branch.history!.at(-1)!;
  const { alert_status, ...measures } = last.values;
  branch.measures = measures;
  branch.gate = alert_status === 'OK' ? 'OK' : 'ERROR';
  branch.analysisDate = last.date;
}

/**
 * Keep every analysis of the last day and the last one of each older day, back to the start of
 * the quarter before `nowMs`'s (plus the last one before it: the value at that start).
 */
function compact(history: FakeAnalysis[], nowMs: number, world: SimulationWorld): FakeAnalysis[] {
  const from = world.quarter(nowMs).previous.start;
  const out: FakeAnalysis[] = [];
  for (let i = 0; i < history.length; i++) {
    const t = Date.parse(history[i]!.date);
    const next = history[i + 1];
    const nextT = next ? Date.parse(next.date) : Infinity;
    if (nextT <= from) continue;
    const sameDayAsNext = Math.floor(t / DAY_MS) === Math.floor(nextT / DAY_MS);
    if (sameDayAsNext && t < nowMs - KEEP_ALL_MS) continue;
    out.push(history[i]!);
  }
  return out;
}

export function demoSonarqube(nowMs: number, world: SimulationWorld, seed = 1): DemoSonarqube {
  const { current, previous } = world.quarter(nowMs);
  const anchorStart = current.start;
  const from = previous.start;
  const firstDay = Math.floor(from / DAY_MS) - 1;
  const lastDay = Math.floor(nowMs / DAY_MS);

  const branches = new Map<DemoProjectKey, FakeBranch>();
  const projects: FakeProject[] = PROFILES.map((p) => {
    const history: FakeAnalysis[] = [];
    for (let day = firstDay; day <= lastDay; day++) {
      const rnd = Random.keyed(seed, 'sonar', p.key, day);
      // The nightly-ish main-branch analysis, somewhere between 09:00 and 19:00 UTC.
      const at = day * DAY_MS + Math.round(rnd.between(9, 19) * 3_600_000);
      if (at <= nowMs) history.push(analysis(p, world, anchorStart, at, rnd));
    }
    const main: FakeBranch = { name: 'main', isMain: true, history };
    showLatest(main);
    branches.set(p.key, main);
    return { key: p.key, name: p.name, branches: [main] };
  });

  const rnd = Random.keyed(seed, 'sonar-tick', nowMs);
  const next = new Map(PROFILES.map((p) => [p.key, nowMs + rnd.between(0.3, 1) * TICK_ANALYSIS_MS[0]]));
  const compactedMs = new Map(PROFILES.map((p) => [p.key, nowMs]));

  return {
    state: { flavor: 'server', token: DEMO_SONAR_TOKEN, projects, periodShape: 'period', unknownMetrics: [] },
    tick(tickMs: number) {
      for (const p of PROFILES) {
        const branch = branches.get(p.key)!;
        let at = Math.max(next.get(p.key)!, tickMs - MAX_CATCH_UP_MS);
        let added = false;
        for (; at <= tickMs; at += rnd.between(...TICK_ANALYSIS_MS)) {
          const lastAt = Date.parse(branch.history!.at(-1)!.date);
          // Analyses are dated to the second: two in one second would share a date.
          if (at - lastAt < 1000) continue;
          branch.history!.push(analysis(p, world, anchorStart, at, rnd));
          added = true;
        }
        next.set(p.key, at);
        if (!added) continue;
        if (tickMs - compactedMs.get(p.key)! >= COMPACT_EVERY_MS) {
          branch.history = compact(branch.history!, tickMs, world);
          compactedMs.set(p.key, tickMs);
        }
        showLatest(branch);
      }
    },
  };
}
