/** The demo's SonarQube Server: the analyses of demo-data.ts served by the simulated API. */
import type { SourceSimulator } from '../../../src/core/source.js';
import { DEMO_SONAR_TOKEN, demoSonarqube } from './demo-data.js';
import { startFakeSonarqube } from './fake-sonarqube.js';

export const sonarqubeSimulator: SourceSimulator = {
  async start({ world, clock }) {
    const data = demoSonarqube(clock.now(), world);
    const server = await startFakeSonarqube(data.state);
    return {
      server,
      settings: ({ token: _token, ...current }, secretFile) => ({ ...current, url: server.url, token_file: secretFile('sonar-token', DEMO_SONAR_TOKEN) }),
      tick: (nowMs) => data.tick(nowMs),
      close: () => server.close(),
    };
  },
};
