/** The demo's Bitbucket Cloud: the pull requests and pipelines of demo-data.ts served by the simulated API. */
import { apiSimulator } from '../../../src/core/simulation.js';
import { DEMO_BITBUCKET_TOKEN, demoBitbucket } from './demo-data.js';
import { startFakeCloud } from './fake-cloud-server.js';

// Bitbucket Cloud's API lives under /2.0, as api.bitbucket.org/2.0 does. The simulated API has
// no hourly limit, and the demo refreshes every few seconds: no request budget. It lists a
// deployment as soon as it completes, so the list settles in seconds, not Bitbucket's 10 minutes:
// the running demo's first change failure recovers within a minute.
export const bitbucketSimulator = apiSimulator(
  demoBitbucket,
  (d) => startFakeCloud(d.fixture),
  (server, { access_token: _token, ...current }, secretFile) => ({
    ...current,
    url: `${server.url}/2.0`,
    access_token_file: secretFile('bitbucket-token', DEMO_BITBUCKET_TOKEN),
    max_requests_per_hour: 0,
    ...settled(current.deployments),
  }),
);

/** sources.bitbucket.deployments as the demo's file has it, settling in seconds when on. */
function settled(deployments: unknown): Record<string, unknown> {
  if (deployments === true) return { deployments: { settle: '5s' } };
  if (typeof deployments === 'object' && deployments !== null) return { deployments: { ...deployments, settle: '5s' } };
  return {};
}
