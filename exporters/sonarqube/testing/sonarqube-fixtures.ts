/**
 * Projects the SonarQube tests share: realistic string values and `+0200` offsets, one project
 * per situation the collector must handle (full data, a non-main branch, no coverage report
 * and no gate, no permission).
 */
import type { FakeProject } from '../simulator/fake-sonarqube.js';

export const TOKEN = 'squ_0123456789abcdef0123456789abcdef01234567';

export function fixtureProjects(): FakeProject[] {
  return [
    {
      key: 'billing-api',
      name: 'Billing API',
      organization: 'acme',
      branches: [
        {
          name: 'main',
          isMain: true,
          analysisDate: '2026-11-20T14:05:00+0200',
          gate: 'OK',
          measures: {
            coverage: '87.5',
            new_coverage: '72.3',
            duplicated_lines_density: '3.1',
            bugs: '2',
            vulnerabilities: '0',
            code_smells: '114',
            security_hotspots: '3',
            ncloc: '11402',
            sqale_index: '1380',
          },
        },
        { name: 'feature/x', analysisDate: '2026-11-21T10:00:00+0200', gate: 'ERROR', measures: { coverage: '50.0' } },
      ],
    },
    {
      key: 'web-app',
      name: 'Web App',
      organization: 'acme',
      branches: [
        { name: 'main', isMain: true, analysisDate: '2026-11-18T09:00:00+0200', gate: 'OK', measures: { coverage: '90.0' } },
        {
          name: 'develop',
          analysisDate: '2026-11-24T16:30:00+0200',
          gate: 'ERROR',
          measures: {
            coverage: '64.25',
            new_coverage: '41.0',
            duplicated_lines_density: '0.0',
            bugs: '7',
            vulnerabilities: '1',
            code_smells: '260',
            security_hotspots: '0',
            ncloc: '48210',
            sqale_index: '4520',
          },
        },
      ],
    },
    {
      // Analysed without a coverage report and without a quality gate.
      key: 'legacy-batch',
      name: 'Legacy Batch',
      organization: 'acme',
      branches: [
        {
          name: 'master',
          isMain: true,
          analysisDate: '2026-09-30T23:59:59+0200',
          gate: 'NONE',
          measures: {
            duplicated_lines_density: '12.4',
            bugs: '31',
            vulnerabilities: '4',
            code_smells: '1290',
            security_hotspots: '11',
            ncloc: '90211',
            sqale_index: '30240',
          },
        },
      ],
    },
    {
      key: 'hr-secrets',
      name: 'HR Secrets',
      organization: 'acme',
      forbidden: true,
      branches: [{ name: 'main', isMain: true, analysisDate: '2026-11-01T08:00:00+0200', gate: 'OK', measures: { coverage: '99.0' } }],
    },
    {
      key: 'other-org-tool',
      name: 'Other Org Tool',
      organization: 'globex',
      branches: [{ name: 'main', isMain: true, analysisDate: '2026-11-02T08:00:00+0200', gate: 'OK', measures: { coverage: '10.0' } }],
    },
  ];
}
