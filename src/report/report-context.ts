/** What every report renderer needs besides the evaluation itself. */
import { DASHBOARD_UID } from '../conventions.js';
import type { KrResult } from '../okr/engine.js';
import type { Period } from '../okr/periods.js';

export interface ReportContext {
  period: Period;
  organization?: string;
  prometheusUrl: string;
  /** Link to the KR's period in Grafana, when a Grafana URL is configured. */
  grafanaLink?: (k: KrResult) => string;
}

export function grafanaLinker(grafanaUrl: string | undefined): ((k: KrResult) => string) | undefined {
  if (!grafanaUrl) return undefined;
  const base = grafanaUrl.replace(/\/$/, '');
  return (k) => `${base}/d/${DASHBOARD_UID.overview}/?from=${k.period.start}&to=${Math.min(k.period.end, Math.max(k.evaluatedAt, k.period.start + 1))}&var-key_result=${encodeURIComponent(k.id)}`;
}
