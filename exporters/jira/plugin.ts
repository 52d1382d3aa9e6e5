/** Jira Cloud and Data Center: story points per sprint (velocity-chart figures) and named JQL counts. */
import type { SourcePlugin } from '../../src/core/source.js';
import { backfillJira } from './backfill.js';
import { JIRA_DEFAULT_INTERVAL, JiraConfig } from './config.js';
import { JiraCollector } from './jira-collector.js';
import { JIRA_METRICS } from './metrics.js';
import { jiraSimulator } from './simulator/jira-simulator.js';

export const jiraPlugin = {
  name: 'jira' as const,
  description: 'story points per sprint and named JQL counts from Jira Cloud or Data Center',
  config: JiraConfig,
  defaults: { interval: JIRA_DEFAULT_INTERVAL, timeout: '5m' },
  metrics: JIRA_METRICS,
  create: (deps) => new JiraCollector(deps),
  backfill: backfillJira,
  simulator: jiraSimulator,
  references: {
    board: {
      names: (s) =>
        s.boards.map((b) =>
          typeof b === 'number'
            ? { name: String(b) }
            : {
                name: b.name ?? String(b.id),
                ...(b.team ? { team: b.team } : {}),
                ...(b.name !== undefined && b.id !== undefined ? { aliases: [String(b.id)] } : {}),
              },
        ),
      unknown: (name) => `board "${name}" is not in sources.jira.boards`,
      // Boards named only under teams.<team>.jira_boards are collected too.
      teamsCollected: true,
    },
    query: { names: (s) => Object.keys(s.queries).map((name) => ({ name })), unknown: (name) => `query "${name}" is not defined in sources.jira.queries` },
  },
} satisfies SourcePlugin<JiraConfig>;
