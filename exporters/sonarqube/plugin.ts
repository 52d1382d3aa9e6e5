/** SonarQube Server and Cloud: coverage, duplication, issues and quality gates per project. */
import type { SourcePlugin } from '../../src/core/source.js';
import { backfillSonarqube } from './backfill.js';
import { SONARQUBE_DEFAULT_INTERVAL, SonarqubeConfig } from './config.js';
import { SONARQUBE_METRICS } from './metrics.js';
import { sonarqubeSimulator } from './simulator/sonarqube-simulator.js';
import { createSonarqubeClient, projectsFromConfig, refreshPlan, SonarqubeCollector } from './sonarqube-collector.js';

export const sonarqubePlugin = {
  name: 'sonarqube' as const,
  description: 'coverage, duplication, issues and quality gates from SonarQube Server or Cloud',
  config: SonarqubeConfig,
  // Analyses land a few times a day; measures change only then.
  defaults: { interval: SONARQUBE_DEFAULT_INTERVAL, timeout: '5m' },
  metrics: SONARQUBE_METRICS,
  create: (deps) =>
    new SonarqubeCollector({ client: createSonarqubeClient(deps), ...projectsFromConfig(deps.settings, deps.teams), ...refreshPlan(deps.settings) }),
  backfill: (ctx) => backfillSonarqube(ctx),
  simulator: sonarqubeSimulator,
  references: {
    project: {
      // `all`: discovered at run time; teams.<team>.sonar_projects still name some.
      names: (s) =>
        s.projects === 'all' ? 'any' : s.projects.map((p) => (typeof p === 'string' ? { name: p } : { name: p.key, ...(p.team ? { team: p.team } : {}) })),
      unknown: (name) => `SonarQube project "${name}" is not in sources.sonarqube.projects`,
    },
  },
} satisfies SourcePlugin<SonarqubeConfig>;
