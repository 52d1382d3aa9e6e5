/** The demo's Jira Cloud: the moving data set of demo-data.ts served by the simulated API. */
import { apiSimulator } from '../../../src/core/simulation.js';
import { DEMO_JIRA, demoJira } from './demo-data.js';
import { startFakeJira } from './fake-jira.js';

export const jiraSimulator = apiSimulator(
  demoJira,
  (d) => startFakeJira(d.data),
  (server, { api_token: _token, ...current }, secretFile) => ({
    ...current,
    url: server.url,
    email: DEMO_JIRA.email,
    api_token_file: secretFile('jira-token', DEMO_JIRA.token),
  }),
);
