/**
 * `okr-metrics logs` on a small fixture: the exposition equals the committed golden file
 * (refresh with UPDATE_GOLDEN=1) and `promtool check metrics` finds nothing to complain about.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runLogs } from '../../src/logs/logs-command.js';
import { promtoolCheckMetrics } from '../../tests/support/binaries.js';

const dir = join(import.meta.dirname, 'testdata');
const fixture = join(dir, 'access-small.txt');
const golden = join(dir, 'one-shot.golden.prom');

describe('okr-metrics logs (one-shot)', () => {
  it('prints the golden exposition for the fixture log, and promtool finds it clean', async () => {
    const r = await runLogs([fixture], { service: 'topups-api', routes: ['/v1/operators/:id/fx-rate'] });
    expect(r.failed).toEqual([]);
    expect([r.lines, r.requests]).toEqual([13, 11]);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, r.exposition);
    expect(r.exposition).toBe(readFileSync(golden, 'utf8'));
    expect(await promtoolCheckMetrics(r.exposition)).toBe('');
  });

  it('reports a missing file and still counts the others', async () => {
    const r = await runLogs([join(dir, 'no-such.log'), fixture]);
    expect(r.failed).toEqual([{ file: join(dir, 'no-such.log'), error: 'ENOENT' }]);
    expect(r.requests).toBe(11);
  });

  it('refuses options that do not describe a format', async () => {
    await expect(runLogs([fixture], { logFormat: '$request $bytes_sent' })).rejects.toThrow('--log-format: log_format needs $status');
    await expect(runLogs([fixture], { format: 'regex' })).rejects.toThrow('--regex: format regex needs a regex with named groups');
    await expect(runLogs([fixture], { format: 'regex', regex: '(?<status>\\d+)' })).rejects.toThrow('--regex: regex needs a named group (?<path>...)');
    await expect(runLogs([fixture], { format: 'combined', logFormat: '$status "$request"' })).rejects.toThrow(
      '--log-format: log_format goes with format nginx; format combined is a preset with its own (drop one of them)',
    );
    await expect(runLogs([fixture], { format: 'nginx_combined' as 'nginx' })).rejects.toThrow(
      '--format: must be one of combined_rt, combined, apache_common, apache_combined, json, nginx, regex',
    );
  });
});
