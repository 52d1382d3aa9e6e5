/**
 * The demo's OKR file: the example OKRs (okrs.example.yaml) unchanged, plus the delivery
 * performance (DORA) objective of okrs.dora.example.yaml, with every source switched on and
 * pointed at the simulated servers, short refresh intervals so a demo moves
 * within minutes, the access log the demo writes, and the tokens in files next to it. It is
 * written out (`<dir>/okrs.demo.yaml`) so a newcomer can read it and run
 * `okr-metrics serve -c` on it, and loaded through the normal validation path.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import type { RunningSimulation } from '../core/source.js';
import { durationSeconds } from '../core/config-primitives.js';
import { OkrFile } from '../config/okr-schema.js';
import { calendarOf, type Calendar } from '../core/periods.js';
import { packageRoot } from '../package-root.js';

const DEMO_CONFIG_FILE = 'okrs.demo.yaml';
/** The delivery performance example, whose objectives the demo adds. */
export const DORA_EXAMPLE_FILE = 'okrs.dora.example.yaml';

export interface DemoTiming {
  /** Refresh interval of the sources behind an API: Jira, SonarQube, Bitbucket (default 20s). */
  saasRefresh?: string;
  /** Refresh interval of the sources that are files: the access log (default 5s). */
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
  // The DORA key results, measured from the simulated Bitbucket deployments and Jira incidents.
  const dora = parseDocument(readFileSync(join(packageRoot(), DORA_EXAMPLE_FILE), 'utf8'));
  const seq = doc.get('objectives');
  const extra = dora.get('objectives');
  if (isSeq(seq) && isSeq(extra)) for (const o of extra.items) seq.items.push(doc.createNode((o as { toJSON(): unknown }).toJSON()));
  doc.setIn(['engine'], doc.createNode({ interval: timing.engine ?? '30s' }));

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

/**
 * Point every simulated source's settings at its simulation (switched on, with the demo's
 * refresh interval), write the file and the token files under `dir`; returns the file's path.
 */
export function writeDemoConfig(
  dir: string,
  doc: Document,
  simulations: Map<string, RunningSimulation>,
  prometheusUrl: string,
  timing: DemoTiming = {},
): string {
  doc.setIn(['prometheus', 'url'], prometheusUrl);
  mkdirSync(join(dir, 'secrets'), { recursive: true });
  const secret = (name: string, value: string) => {
    writeFileSync(join(dir, 'secrets', name), `${value}\n`, { mode: 0o600 });
    return `secrets/${name}`;
  };
  for (const [name, sim] of simulations) {
    const node = doc.getIn(['sources', name]);
    const current = (isMap(node) ? node.toJSON() : {}) as Record<string, unknown>;
    const next = {
      ...sim.settings(current, secret),
      enabled: true,
      refresh_interval: sim.server ? (timing.saasRefresh ?? '20s') : (timing.logRefresh ?? '5s'),
    };
    // Key by key, so the example's other settings keep their place and comments.
    for (const key of Object.keys(current)) if (!(key in next)) doc.deleteIn(['sources', name, key]);
    for (const [key, value] of Object.entries(next))
      if (JSON.stringify(current[key]) !== JSON.stringify(value))
        doc.setIn(['sources', name, key], doc.createNode(value, { flow: Array.isArray(value) && value.every((v) => typeof v !== 'object') }));
  }

  const file = join(dir, DEMO_CONFIG_FILE);
  writeFileSync(file, doc.toString({ lineWidth: 0 }));
  return file;
}
