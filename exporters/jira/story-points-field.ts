/**
 * Which field holds story points. Ids are site-specific (customfield_10016 on many Cloud
 * sites, anything on others), so they are discovered, never assumed.
 */
import type { BoardConfiguration, JiraField } from './jira-api.js';

export interface PointsField {
  id: string;
  /** Name shown in changelogs on Data Center, where items carry no fieldId. */
  name?: string;
  /** How it was found, for logs and docs. */
  origin: 'config' | 'board' | 'schema' | 'name';
}

const STORY_POINTS_SCHEMA = /:jsw-story-points$/;
const STORY_POINTS_NAMES = ['story point estimate', 'story points'];

/** The board's own estimation field (what its velocity chart sums), if it uses a field. */
export function boardEstimationField(conf: BoardConfiguration): PointsField | undefined {
  const est = conf.estimation;
  if (est?.type !== 'field' || !est.field?.fieldId) return undefined;
  return { id: est.field.fieldId, name: est.field.displayName, origin: 'board' };
}

/** Site-wide discovery from /field: the jsw-story-points schema first, then the usual names. */
export function discoverPointsField(fields: JiraField[]): PointsField | undefined {
  const bySchema = fields.find((f) => STORY_POINTS_SCHEMA.test(f.schema?.custom ?? ''));
  if (bySchema) return { id: bySchema.id, name: bySchema.name, origin: 'schema' };
  for (const wanted of STORY_POINTS_NAMES) {
    const byName = fields.find((f) => f.name.trim().toLowerCase() === wanted);
    if (byName) return { id: byName.id, name: byName.name, origin: 'name' };
  }
  return undefined;
}

/** A configured id; its name, needed for Data Center changelogs, is looked up when a sprint is replayed. */
export function configuredField(id: string): PointsField {
  return { id, origin: 'config' };
}

/** Story points on an issue: a JSON number, or null/absent when unestimated. */
export function pointsOf(fields: Record<string, unknown>, fieldId: string): number {
  const v = fields[fieldId];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
