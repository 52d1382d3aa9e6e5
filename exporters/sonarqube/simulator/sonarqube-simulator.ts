/** The demo's SonarQube Server: the analyses of demo-data.ts served by the simulated API. */
import { apiSimulator } from '../../../src/core/simulation.js';
import { DEMO_SONAR_TOKEN, demoSonarqube } from './demo-data.js';
import { startFakeSonarqube } from './fake-sonarqube.js';

export const sonarqubeSimulator = apiSimulator(
  demoSonarqube,
  (d) => startFakeSonarqube(d.state),
  (server, { token: _token, ...current }, secretFile) => ({
    ...current,
    url: server.url,
    token_file: secretFile('sonar-token', DEMO_SONAR_TOKEN),
  }),
);
