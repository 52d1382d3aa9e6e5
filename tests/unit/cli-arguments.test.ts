/** Bad command-line arguments exit 2 (bad input) before anything starts; help exits 0. */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = join(resolve(import.meta.dirname, '../..'), 'dist/src/cli/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('command-line arguments', () => {
  it('exit 2 with the reason for an invalid value, an unknown option or command', () => {
    const port = run('serve', '--port', 'abc');
    expect(port.status).toBe(2);
    expect(port.stderr).toContain("argument 'abc' is invalid. must be a port number 0-65535");
    const every = run('demo', '--incident-every', 'soon');
    expect(every.status).toBe(2);
    expect(every.stderr).toContain('must be a duration such as 30s, 10m, 2h, or 0');
    expect(run('demo', '--no-such-option').status).toBe(2);
    expect(run('no-such-command').status).toBe(2);
  });

  it('exit 0 for --help and --version', () => {
    const help = run('demo', '--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--incident-every <duration>');
    expect(run('--version').status).toBe(0);
  });
});
