import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JIRA_METRICS } from './metrics.js';
import { storyPointsPerSprintPromql } from '../../src/engine/measures.js';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'jira.md'), 'utf8');
const squash = (s: string) => s.replace(/\s+/g, '');

describe('docs/jira.md stays true', () => {
  it('shows the exact expansion of story_points_per_sprint', () => {
    expect(squash(doc)).toContain(squash(storyPointsPerSprintPromql('Platform')));
  });
  it('lists every Jira metric', () => {
    for (const name of Object.values(JIRA_METRICS)) expect(doc).toContain(`| \`${name}\` |`);
  });
});
