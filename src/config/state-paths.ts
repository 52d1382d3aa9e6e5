/** Where okr-metrics keeps its own files: checkpoints, caches and the KR ledger. */
import { isAbsolute, join, resolve } from 'node:path';
import type { LoadedConfig } from './load-config.js';

/** `server.state_dir`, resolved against the OKR file's directory. */
export function stateDir(loaded: LoadedConfig): string {
  const dir = loaded.config.server.state_dir;
  return isAbsolute(dir) ? dir : resolve(loaded.baseDir, dir);
}

/** `engine.ledger`, default `<state_dir>/ledger.sqlite`. */
export function ledgerPath(loaded: LoadedConfig): string {
  const file = loaded.config.engine.ledger;
  if (!file) return join(stateDir(loaded), 'ledger.sqlite');
  return isAbsolute(file) ? file : resolve(loaded.baseDir, file);
}
