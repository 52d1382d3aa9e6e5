import type { AnySourcePlugin } from '../core/source.js';
import { formatIssue } from './config-error.js';
import { loadConfig } from './load-config.js';
import { enabledSources } from './okr-schema.js';

export interface CheckResult {
  objectives: number;
  keyResults: number;
  sources: string[];
  /** `file:line:col: path: message` lines of problems that leave the file valid. */
  warnings: string[];
}

/** Validate the file; throws ConfigError with every problem. */
export function runCheck(file: string, opts: { sources?: readonly AnySourcePlugin[] } = {}): CheckResult {
  const { config, sources, warnings } = loadConfig(file, opts);
  return {
    objectives: config.objectives.length,
    keyResults: config.objectives.reduce((n, o) => n + o.key_results.length, 0),
    sources: enabledSources(config, sources),
    warnings: warnings.map(formatIssue),
  };
}
