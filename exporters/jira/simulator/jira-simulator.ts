/** The demo's Jira Cloud: the moving data set of demo-data.ts served by the simulated API. */
import type { SourceSimulator } from '../../../src/core/source.js';
import { DEMO_JIRA, demoJira } from './demo-data.js';
import { startFakeJira } from './fake-jira.js';

export const jiraSimulator: SourceSimulator = {
  async start({ world, clock }) {
    const data = demoJira(clock.now(), world);
    const server = await startFakeJira(data.data);
    return {
      server,
      settings: ({ api_token: _token, ...current }, secretFile) => ({ ...current, url: server.url, email: DEMO_JIRA.email, api_token_file: secretFile('jira-token', DEMO_JIRA.token) }),
      tick: (nowMs) => data.tick(nowMs),
      close: () => server.close(),
    };
  },
};
