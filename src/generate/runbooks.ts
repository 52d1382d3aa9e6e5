/**
 * Step 4, a cross-cutting pass (monitoring-mixin style): every alert gets a runbook link and
 * is checked for the labels and annotations on-call needs. An alert without them is a
 * generator bug, so it fails generation instead of shipping.
 */
import { ALERT_SEVERITIES, RUNBOOK_BASE_URL } from '../conventions.js';
import { GenerateError } from './model.js';
import type { AlertingRule, RuleFile } from './rule-types.js';

export function runbookUrl(alert: string, base: string = RUNBOOK_BASE_URL): string {
  return `${base}#${alert.toLowerCase()}`;
}

export function stampRunbooks(file: RuleFile<AlertingRule>, base: string = RUNBOOK_BASE_URL): RuleFile<AlertingRule> {
  return {
    groups: file.groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => {
        const severity = r.labels.severity;
        if (!severity || !(ALERT_SEVERITIES as readonly string[]).includes(severity))
          throw new GenerateError(`alert ${r.alert}: severity must be one of ${ALERT_SEVERITIES.join(', ')}, got ${String(severity)}`);
        for (const a of ['summary', 'description'] as const) if (!r.annotations[a]) throw new GenerateError(`alert ${r.alert}: missing annotation ${a}`);
        return { ...r, annotations: { ...r.annotations, runbook_url: runbookUrl(r.alert, base) } };
      }),
    })),
  };
}
