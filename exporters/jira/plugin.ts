/** Jira Cloud and Data Center: story points per sprint (velocity-chart figures) and named JQL counts. */
import type { SourcePlugin } from '../../src/core/source.js';
import { backfillJira } from './backfill.js';
import { JiraConfig } from './config.js';
import { JiraCollector } from './jira-collector.js';
import { JIRA_METRICS } from './metrics.js';
import { jiraSimulator } from './simulator/jira-simulator.js';

export const jiraPlugin = {
  name: 'jira' as const,
  description: 'story points per sprint and named JQL counts from Jira Cloud or Data Center',
  config: JiraConfig,
  defaults: { interval: '15m', timeout: '5m' },
  metrics: JIRA_METRICS,
  create: (deps) => new JiraCollector(deps),
  backfill: backfillJira,
  simulator: jiraSimulator,
} satisfies SourcePlugin<JiraConfig>;
