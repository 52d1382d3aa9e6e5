import { loadConfig } from '../../config/load-config.js';

export interface CheckResult {
  objectives: number;
  keyResults: number;
  sources: string[];
}

/** Validate the file; throws ConfigError with every problem. */
export function runCheck(file: string): CheckResult {
  const { config } = loadConfig(file);
  return {
    objectives: config.objectives.length,
    keyResults: config.objectives.reduce((n, o) => n + o.key_results.length, 0),
    sources: Object.entries(config.sources)
      .filter(([, v]) => v && (v as { enabled?: boolean }).enabled !== false)
      .map(([k]) => k),
  };
}
