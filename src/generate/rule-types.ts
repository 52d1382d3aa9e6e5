/** Prometheus rule-file shapes, in the key order Prometheus documents (and we emit). */
export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup<R> {
  name: string;
  interval?: string;
  rules: R[];
}

export interface RuleFile<R> {
  groups: Array<RuleGroup<R>>;
}
