/** Label names, shared by sources, rules, dashboards and the KR engine's series. */

/** Label names shared across sources. Bounded cardinality: none of these holds free text. */
export const LABEL = {
  source: 'source',
  reason: 'reason',
  status: 'status',
  team: 'team',
  service: 'service',
  route: 'route',
  method: 'method',
  code: 'code',
  result: 'result',
  board: 'board',
  sprint: 'sprint',
  state: 'state',
  query: 'query',
  project: 'project',
  branch: 'branch',
  type: 'type',
  repo: 'repo',
  report: 'report',
  objective: 'objective',
  keyResult: 'key_result',
  period: 'period',
} as const;
