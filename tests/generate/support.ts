/** Shared helpers of the generate tests: generate the example into a temp dir, run promtool. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import { generate, PATHS, type Generated } from '../../src/generate/generate.js';
import type { AlertingRule, RuleFile } from '../../src/generate/rule-types.js';
import { writeFiles } from '../../src/generate/write-files.js';
import { requireBinary } from '../support/binaries.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const EXAMPLE = join(REPO_ROOT, 'okrs.example.yaml');

/** The example generated into a fresh temp dir. */
export function generateExample(): { dir: string; generated: Generated } {
  const generated = generate(loadConfig(EXAMPLE, { env: {} }));
  const dir = mkdtempSync(join(tmpdir(), 'okr-generate-'));
  writeFiles(dir, generated.files);
  return { dir, generated };
}

export function promtool(args: string[]): { status: number; output: string } {
  const r = spawnSync(requireBinary('promtool'), args, { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** The generated rule files as `promtool test rules` gets them, written into `dir` (see the comments inside). */
export function writeRulesUnderTest(dir: string): string[] {
  // promtool compares annotations exactly; templated annotations are checked by `check rules`,
  // so the copy under test drops them and the comparison is about labels, expr and for.
  const stripped = parse(readFileSync(join(dir, PATHS.alertRules), 'utf8')) as RuleFile<Partial<AlertingRule>>;
  for (const g of stripped.groups) for (const r of g.rules) delete r.annotations;
  writeFileSync(join(dir, 'alerts-under-test.yml'), stringify(stripped));
  // promtool test runs with a 10,000-sample query limit; the rolling-quarter KR group (subqueries
  // over 90 days, evaluated every 5m, feeding no alert) is left out here and checked by
  // `check rules` and by the real Prometheus in tests/integration.
  const recording = parse(readFileSync(join(dir, PATHS.recordingRules), 'utf8')) as RuleFile<unknown>;
  recording.groups = recording.groups.filter((g) => g.name !== 'okr-key-results');
  writeFileSync(join(dir, 'recording-under-test.yml'), stringify(recording));
  return [join(dir, 'recording-under-test.yml'), join(dir, 'alerts-under-test.yml')];
}
