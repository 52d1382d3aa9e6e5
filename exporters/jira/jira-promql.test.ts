/**
 * The labels must make the KR engine's join work: promtool evaluates the documented
 * "points per sprint this quarter" expression on the collector's real output.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.js';
import { JIRA_METRICS } from './metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { fillPlaceholders, storyPointsPerSprintPromql } from '../../src/engine/measures.js';
import { requireBinary } from '../../tests/support/binaries.js';
import type { Snapshot } from '../../src/core/source.js';
import { testContext } from '../testing/collect-context.js';
import { JiraCollector } from './jira-collector.js';
import { startFakeJira, type FakeJira } from './simulator/fake-jira.js';
import { CLOUD_NOW, CLOUD_TOKEN, cloudConfigYaml, cloudDataset } from './testing/jira-dataset.js';
import { fixedClock } from '../../src/core/clock.js';
import { sourceDeps } from '../../src/config/source-deps.js';
import { jiraPlugin } from './plugin.js';

const run = promisify(execFile);
// Q4 2026 in Europe/Berlin: 2026-10-01T00:00+02:00 … 2027-01-01T00:00+01:00.
const Q4_START = 1790805600;
const Q4_END = 1798758000;

let fake: FakeJira;
let dir: string;
let snapshot: Snapshot;

beforeAll(async () => {
  fake = await startFakeJira(cloudDataset());
  dir = mkdtempSync(join(tmpdir(), 'okr-jira-promql-'));
  const loaded = parseConfig(cloudConfigYaml(fake.url), 'okrs.yaml', { env: { JIRA_API_TOKEN: CLOUD_TOKEN } });
  snapshot = await new JiraCollector(sourceDeps(loaded, jiraPlugin, { logger: silentLogger(), stateDir: dir, clock: fixedClock(CLOUD_NOW.getTime()) })).collect(
    testContext(),
  );
});
afterAll(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

function inputSeries(names: string[]): string {
  const lines: string[] = [];
  for (const fam of snapshot.filter((f) => names.includes(f.name)))
    for (const s of fam.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',');
      lines.push(`      - series: '${fam.name}{${labels}}'\n        values: '${s.value}x10'`);
    }
  return lines.join('\n');
}

async function evaluate(expr: string, expected: Array<{ labels: string; value: number }>): Promise<string> {
  const promtool = requireBinary('promtool');
  const file = join(dir, 'test.yaml');
  const samples = expected.map((e) => `          - labels: '${e.labels}'\n            value: ${e.value}`).join('\n');
  writeFileSync(
    file,
    `rule_files: []
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
${inputSeries([JIRA_METRICS.sprintPoints, JIRA_METRICS.sprintCompleteTime, JIRA_METRICS.completedPointsTotal, JIRA_METRICS.closedSprintsTotal])}
    promql_expr_test:
      - expr: '${expr.replace(/'/g, "''")}'
        eval_time: 5m
        exp_samples:
${samples}
`,
  );
  try {
    const { stdout, stderr } = await run(promtool, ['test', 'rules', file]);
    return `${stdout}${stderr}`;
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

/** The shorthand for the quarter, its window the 5 minutes promtool's series have run at eval_time. */
function quarter(): string {
  return fillPlaceholders(storyPointsPerSprintPromql('Platform'), { window: '300s', period_start: String(Q4_START), period_end: String(Q4_END) });
}

describe('PromQL over the Jira metrics', () => {
  it('story_points_per_sprint for this quarter averages the sprints that closed in it: (64 + 66) / 2', async () => {
    expect(await evaluate(quarter(), [{ labels: '{}', value: 65 }])).toContain('SUCCESS');
  });

  it('the documented "> 60 points per sprint this quarter" check holds', async () => {
    const expr = `${quarter()} > 60`;
    expect(await evaluate(expr, [{ labels: '{}', value: 65 }])).toContain('SUCCESS');
  });

  it('the counters give the all-time average completed points per sprint: 186 / 5', async () => {
    const expr = `${JIRA_METRICS.completedPointsTotal}{board="Platform"} / ${JIRA_METRICS.closedSprintsTotal}{board="Platform"}`;
    expect(await evaluate(expr, [{ labels: '{board="Platform",team="platform"}', value: 37.2 }])).toContain('SUCCESS');
  });
});
