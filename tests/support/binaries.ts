/**
 * Real Prometheus tools for tests (Debian packages prometheus, prometheus-alertmanager,
 * victoria-metrics, chromium).
 * A missing binary is an error with the install command, never a silent skip.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary } from '../../src/prometheus-tools.js';

export { freePort } from '../../src/prometheus-tools.js';

const run = promisify(execFile);

/** The Debian package of each binary the tests run (default: the Prometheus ones). */
const PACKAGE_OF: Record<string, string> = {
  'victoria-metrics': 'victoria-metrics',
  vmalert: 'victoria-metrics',
  vmagent: 'victoria-metrics',
  chromium: 'chromium',
};

export function requireBinary(name: string): string {
  const path = findBinary(name);
  if (!path) throw new Error(`${name} is not installed: apt-get install -y ${PACKAGE_OF[name] ?? 'prometheus prometheus-alertmanager'} (see .ci/run)`);
  return path;
}

/** `promtool check metrics` on an exposition text; returns promtool's complaints ('' when clean). */
export async function promtoolCheckMetrics(exposition: string): Promise<string> {
  const promtool = requireBinary('promtool');
  const dir = mkdtempSync(join(tmpdir(), 'okr-promtool-'));
  const file = join(dir, 'metrics.prom');
  writeFileSync(file, exposition);
  try {
    const { stdout, stderr } = await run('sh', ['-c', `"${promtool}" check metrics < "${file}"`]);
    return `${stdout}${stderr}`.trim();
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || String(e);
  }
}
