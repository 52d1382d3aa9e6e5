/**
 * The table of sources: adding a source is one folder under exporters/ and one line here.
 * Enabling a source is a config switch (`sources.<name>`).
 */
import type { SourceName } from '../src/conventions.js';
import { apilogsFactory } from './apilogs/apilogs-collector.js';
import { bitbucketCollectorFactory } from './bitbucket/bitbucket-collector.js';
import type { CollectorFactory } from './collector.js';
import { jiraCollectorFactory } from './jira/jira-collector.js';
import { sonarqubeCollectorFactory } from './sonarqube/sonarqube-collector.js';

export const COLLECTOR_FACTORIES: Partial<Record<SourceName, CollectorFactory>> = {
  apilogs: apilogsFactory,
  bitbucket: bitbucketCollectorFactory,
  jira: jiraCollectorFactory,
  sonarqube: sonarqubeCollectorFactory,
};
