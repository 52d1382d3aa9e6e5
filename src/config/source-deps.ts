/** What a source plugin gets from the loaded OKR file: its own settings and the shared context, never the whole file. */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { calendarOf } from '../core/periods.js';
import type { SourceDeps, SourcePlugin, SourceSettings } from '../core/source.js';
import type { LoadedConfig } from './load-config.js';
import { sourceSettings } from './okr-schema.js';

export function sourceDeps<S extends SourceSettings>(
  loaded: LoadedConfig,
  plugin: SourcePlugin<S>,
  o: { stateDir: string; clock: Clock; logger: Logger },
): SourceDeps<S> {
  const settings = sourceSettings(loaded.config, plugin.name);
  if (!settings) throw new Error(`sources.${plugin.name} is not configured`);
  // Parsed by this plugin's own schema when the file was loaded (okrFileSchema).
  return { settings: settings as S, teams: loaded.config.teams, calendar: calendarOf(loaded.config.calendar), baseDir: loaded.baseDir, env: loaded.env, ...o };
}
