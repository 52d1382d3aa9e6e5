/**
 * What the OKR file names, by kind (service, board, query, project, repo): every configured
 * source's own list (its plugin's `references`) and the teams' lists. Validation checks a key
 * result's references against it; the generators take owners and dashboard variables from it.
 */
import type { AnySourcePlugin, Named, SourceReference } from '../core/source.js';
import type { OwnedKind, Teams } from '../core/teams.js';
import { sourceSettings, type OkrFile } from './okr-schema.js';

/** Which `teams.<team>` list names things of a kind. */
export const TEAM_LIST: Readonly<Record<string, OwnedKind>> = { service: 'services', board: 'jira_boards', project: 'sonar_projects', repo: 'repos' };

export interface KnownNames {
  /** Names from sources' settings (with the team a setting gives), then from teams. */
  names: Array<Named & { fromSource?: boolean; lacking?: (trait: string) => string | undefined }>;
  /** Some configured source discovers them at run time: any name may exist. */
  any: boolean;
  /** A configured source also collects the names teams list (Jira reads boards named only under teams). */
  teamsCollected: boolean;
  /** The sources whose settings name this kind (configured, whether enabled or not). */
  sources: string[];
  fallback?: (name: string, known: readonly string[]) => string;
  /** How a source that names this kind words an unknown name (the first configured one, else the first in the list). */
  unknown?: (name: string, known: readonly string[]) => string;
}

export function knownNames(cfg: OkrFile, plugins: readonly AnySourcePlugin[], teams: Teams = cfg.teams): Map<string, KnownNames> {
  const out = new Map<string, KnownNames>();
  const entry = (kind: string) => {
    let e = out.get(kind);
    if (!e) out.set(kind, (e = { names: [], any: false, teamsCollected: false, sources: [] }));
    return e;
  };
  for (const p of plugins) {
    const settings = sourceSettings(cfg, p.name);
    for (const [kind, ref] of Object.entries(p.references ?? {}) as Array<[string, SourceReference<typeof settings>]>) {
      const e = entry(kind);
      if (!settings) {
        e.fallback ??= (name, known) => ref.unknown(name, known);
        continue;
      }
      e.sources.push(p.name);
      e.unknown ??= (name, known) => ref.unknown(name, known);
      if (ref.teamsCollected) e.teamsCollected = true;
      const names = ref.names(settings);
      if (names === 'any') e.any = true;
      else e.names.push(...names.map((n) => ({ ...n, fromSource: true, lacking: (trait: string) => ref.lacking?.(settings, n.name, trait) })));
    }
  }
  for (const e of out.values()) {
    e.unknown ??= e.fallback;
    delete e.fallback;
  }
  for (const [kind, list] of Object.entries(TEAM_LIST))
    for (const [team, t] of Object.entries(teams)) for (const name of t[list]) entry(kind).names.push({ name: String(name), team });
  return out;
}

/** Every spelling of the known names of a kind. */
export function spellings(k: KnownNames | undefined): Set<string> {
  return new Set((k?.names ?? []).flatMap((n) => [n.name, ...(n.aliases ?? [])]));
}
