import type { AnySourcePlugin } from '../core/source.js';
import { loadConfig } from './load-config.js';
import { enabledSources } from './okr-schema.js';

export interface CheckResult {
  objectives: number;
  keyResults: number;
  sources: string[];
}

/** Validate the file; throws ConfigError with every problem. */
export function runCheck(file: string, opts: { sources?: readonly AnySourcePlugin[] } = {}): CheckResult {
  const { config, sources } = loadConfig(file, opts);
  return {
    objectives: config.objectives.length,
    keyResults: config.objectives.reduce((n, o) => n + o.key_results.length, 0),
    sources: enabledSources(config, sources),
  };
}
