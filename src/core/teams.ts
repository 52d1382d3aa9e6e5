/**
 * The OKR file's `teams`: which Jira boards, repositories, SonarQube projects and API services
 * each team owns. Every source puts the owner in a bounded `team` label.
 */
import { z } from 'zod';

export const Team = z.strictObject({
  jira_boards: z.array(z.union([z.string(), z.number()])).default([]),
  repos: z.array(z.string()).default([]),
  sonar_projects: z.array(z.string()).default([]),
  services: z.array(z.string()).default([]),
});
export type Team = z.infer<typeof Team>;
export type Teams = Record<string, Team>;

/** What a team may own, by the key of its list in `teams.<team>`. */
export type OwnedKind = keyof Team;

/** The first team whose `kind` list holds `name` (compared as text); '' when none. */
export function ownerOf(teams: Teams, kind: OwnedKind, name: string | number): string {
  for (const [team, t] of Object.entries(teams)) if (t[kind].some((x) => String(x) === String(name))) return team;
  return '';
}
