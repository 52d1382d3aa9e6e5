import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** package.json's version; the file sits two (source) or three (dist) levels up. */
function readVersion(): string {
  for (const p of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(p) as { name?: string; version?: string };
      if (pkg.name === 'okr-metrics' && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return '0.0.0';
}
export const VERSION = readVersion();
