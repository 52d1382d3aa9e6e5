/** What every report renderer needs besides the evaluation itself. */
import { redactUrlCredentials } from '../core/secrets.js';
import type { LoadedConfig } from '../config/load-config.js';
import { DASHBOARD_UID } from '../conventions.js';
import type { KrResult } from '../engine/engine.js';
import type { Period } from '../core/periods.js';

export interface ReportContext {
  period: Period;
  /** The calendar's time zone: period dates are shown as its local dates. */
  timezone: string;
  organization?: string;
  prometheusUrl: string;
  /** Link to the KR's period in Grafana, when a Grafana URL is configured. */
  grafanaLink?: (k: KrResult) => string;
}

function grafanaLinker(grafanaUrl: string | undefined): ((k: KrResult) => string) | undefined {
  if (!grafanaUrl) return undefined;
  const base = grafanaUrl.replace(/\/$/, '');
  return (k) =>
    `${base}/d/${DASHBOARD_UID.overview}/?from=${k.period.start}&to=${Math.min(k.period.end, Math.max(k.evaluatedAt, k.period.start + 1))}&var-key_result=${encodeURIComponent(k.id)}`;
}

/** The context of a review of `period` for this OKR file, read from `prometheusUrl`. */
export function reportContext(loaded: LoadedConfig, period: Period, prometheusUrl: string): ReportContext {
  return {
    period,
    timezone: loaded.config.calendar.timezone,
    organization: loaded.config.organization,
    // Credentials never reach a report, however the URL was given.
    prometheusUrl: redactUrlCredentials(prometheusUrl),
    grafanaLink: grafanaLinker(loaded.config.grafana?.url),
  };
}
