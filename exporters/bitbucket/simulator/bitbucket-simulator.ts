/** The demo's Bitbucket Cloud: the pull requests and pipelines of demo-data.ts served by the simulated API. */
import type { SourceSimulator } from '../../../src/core/source.js';
import { DEMO_BITBUCKET_TOKEN, demoBitbucket } from './demo-data.js';
import { startFakeCloud } from './fake-cloud-server.js';

export const bitbucketSimulator: SourceSimulator = {
  async start({ world, clock }) {
    const data = demoBitbucket(clock.now(), world);
    const server = await startFakeCloud(data.fixture);
    return {
      server,
      // Bitbucket Cloud's API lives under /2.0, as api.bitbucket.org/2.0 does.
      settings: ({ access_token: _token, ...current }, secretFile) => ({ ...current, url: `${server.url}/2.0`, access_token_file: secretFile('bitbucket-token', DEMO_BITBUCKET_TOKEN) }),
      tick: (nowMs) => data.tick(nowMs),
      close: () => server.close(),
    };
  },
};
