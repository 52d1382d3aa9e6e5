/**
 * `okr-metrics backfill` as a user runs it (the built CLI, like the other CLI tests): summary on
 * stdout, plain progress lines on stderr (not a terminal), exit codes 0, 1 (a source failed) and
 * 2 (bad arguments).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchivedLog } from './backfill-fixtures.js';

const main = join(import.meta.dirname, '../../dist/src/cli/main.js');
let dir: string;

function cli(...args: string[]) {
  return spawnSync(process.execPath, [main, 'backfill', '-c', join(dir, 'okrs.yaml'), '--no-live-check', ...args], { encoding: 'utf8', timeout: 30_000 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'okr-backfill-cli-'));
  const logFile = writeArchivedLog(join(dir, 'logs'));
  writeFileSync(
    join(dir, 'okrs.yaml'),
    `version: okr/v1\nserver:\n  state_dir: ${join(dir, 'state')}\nsources:\n  apilogs:\n    services:\n      - name: topups-api\n        files: ["${logFile}"]\n      - name: gone\n        files: ["${join(dir, 'missing', 'access.log')}"]\nobjectives: []\n`,
  );
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('okr-metrics backfill (CLI)', () => {
  it('exits 1 and says what to fix when a service has no archived log', () => {
    const r = cli(
      '--from',
      '2026-08-20',
      '--to',
      '2026-08-21',
      '--no-blocks',
      '--out',
      join(dir, 'out'),
      '--log-files',
      `topups-api=${join(dir, 'logs', 'access.log*')}`,
      '--log-files',
      `gone=${join(dir, 'missing', '*.log')}`,
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`backfill 2026-08-20T00:00:00.000Z .. 2026-08-20T23:55:00.000Z every 300s into ${join(dir, 'out')}`);
    expect(r.stdout).toContain(
      `apilogs: FAILED: apilogs service gone: no log file matches ${join(dir, 'missing', '*.log')} (give archived logs with --log-files gone=<glob>)`,
    );
    expect(r.stderr).toMatch(/^apilogs +0% +0 requests +FAILED$/m);
  });

  it('writes one file per month and exits 0', () => {
    writeFileSync(
      join(dir, 'okrs.yaml'),
      `version: okr/v1\nserver:\n  state_dir: ${join(dir, 'state')}\nsources:\n  apilogs:\n    services:\n      - name: topups-api\n        files: ["${join(dir, 'logs', 'access.log')}"]\nobjectives: []\n`,
    );
    const r = cli('--from', '2026-08-20', '--to', '2026-08-21', '--no-blocks', '--out', join(dir, 'out'));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^apilogs +100% +0 requests +[\d,]+ lines +done, [\d,]+ samples\n$/);
    expect(r.stdout).toMatch(new RegExp(`^  apilogs: written, [\\d,]+ samples, ${join(dir, 'out', 'apilogs')}$`, 'm'));
    expect(readdirSync(join(dir, 'out', 'apilogs'))).toEqual(['2026-08.om']);
    const again = cli('--from', '2026-08-20', '--to', '2026-08-21', '--no-blocks', '--out', join(dir, 'out'));
    expect(again.stdout).toMatch(/^  apilogs: unchanged, /m);
  });

  it('exits 2 on bad arguments', () => {
    const r = cli('--from', '2026-08-20', '--sources', 'gitlab');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('okr-metrics: --sources gitlab: expected some of jira, sonarqube, bitbucket, apilogs, delivery\n');
    expect(cli().status).not.toBe(0); // --from is required
  });
});
