/**
 * The demo's OKR file: the example OKRs (okrs.example.yaml) unchanged, with every source
 * switched on and pointed at the simulated servers, short refresh intervals so a demo moves
 * within minutes, the access log the demo writes, and the tokens in files next to it. It is
 * written out (`<dir>/okrs.demo.yaml`) so a newcomer can read it and run
 * `okr-metrics serve -c` on it, and loaded through the normal validation path.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { durationSeconds } from '../config/primitives.js';
import { OkrFile } from '../config/okr-schema.js';
import { calendarOf, type Calendar } from '../okr/periods.js';
import { packageRoot } from '../package-root.js';
import { DEMO_BITBUCKET_TOKEN } from './bitbucket-demo.js';
import { DEMO_JIRA } from './jira-demo.js';
import { DEMO_SONAR_TOKEN } from './sonarqube-demo.js';

const DEMO_CONFIG_FILE = 'okrs.demo.yaml';
/** The live access log, relative to the demo directory. */
export const DEMO_LOG_FILE = 'logs/topups-api.access.log';

export interface DemoEndpoints {
  jira: string;
  sonarqube: string;
  bitbucket: string;
  prometheus: string;
}

export interface DemoTiming {
  /** Refresh interval of Jira, SonarQube and Bitbucket (default 20s). */
  saasRefresh?: string;
  /** Refresh interval of the access log (default 5s). */
  logRefresh?: string;
  /** KR engine interval (default 30s). */
  engine?: string;
  /** `for:` of every KR alert (default 1m: an incident pages within minutes, not after 10). */
  alertFor?: string;
}

/**
 * The demo OKR file before it knows its servers' addresses: the example with the demo's timing,
 * shorter alert delays, and the caller's edits.
 */
export function demoConfigDocument(timing: DemoTiming = {}, edit?: (doc: Document) => void): Document {
  const doc = parseDocument(readFileSync(join(packageRoot(), 'okrs.example.yaml'), 'utf8'));
  doc.commentBefore = ` Written by \`okr-metrics demo\`: okrs.example.yaml with every source pointed at the\n demo's simulated servers on 127.0.0.1. Rewritten at every start; edit the example instead.\n${doc.commentBefore ?? ''}`;
  doc.setIn(['server'], doc.createNode({ state_dir: 'state' }));
  doc.setIn(['engine'], doc.createNode({ interval: timing.engine ?? '30s' }));
  doc.setIn(['sources', 'apilogs', 'refresh_interval'], timing.logRefresh ?? '5s');
  doc.setIn(['sources', 'apilogs', 'services', 0, 'files'], doc.createNode([DEMO_LOG_FILE], { flow: true }));
  doc.setIn(['sources', 'apilogs', 'services', 0, 'start_at'], 'beginning');
  for (const name of ['jira', 'sonarqube', 'bitbucket']) {
    doc.setIn(['sources', name, 'enabled'], true);
    doc.setIn(['sources', name, 'refresh_interval'], timing.saasRefresh ?? '20s');
  }

  // Shorter alert delays: a demo incident should page within minutes.
  const alertFor = timing.alertFor ?? '1m';
  const objectives = doc.get('objectives');
  if (isSeq(objectives))
    for (const o of objectives.items) {
      const krs = isMap(o) ? o.get('key_results') : undefined;
      if (!isSeq(krs)) continue;
      for (const kr of krs.items) {
        const current = isMap(kr) ? kr.getIn(['alert', 'for']) : undefined;
        if (isMap(kr) && typeof current === 'string' && durationSeconds(current) > durationSeconds(alertFor)) kr.setIn(['alert', 'for'], alertFor);
      }
    }
  edit?.(doc);
  return doc;
}

/** The calendar of a demo OKR file, through the schema (its defaults where the file says nothing). */
export function demoCalendarOf(doc: Document): Calendar {
  return calendarOf(OkrFile.shape.calendar.parse((doc.toJS() as { calendar?: unknown }).calendar));
}

/** Point the file at the servers, write it and the token files under `dir`; returns its path. */
export function writeDemoConfig(dir: string, doc: Document, urls: DemoEndpoints): string {
  doc.setIn(['prometheus', 'url'], urls.prometheus);
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  const secret = (name: string, value: string) => {
    writeFileSync(join(dir, 'secrets', name), `${value}\n`, { mode: 0o600 });
    return `secrets/${name}`;
  };
  const source = (name: string, settings: Record<string, unknown>, drop: string) => {
    doc.deleteIn(['sources', name, drop]);
    for (const [key, value] of Object.entries(settings)) doc.setIn(['sources', name, key], value);
  };
  source('jira', { url: urls.jira, email: DEMO_JIRA.email, api_token_file: secret('jira-token', DEMO_JIRA.token) }, 'api_token');
  source('sonarqube', { url: urls.sonarqube, token_file: secret('sonar-token', DEMO_SONAR_TOKEN) }, 'token');
  source('bitbucket', { url: urls.bitbucket, access_token_file: secret('bitbucket-token', DEMO_BITBUCKET_TOKEN) }, 'access_token');

  const file = join(dir, DEMO_CONFIG_FILE);
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  return file;
}
