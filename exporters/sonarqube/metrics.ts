/** The metric names and fixed label values of the SonarQube source: collectors, generators, dashboards and tests import them. */

export const SONARQUBE_METRICS = {
  coverage: 'sonarqube_coverage_ratio',
  newCodeCoverage: 'sonarqube_new_code_coverage_ratio',
  duplicatedLines: 'sonarqube_duplicated_lines_ratio',
  issues: 'sonarqube_issues',
  linesOfCode: 'sonarqube_lines_of_code',
  qualityGatePassed: 'sonarqube_quality_gate_passed',
  technicalDebt: 'sonarqube_technical_debt_seconds',
  lastAnalysis: 'sonarqube_last_analysis_timestamp_seconds',
  projectsSkipped: 'sonarqube_projects_skipped',
} as const;

/** Values of the `type` label of sonarqube_issues. */
export const SONARQUBE_ISSUE_TYPES = ['bug', 'vulnerability', 'code_smell', 'security_hotspot'] as const;
