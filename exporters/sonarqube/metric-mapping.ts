/**
 * Which SonarQube metric becomes which Prometheus series, and how its value converts to base
 * units. Written once so the live collector, the history backfill and the KR baseline agree.
 */
import { LABEL } from '../../src/core/labels.js';
import { SONARQUBE_METRICS } from './metrics.js';

export interface ExportedMetric {
  /** Prometheus family name (from conventions). */
  name: string;
  help: string;
  /** Extra labels of this SonarQube metric's series, e.g. `{type: "bug"}`. */
  labels?: Record<string, string>;
  /** SonarQube value → exported value. */
  convert: (v: number) => number;
}

const percentToRatio = (v: number) => v / 100;
const same = (v: number) => v;

const HELP = {
  coverage: 'Overall test coverage (line and condition) of the project branch, 0..1. Refreshed on a schedule.',
  newCoverage: "Test coverage of new code (the branch's new-code period), 0..1. Refreshed on a schedule.",
  duplicated: 'Share of duplicated lines, 0..1. Refreshed on a schedule.',
  issues: 'Open issues by type (bug, vulnerability, code_smell, security_hotspot). Refreshed on a schedule.',
  ncloc: 'Lines of code (ncloc: non-comment, non-blank). Refreshed on a schedule.',
  debt: 'Technical debt: estimated effort to fix all maintainability issues, in seconds. Refreshed on a schedule.',
} as const;

/** SonarQube metric key → exported metric. The keys are what `/api/measures/*` is asked for. */
export const SONAR_METRIC_EXPORTS: Readonly<Record<string, ExportedMetric>> = {
  coverage: { name: SONARQUBE_METRICS.coverage, help: HELP.coverage, convert: percentToRatio },
  new_coverage: { name: SONARQUBE_METRICS.newCodeCoverage, help: HELP.newCoverage, convert: percentToRatio },
  duplicated_lines_density: { name: SONARQUBE_METRICS.duplicatedLines, help: HELP.duplicated, convert: percentToRatio },
  bugs: { name: SONARQUBE_METRICS.issues, help: HELP.issues, labels: { [LABEL.type]: 'bug' }, convert: same },
  vulnerabilities: { name: SONARQUBE_METRICS.issues, help: HELP.issues, labels: { [LABEL.type]: 'vulnerability' }, convert: same },
  code_smells: { name: SONARQUBE_METRICS.issues, help: HELP.issues, labels: { [LABEL.type]: 'code_smell' }, convert: same },
  security_hotspots: { name: SONARQUBE_METRICS.issues, help: HELP.issues, labels: { [LABEL.type]: 'security_hotspot' }, convert: same },
  ncloc: { name: SONARQUBE_METRICS.linesOfCode, help: HELP.ncloc, convert: same },
  // sqale_index is in minutes.
  sqale_index: { name: SONARQUBE_METRICS.technicalDebt, help: HELP.debt, convert: (v) => v * 60 },
};

export const SONAR_METRIC_KEYS: readonly string[] = Object.keys(SONAR_METRIC_EXPORTS);

export const QUALITY_GATE_HELP = '1 when the quality gate passes, 0 when it fails; absent when the project has no gate or analysis. Refreshed on a schedule.';
export const LAST_ANALYSIS_HELP = 'Unix time of the last analysis of the project branch (a value, not a sample timestamp). Refreshed on a schedule.';
export const PROJECTS_SKIPPED_HELP =
  'Projects left out of the last collection because their requests failed (see the logs); projects kept at their last values after a passing failure are not counted.';
