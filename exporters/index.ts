/**
 * The one list of sources. Adding a source is its folder under exporters/ (a `plugin.ts` with
 * its settings schema, metric names and collector) and one line here: the OKR file's `sources:`
 * schema, `check`, `serve`, `generate`, `backfill` and the demo all read this list.
 */
import { apilogsPlugin } from './apilogs/plugin.js';
import { bitbucketPlugin } from './bitbucket/plugin.js';
import { deliveryPlugin } from './delivery/plugin.js';
import { jiraPlugin } from './jira/plugin.js';
import { sonarqubePlugin } from './sonarqube/plugin.js';

export const SOURCES = [jiraPlugin, sonarqubePlugin, bitbucketPlugin, apilogsPlugin, deliveryPlugin] as const;

export type SourceName = (typeof SOURCES)[number]['name'];
