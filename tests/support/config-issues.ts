import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/load-config.js';

/** The lines of the ConfigError an OKR file's text raises (`okrs.yaml:line:col: …`), none when it loads. */
export function issuesOf(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, 'okrs.yaml', { env });
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  return [];
}
