/** The demo's Bitbucket Cloud: the pull requests and pipelines of demo-data.ts served by the simulated API. */
import { apiSimulator } from '../../../src/core/simulation.js';
import { DEMO_BITBUCKET_TOKEN, demoBitbucket } from './demo-data.js';
import { startFakeCloud } from './fake-cloud-server.js';

// Bitbucket Cloud's API lives under /2.0, as api.bitbucket.org/2.0 does. The simulated API has
// no hourly limit, and the demo refreshes every few seconds: no request budget.
export const bitbucketSimulator = apiSimulator(demoBitbucket, (d) => startFakeCloud(d.fixture), (server, { access_token: _token, ...current }, secretFile) => ({
  ...current,
  url: `${server.url}/2.0`,
  access_token_file: secretFile('bitbucket-token', DEMO_BITBUCKET_TOKEN),
  max_requests_per_hour: 0,
}));
